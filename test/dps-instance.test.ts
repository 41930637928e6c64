// DpsInstance (edgeml:dps:DeviceProvisioning) under the offline engine. The engine does not answer for DPS yet (the
// program declares none, and AZURE_TYPES has no entry for it): for these runs the test answers as the hooks
// offline/azure-answers.ts describes would (an IotDpsResource's id and computed outputs from offlineDpsAnswer, an
// existing one's shape, listIotDpsResourceKeys), and answers the EnrollmentGroup dynamic resource with its real
// provider against a DPS emulator started with the name, ID scope and owner key those answers give, linked to a hub
// emulator: exactly what the integration needs.
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import type { MockCallArgs, MockResourceArgs } from "@pulumi/pulumi/runtime";
import { DpsInstance, type DpsInstanceArgs } from "../components/dps/dpsInstance";
import { ENROLLMENT_GROUP_TYPE, EnrollmentGroupProvider } from "../components/dps/enrollmentGroupProvider";
import { DPS_ARM_TYPE } from "../components/config/existing";
import { armId, nameFromId } from "../components/shared/azure";
import { azureMocks, OFFLINE_SUBSCRIPTION_ID, offlineDpsAnswer } from "../offline/azure-answers";
import { DpsEmulator, startDpsEmulator } from "../offline/dps-emulator";
import { outputValue, runOffline, type OfflinePlan } from "../offline/engine";
import { IotHubEmulator, startIotHubEmulator } from "../offline/iothub-emulator";
import { DPS_SWAGGER, IOTHUB_SWAGGER } from "../offline/reference-data";
import { SECRET_SIG, SIG, unwrapSecrets } from "../offline/wire-format";
import { AZURE_TYPES_DIR, AzureTypeOracle, formatViolation } from "./support/azure-type-oracle";
import { FAST_RETRY } from "./support/fast-retry";
import { deviceKey, registerDevice } from "./support/dps-devices";
import { resourceOfType } from "./support/plan-queries";
import { needsReference, requireReference } from "./support/references";

const DPS_TOKEN = "azure-native:deviceprovisioningservices:IotDpsResource";
const KEYS_TOKEN = "azure-native:deviceprovisioningservices:listIotDpsResourceKeys";
const COMPONENT_TYPE = "edgeml:dps:DeviceProvisioning";

/** Runs `body` with the DPS answers hooked into the engine's mocks, the group's provider bound to `dps`. */
async function withDpsAnswers<T>(dps: DpsEmulator, body: () => Promise<T>): Promise<T> {
    const { newResource, call } = azureMocks;
    azureMocks.newResource = async (args: MockResourceArgs) => {
        if (args.type === DPS_TOKEN) {
            // existingShapes' hook: the state Azure returns for an existing instance.
            if (args.id) return { id: args.id, state: { name: nameFromId(args.id), ...offlineDpsAnswer(args.type, nameFromId(args.id)) } };
            // computedOutputs' hook: the id and inputs as the engine answers any type in AZURE_TYPES, completed with DPS's outputs.
            const inputs = unwrapSecrets(args.inputs);
            const name = String(inputs.provisioningServiceName);
            const computed = offlineDpsAnswer(args.type, name, inputs);
            // The inputs' properties hold the hub's connection string (secret): as a provider may, return them secret whole.
            const properties = JSON.stringify(args.inputs.properties).includes(SECRET_SIG)
                ? { [SIG]: SECRET_SIG, value: computed.properties }
                : computed.properties;
            const id = armId(OFFLINE_SUBSCRIPTION_ID, inputs.resourceGroupName, DPS_ARM_TYPE, name);
            return { id, state: { ...args.inputs, ...computed, properties, name } };
        }
        if (args.type === ENROLLMENT_GROUP_TYPE) {
            const provider = new EnrollmentGroupProvider(dps.serviceClientFactory, FAST_RETRY);
            const checked = await provider.check(undefined, unwrapSecrets(args.inputs));
            if (checked.failures?.length) throw new Error(`check failed: ${JSON.stringify(checked.failures)}`);
            const { id, outs } = await provider.create(checked.inputs);
            return { id, state: outs };
        }
        return newResource(args);
    };
    // call()'s hook.
    azureMocks.call = (args: MockCallArgs) =>
        args.token === KEYS_TOKEN ? offlineDpsAnswer(args.token, args.inputs.provisioningServiceName) : call(args);
    try {
        return await body();
    } finally {
        azureMocks.newResource = newResource;
        azureMocks.call = call;
    }
}

/** The DPS emulator the offline answers describe for an instance named `name`. */
function emulatorFor(name: string, hub: IotHubEmulator): Promise<DpsEmulator> {
    const keys = offlineDpsAnswer(KEYS_TOKEN, name).value as { primaryKey: string }[];
    const idScope = (offlineDpsAnswer(DPS_TOKEN, name).properties as { idScope: string }).idScope;
    return startDpsEmulator({ name, idScope, serviceKey: keys[0].primaryKey, linkedHubs: [hub] });
}

function args(hub: IotHubEmulator, dps: DpsInstanceArgs["dps"]): DpsInstanceArgs {
    return {
        resourceGroupName: "rg-test",
        location: "northeurope",
        dps,
        subscriptionId: OFFLINE_SUBSCRIPTION_ID,
        tags: { stack: "test" },
        iotHub: { connectionString: pulumi.secret(hub.connectionString), hostName: hub.hostName, location: "northeurope" },
        enrollment: { enrollmentGroupId: "edgeml-test-edge", tags: { environment: "test", line: "3" }, keyRotation: 0 },
    };
}

async function plan(
    hub: IotHubEmulator,
    dps: DpsEmulator,
    spec: DpsInstanceArgs["dps"],
): Promise<{ plan: OfflinePlan; instance: DpsInstance }> {
    let instance!: DpsInstance;
    const run = await withDpsAnswers(dps, () =>
        runOffline({
            stack: "dev",
            program: () => {
                instance = new DpsInstance("dps", args(hub, spec));
                return {};
            },
        }),
    );
    return { plan: run.plan, instance };
}

describe("DpsInstance (offline engine, DPS answers hooked in)", () => {
    needsReference(DPS_SWAGGER, IOTHUB_SWAGGER);
    let hub: IotHubEmulator;
    let dps: DpsEmulator;

    beforeEach(async () => {
        hub = await startIotHubEmulator({ hubName: "contoso-hub" });
    });
    afterEach(async () => {
        if (dps) assert.deepStrictEqual(dps.violations, []);
        await dps?.stop();
        await hub?.stop();
    });

    it("creates an S1 instance linked to the hub, reads its owner key, and puts the enrollment group in it", async function () {
        dps = await emulatorFor("contoso-dps", hub);
        const { plan: result, instance } = await plan(hub, dps, { existing: false, name: "contoso-dps", sku: "S1" });
        const component = resourceOfType(result, COMPONENT_TYPE);
        const resource = resourceOfType(result, DPS_TOKEN);
        assert.strictEqual(resource.parent, component.urn);
        assert.strictEqual(resource.operation, "create");
        assert.deepStrictEqual(
            {
                name: resource.inputs.provisioningServiceName,
                group: resource.inputs.resourceGroupName,
                location: resource.inputs.location,
                sku: resource.inputs.sku,
            },
            { name: "contoso-dps", group: "rg-test", location: "northeurope", sku: { name: "S1", capacity: 1 } },
        );
        assert.deepStrictEqual((resource.inputs.properties as { iotHubs: unknown }).iotHubs, [
            { connectionString: "[secret]", location: "northeurope" },
        ]);
        const keysInvoke = result.invokes.find((invoke) => invoke.token === KEYS_TOKEN);
        assert.deepStrictEqual(keysInvoke?.inputs, { provisioningServiceName: "contoso-dps", resourceGroupName: "rg-test" });

        const group = resourceOfType(result, ENROLLMENT_GROUP_TYPE);
        assert.strictEqual(group.parent, component.urn);
        assert.ok(group.dependencies.includes(resource.urn), "the group waits for the instance (and its link to the hub)");
        assert.deepStrictEqual(
            {
                serviceConnectionString: group.inputs.serviceConnectionString,
                enrollmentGroupId: group.inputs.enrollmentGroupId,
                iotHubHostName: group.inputs.iotHubHostName,
                tags: group.inputs.tags,
                iotEdge: group.inputs.iotEdge,
                keyRotation: group.inputs.keyRotation,
            },
            {
                serviceConnectionString: "[secret]",
                enrollmentGroupId: "edgeml-test-edge",
                iotHubHostName: "contoso-hub.azure-devices.net",
                tags: { environment: "test", line: "3" },
                iotEdge: true,
                keyRotation: 0,
            },
        );

        // Outputs: the instance's identity in the clear, its credentials and the group's keys secret.
        assert.strictEqual(await outputValue(instance.name), "contoso-dps");
        assert.strictEqual(await outputValue(instance.idScope), dps.idScope);
        assert.strictEqual(await outputValue(instance.serviceHostName), "contoso-dps.azure-devices-provisioning.net");
        assert.strictEqual(await outputValue(instance.globalEndpoint), "global.azure-devices-provisioning.net");
        assert.strictEqual(await outputValue(instance.globalEndpointUrl), "https://global.azure-devices-provisioning.net/");
        for (const output of [instance.idScope, instance.serviceHostName, instance.globalEndpoint])
            assert.strictEqual(await pulumi.isSecret(output), false);
        assert.strictEqual(await pulumi.isSecret(instance.serviceConnectionString), true);
        assert.strictEqual(await outputValue(instance.serviceConnectionString), dps.connectionString);
        assert.strictEqual(await pulumi.isSecret(instance.enrollmentGroupKeys), true);
        assert.strictEqual(await pulumi.isSecret(instance.enrollmentGroup.primaryKey), true);
        const keys = await outputValue(instance.enrollmentGroupKeys);
        const held = dps.enrollmentGroup("edgeml-test-edge")!;
        assert.deepStrictEqual(keys, { primaryKey: held.primaryKey, secondaryKey: held.secondaryKey });
        assert.strictEqual(held.iotHubHostName, "contoso-hub.azure-devices.net");

        // A device given a key derived from the output registers and lands in the hub with the tags.
        const registered = await registerDevice(
            dps,
            "line3-001",
            deviceKey(keys.primaryKey, "line3-001"),
            await outputValue(instance.globalEndpoint),
            await outputValue(instance.idScope),
        );
        assert.strictEqual(registered.assignedHub, "contoso-hub.azure-devices.net");
        assert.deepStrictEqual((await hub.registry().getTwin("line3-001")).responseBody.tags, { environment: "test", line: "3" });
    });

    it("sends Azure what Microsoft's definition of provisioningServices allows", async function () {
        requireReference(this, AZURE_TYPES_DIR);
        dps = await emulatorFor("contoso-dps", hub);
        const { plan: result } = await plan(hub, dps, { existing: false, name: "contoso-dps", sku: "S1" });
        const oracle = new AzureTypeOracle((token) =>
            token === DPS_TOKEN ? { armType: DPS_ARM_TYPE, nameInput: "provisioningServiceName" } : undefined,
        );
        const check = oracle.check(resourceOfType(result, DPS_TOKEN));
        assert.strictEqual(check.notChecked, undefined);
        assert.match(
            check.definition ?? "",
            /deviceprovisioningservices__microsoft\.devices@\S+ Microsoft\.Devices\/provisioningServices@/,
        );
        assert.deepStrictEqual(check.violations.map(formatViolation), []);
        // And the check can fail: an SKU the definition does not know.
        const broken = structuredClone(resourceOfType(result, DPS_TOKEN));
        (broken.inputs.sku as { name: string }).name = "S9";
        assert.ok(oracle.check(broken).violations.some((violation) => violation.path === "sku.name"));
    });

    it("reads an existing instance instead of creating one, and puts the group in it", async () => {
        dps = await emulatorFor("shared-dps", hub);
        const existing = { existing: true as const, resourceGroupName: "iot-rg", name: "shared-dps", configKey: "existingDps" };
        const { plan: result, instance } = await plan(hub, dps, existing);
        const resource = resourceOfType(result, DPS_TOKEN);
        assert.strictEqual(resource.operation, "read");
        assert.strictEqual(
            resource.inputs.id,
            `/subscriptions/${OFFLINE_SUBSCRIPTION_ID}/resourceGroups/iot-rg/providers/Microsoft.Devices/provisioningServices/shared-dps`,
        );
        assert.deepStrictEqual(result.invokes.find((invoke) => invoke.token === KEYS_TOKEN)?.inputs, {
            provisioningServiceName: "shared-dps",
            resourceGroupName: "iot-rg",
        });
        assert.strictEqual(await outputValue(instance.serviceConnectionString), dps.connectionString);
        assert.ok(dps.enrollmentGroup("edgeml-test-edge"));
    });
});
