// DpsInstance (edgeml:dps:DeviceProvisioning) under the offline engine, with the engine's own DPS answers: an
// IotDpsResource's id and computed outputs, an existing one's shape, listIotDpsResourceKeys, and the EnrollmentGroup
// dynamic resource's real provider against the engine's DPS emulator for the instance, linked to the engine's hub
// emulator for the IotHub component beside it.
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { DpsInstance, type DpsInstanceArgs, ENROLLMENT_GROUP_TYPE } from "../components/dps";
import { IotHub } from "../components/iot";
import { AZURE_TYPES, type ExistingResource } from "../components/shared";
import type { MockResourceArgs } from "@pulumi/pulumi/runtime";
import { azureMocks, existingAzureState, offlineDpsInstances, offlineHubs, OFFLINE_SUBSCRIPTION_ID } from "../offline/azure-answers";
import type { DpsEmulator } from "../offline/dps-emulator";
import { outputValue, runOffline, type OfflinePlan } from "../offline/engine";
import type { IotHubEmulator } from "../offline/iothub-emulator";
import { DPS_SWAGGER, IOTHUB_SWAGGER } from "../offline/reference-data";
import { AZURE_TYPES_DIR, AzureTypeOracle, formatViolation } from "./support/azure-type-oracle";
import { deviceKey, registerDevice } from "./support/dps-devices";
import { resourceOfType } from "./support/plan-queries";
import { needsReference, requireReference } from "./support/references";
import { unwrapSecrets } from "../offline/wire-format";

const DPS_TOKEN = AZURE_TYPES.dps.token;
const KEYS_TOKEN = "azure-native:deviceprovisioningservices:listIotDpsResourceKeys";
const HUB_READ_TOKEN = "azure-native:iothub:getIotHubResource";
const COMPONENT_TYPE = "edgeml:dps:DeviceProvisioning";

const NEW_HUB = { existing: false as const, name: "contoso-hub", sku: "S1" as const, units: 1, partitions: 2 };
const EXISTING_HUB: ExistingResource = { existing: true, resourceGroupName: "iot-rg", name: "contoso-hub", configKey: "existingIotHub" };

interface Planned {
    plan: OfflinePlan;
    instance: DpsInstance;
    /** The engine's emulators the run used: the hub's and the instance's. */
    hub: IotHubEmulator;
    dps: DpsEmulator;
}

/** Plans an IotHub (created, or `hubSpec`) and a DpsInstance (`dpsSpec`) linked to it, and finds the emulators they used. */
async function plan(dpsSpec: DpsInstanceArgs["dps"], hubSpec: typeof NEW_HUB | ExistingResource = NEW_HUB): Promise<Planned> {
    let instance!: DpsInstance;
    const { plan: result } = await runOffline({
        stack: "dev",
        program: () => {
            const hub = new IotHub("iot", {
                resourceGroupName: "rg-test",
                location: "northeurope",
                tags: {},
                subscriptionId: OFFLINE_SUBSCRIPTION_ID,
                hub: hubSpec,
                edgeDevices: [],
                deviceTags: {},
                edgeRuntimeVersion: "1.6",
            });
            instance = new DpsInstance("dps", {
                resourceGroupName: "rg-test",
                location: "northeurope",
                dps: dpsSpec,
                subscriptionId: OFFLINE_SUBSCRIPTION_ID,
                tags: { stack: "test" },
                iotHub: {
                    connectionString: hub.serviceConnectionString,
                    hostName: hub.hostName,
                    location: "northeurope",
                    existing: hubSpec.existing ? hubSpec : undefined,
                },
                enrollment: { enrollmentGroupId: "edgeml-test-edge", tags: { environment: "test", line: "3" }, keyRotation: 0 },
            });
            // Exported as the program exports it, so a refusal on the way to the group fails the run as it fails `pulumi up`.
            return { serviceConnectionString: instance.serviceConnectionString };
        },
    });
    const hub = offlineHubs().get("contoso-hub.azure-devices.net");
    const dps = offlineDpsInstances().get(`${dpsSpec.name}.azure-devices-provisioning.net`);
    assert.ok(hub && dps, "the run used the engine's hub and DPS emulators");
    return { plan: result, instance, hub, dps };
}

describe("DpsInstance (offline engine)", function () {
    this.timeout(60_000);
    needsReference(DPS_SWAGGER, IOTHUB_SWAGGER);
    let used: Planned | undefined;
    afterEach(() => {
        if (used) assert.deepStrictEqual([...used.dps.violations, ...used.hub.violations], []);
        used = undefined;
        existingAzureState.clear();
    });

    it("creates an S1 instance linked to the hub, reads its owner key, and puts the enrollment group in it", async function () {
        used = await plan({ existing: false, name: "contoso-dps", sku: "S1" });
        const { plan: result, instance, hub, dps } = used;
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
        assert.ok(!result.invokes.some((invoke) => invoke.token === HUB_READ_TOKEN), "a created hub's region is the stack's");

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

        // A device given a key derived from the output registers and lands in the engine's hub with the tags.
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
        used = await plan({ existing: false, name: "contoso-dps", sku: "S1" });
        const oracle = new AzureTypeOracle((token) =>
            token === DPS_TOKEN ? { armType: AZURE_TYPES.dps.armType, nameInput: AZURE_TYPES.dps.nameInput } : undefined,
        );
        const check = oracle.check(resourceOfType(used.plan, DPS_TOKEN));
        assert.strictEqual(check.notChecked, undefined);
        assert.match(
            check.definition ?? "",
            /deviceprovisioningservices__microsoft\.devices@\S+ Microsoft\.Devices\/provisioningServices@/,
        );
        assert.deepStrictEqual(check.violations.map(formatViolation), []);
        // And the check can fail: an SKU the definition does not know.
        const broken = structuredClone(resourceOfType(used.plan, DPS_TOKEN));
        (broken.inputs.sku as { name: string }).name = "S9";
        assert.ok(oracle.check(broken).violations.some((violation) => violation.path === "sku.name"));
    });

    it("reads an existing instance instead of creating one, and puts the group in it", async () => {
        used = await plan({ existing: true, resourceGroupName: "iot-rg", name: "shared-dps", configKey: "existingDps" });
        const { plan: result, instance, dps } = used;
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
        assert.strictEqual(await outputValue(instance.idScope), dps.idScope);
        assert.ok(dps.enrollmentGroup("edgeml-test-edge"));
    });

    it("refuses an existing instance not linked to the stack's hub, naming existingDps and the command that links it", async () => {
        const dpsId = `/subscriptions/${OFFLINE_SUBSCRIPTION_ID}/resourcegroups/iot-rg/providers/microsoft.devices/provisioningservices/shared-dps`;
        const existing = { existing: true as const, resourceGroupName: "iot-rg", name: "shared-dps", configKey: "existingDps" };
        existingAzureState.set(dpsId, { properties: { iotHubs: [{ name: "elsewhere.azure-devices.net" }] } });
        await assert.rejects(plan(existing), (error: Error) => {
            assert.strictEqual(error.name, "AzureStateError");
            assert.match(
                error.message,
                /the Device Provisioning Service shared-dps \(edgeml:existingDps\) is not linked to the stack's hub contoso-hub\.azure-devices\.net \(it links elsewhere\.azure-devices\.net\)/,
            );
            assert.match(error.message, /az iot dps linked-hub create --dps-name shared-dps --resource-group iot-rg/);
            return true;
        });
    });

    it("uses an existing instance linked to the stack's hub among others (host names compared without case)", async () => {
        const dpsId = `/subscriptions/${OFFLINE_SUBSCRIPTION_ID}/resourcegroups/iot-rg/providers/microsoft.devices/provisioningservices/shared-dps`;
        existingAzureState.set(dpsId, {
            properties: { iotHubs: [{ name: "elsewhere.azure-devices.net" }, { name: "Contoso-Hub.azure-devices.net" }] },
        });
        used = await plan({ existing: true, resourceGroupName: "iot-rg", name: "shared-dps", configKey: "existingDps" });
        assert.ok(used.dps.enrollmentGroup("edgeml-test-edge"));
    });

    it("links an existing hub under its own region, read from Azure, not the stack's", async () => {
        existingAzureState.set(
            `/subscriptions/${OFFLINE_SUBSCRIPTION_ID}/resourcegroups/iot-rg/providers/microsoft.devices/iothubs/contoso-hub`,
            { location: "swedencentral" },
        );
        // What Azure is sent for the link: the inputs as the engine's answers see them, secrets unwrapped.
        const sent: Record<string, any>[] = [];
        const { newResource } = azureMocks;
        azureMocks.newResource = (args: MockResourceArgs) => {
            if (args.type === DPS_TOKEN) sent.push(unwrapSecrets(args.inputs));
            return newResource(args);
        };
        try {
            used = await plan({ existing: false, name: "contoso-dps", sku: "S1" }, EXISTING_HUB);
        } finally {
            azureMocks.newResource = newResource;
        }
        const { plan: result, hub, dps } = used;
        assert.deepStrictEqual(result.invokes.find((invoke) => invoke.token === HUB_READ_TOKEN)?.inputs, {
            resourceGroupName: "iot-rg",
            resourceName: "contoso-hub",
        });
        assert.deepStrictEqual(
            sent.map((inputs) => inputs.properties.iotHubs),
            [[{ connectionString: hub.connectionString, location: "swedencentral" }]],
        );
        assert.ok(dps.enrollmentGroup("edgeml-test-edge"));
    });
});
