// The offline engine's preview mode: the SDK's own dry run, as a first `pulumi preview` of a stack runs it. Nothing
// exists yet, so what creation decides (ids, generated names, keys, digests, version numbers) is unknown, invokes
// that need it are not made (the SDK skips an output-form invoke with unknown arguments), and configuration is
// checked as in a real run. Every stack file is planned in both modes, and prod as a fleet whose devices enrol themselves
// through the Device Provisioning Service (no listed devices).
import * as assert from "assert";
import { DOCKER_IMAGE_TYPE } from "../components/image";
import { EDGE_DEPLOYMENT_TYPE, EDGE_DEVICE_TYPE } from "../components/iot";
import { ENROLLMENT_GROUP_TYPE } from "../components/dps";
import { AZURE_TYPES, ConfigError, SECRET_MARKER } from "../components/shared";
import { listStacks, type OfflinePlan, runOffline, UNKNOWN_MARKER } from "../offline";
import { formatPlan } from "../scripts/plan-format";
import { resourceOfType } from "./support/plan-queries";

/** A stack file under other settings, planned in both modes like the stack files. */
const VARIANTS: Record<string, { stack: string; overrides: Record<string, unknown> }> = {
    "prod+dps": { stack: "prod", overrides: { deviceProvisioning: "dps", edgeDevices: [] } },
};

describe("preview mode: what a first pulumi preview knows", function () {
    this.timeout(60_000);
    const plans = new Map<string, { preview: OfflinePlan; up: OfflinePlan }>();
    before(async () => {
        const cases = [
            ...listStacks().map((stack) => ({ label: stack, stack, overrides: {} })),
            ...Object.entries(VARIANTS).map(([label, v]) => ({ label, ...v })),
        ];
        for (const { label, stack, overrides } of cases) {
            plans.set(label, {
                preview: (await runOffline({ stack, overrides, preview: true })).plan,
                up: (await runOffline({ stack, overrides })).plan,
            });
        }
    });

    it("plans every stack file (and variant) in both modes, with the same resources", () => {
        assert.deepStrictEqual([...plans.keys()], [...listStacks(), ...Object.keys(VARIANTS)]);
        for (const [stack, { preview, up }] of plans) {
            assert.deepStrictEqual(preview.resources.map((r) => r.urn).sort(), up.resources.map((r) => r.urn).sort(), stack);
        }
    });

    it("leaves unknown what only creation decides, and keeps known what configuration decides", () => {
        for (const [stack, { preview, up }] of plans) {
            const image = resourceOfType(preview, DOCKER_IMAGE_TYPE);
            assert.strictEqual(image.inputs.imageName, UNKNOWN_MARKER, `${stack}: the registry's login server is not known yet`);
            for (const device of preview.resources.filter((r) => r.type === EDGE_DEVICE_TYPE)) {
                // The hub's keys are not known yet, and they are a secret: since @pulumi/pulumi 3.249 the SDK keeps the
                // secret marker around an unknown (runtime/rpc.js serializeProperty: "Preserve the secret marker even when
                // the value is unknown"), so the engine, and pulumi preview, show it as [secret], not as unknown.
                assert.strictEqual(device.inputs.serviceConnectionString, SECRET_MARKER, `${stack}: the hub's keys are a secret`);
                assert.match(String(device.inputs.deviceId), /^[\w-]+$/, `${stack}: the device id is configuration`);
            }
            assert.strictEqual(
                resourceOfType(preview, EDGE_DEPLOYMENT_TYPE).inputs.content,
                UNKNOWN_MARKER,
                `${stack}: the manifest waits on the image digest`,
            );
            assert.strictEqual(
                resourceOfType(preview, AZURE_TYPES.modelVersion.token).inputs.version,
                UNKNOWN_MARKER,
                `${stack}: the version number is created`,
            );
            // Configuration is known: names, tiers, the model's name.
            const registry = resourceOfType(preview, AZURE_TYPES.registry.token);
            assert.deepStrictEqual(
                [registry.inputs.registryName, registry.inputs.sku],
                [
                    resourceOfType(up, AZURE_TYPES.registry.token).inputs.registryName,
                    resourceOfType(up, AZURE_TYPES.registry.token).inputs.sku,
                ],
            );
            assert.strictEqual(preview.outputs.scoringImageRef, UNKNOWN_MARKER);
            assert.strictEqual(preview.outputs.modelName, up.outputs.modelName);
        }
    });

    it("makes no invoke that waits on a resource being created, as the SDK skips them", () => {
        for (const [stack, { preview, up }] of plans) {
            const tokens = (plan: OfflinePlan) => plan.invokes.map((i) => i.token);
            assert.ok(tokens(up).includes("azure-native:containerregistry:listRegistryCredentials"), stack);
            assert.ok(
                !tokens(preview).includes("azure-native:containerregistry:listRegistryCredentials"),
                `${stack}: the registry does not exist yet`,
            );
            assert.ok(!tokens(preview).includes("azure-native:iothub:listIotHubResourceKeys"), `${stack}: nor the hub`);
            assert.ok(tokens(preview).includes("azure-native:authorization:getClientConfig"), `${stack}: who deploys is known`);
        }
    });

    it("leaves the Device Provisioning Service's ID scope and endpoint unknown, checks its enrollment group, and reads no keys", () => {
        const { preview, up } = plans.get("prod+dps")!;
        assert.strictEqual(resourceOfType(preview, AZURE_TYPES.dps.token).operation, "create");
        // The group's provider checked what is known (its id, hub, tags) and the secret it waits on.
        const group = resourceOfType(preview, ENROLLMENT_GROUP_TYPE);
        assert.strictEqual(group.inputs.serviceConnectionString, SECRET_MARKER);
        assert.strictEqual(group.inputs.enrollmentGroupId, resourceOfType(up, ENROLLMENT_GROUP_TYPE).inputs.enrollmentGroupId);
        assert.deepStrictEqual(group.inputs.tags, resourceOfType(up, ENROLLMENT_GROUP_TYPE).inputs.tags);
        assert.strictEqual(group.inputs.iotHubHostName, UNKNOWN_MARKER, "the hub's host name is Azure's answer");
        assert.ok(!preview.invokes.some((i) => i.token === "azure-native:deviceprovisioningservices:listIotDpsResourceKeys"));
        assert.deepStrictEqual(
            [preview.outputs.dpsIdScope, preview.outputs.dpsGlobalEndpoint, preview.outputs.dpsEnrollmentGroupKeys],
            [UNKNOWN_MARKER, UNKNOWN_MARKER, SECRET_MARKER],
        );
        assert.strictEqual(preview.outputs.edgeAgentImage, up.outputs.edgeAgentImage, "configuration decides the edgeAgent image");
        assert.match(String(up.outputs.dpsIdScope), /^0ne[0-9A-F]{8}$/);
    });

    it("prints unknowns as pulumi preview does, output<string>", () => {
        const text = formatPlan(plans.get("dev")!.preview, true);
        assert.match(text, /^edgeml offline preview: stack "dev", as a first `pulumi preview` sees it/);
        assert.match(text, /serviceConnectionString=\[secret\]/);
        assert.match(text, /imageName=output<string>/);
        assert.match(text, /scoringImageRef = output<string>/);
    });

    it("checks configuration as a real preview does, before anything is registered", async () => {
        await assert.rejects(runOffline({ stack: "dev", preview: true, overrides: { registrySku: "Free" } }), ConfigError);
    });

    it("reads existing resources in the preview too (a read step)", async () => {
        const { plan } = await runOffline({
            stack: "dev",
            preview: true,
            overrides: { existingResourceGroup: "shared-rg", existingRegistry: "images-rg/contosoacr" },
        });
        const registry = plan.resources.find((r) => r.type === AZURE_TYPES.registry.token)!;
        assert.strictEqual(registry.operation, "read");
        // The existing registry's login server is known; the tag waits on the new model version's number.
        const image = resourceOfType(plan, DOCKER_IMAGE_TYPE);
        assert.strictEqual((image.inputs.registry as { server: string }).server, "contosoacr.azurecr.io");
        assert.strictEqual(image.inputs.imageName, UNKNOWN_MARKER);
        assert.strictEqual(plan.outputs.scoringImageRef, UNKNOWN_MARKER);
    });
});
