import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { ContainerRegistry } from "../components/registry/containerRegistry";
import type { NewIotHub } from "../components/config/loader";
import { deployingClient } from "../components/shared/azure";
import { IotHub } from "../components/iot/iotHub";
import { MlWorkspace } from "../components/ml/mlWorkspace";
import { OFFLINE_SUBSCRIPTION_ID, offlineHubs } from "../offline/azure-answers";
import { outputValue, runOffline } from "../offline/engine";
import { armIdOf, resourceOfType } from "./support/plan-queries";

const placement = { resourceGroupName: "rg-test", location: "northeurope", tags: { stack: "test" } };

describe("ContainerRegistry", () => {
    it("enables the admin user, sets the SKU, and wires secret credentials", async () => {
        let registry!: ContainerRegistry;
        const { plan } = await runOffline({
            stack: "dev",
            program: () => {
                registry = new ContainerRegistry("acr", {
                    ...placement,
                    subscriptionId: OFFLINE_SUBSCRIPTION_ID,
                    registry: { existing: false, name: "testacr01", sku: "Standard" },
                });
                return { password: registry.adminPassword };
            },
        });
        const acr = resourceOfType(plan, "azure-native:containerregistry:Registry");
        assert.strictEqual(acr.inputs.adminUserEnabled, true);
        assert.deepStrictEqual(acr.inputs.sku, { name: "Standard" });
        assert.strictEqual(acr.parent, resourceOfType(plan, "edgeml:registry:ContainerRegistry").urn);
        assert.strictEqual(await pulumi.isSecret(registry.adminPassword), true);
        assert.strictEqual(await pulumi.isSecret(registry.loginServer), false);
        assert.strictEqual(await outputValue(registry.loginServer), "testacr01.azurecr.io");
        assert.strictEqual(await outputValue(registry.adminUsername), "testacr01");
        assert.strictEqual(plan.outputs.password, "[secret]");
        assert.ok(plan.invokes.some((i) => i.token === "azure-native:containerregistry:listRegistryCredentials"));
    });
});

/** Plans an IotHub with two edge devices tagged for a test environment; `emulator` is the offline hub it used. */
async function planHub(sizing: Omit<NewIotHub, "existing">) {
    let hub!: IotHub;
    const { plan } = await runOffline({
        stack: "dev",
        program: () => {
            hub = new IotHub("iot", {
                ...placement,
                subscriptionId: OFFLINE_SUBSCRIPTION_ID,
                hub: { existing: false, ...sizing },
                edgeDevices: ["edge-a", "edge-b"],
                deviceTags: { environment: "test" },
                edgeRuntimeVersion: "1.6",
            });
            return {};
        },
    });
    const emulator = offlineHubs().get(`${sizing.name}.azure-devices.net`);
    assert.ok(emulator, `the run used an offline hub ${sizing.name}`);
    return { plan, hub, emulator };
}

describe("IotHub", () => {
    it("sizes the hub from its args and builds a secret iothubowner connection string", async () => {
        const { plan, hub, emulator } = await planHub({ name: "test-hub-1", sku: "S2", units: 3, partitions: 8 });
        const resource = resourceOfType(plan, "azure-native:iothub:IotHubResource");
        assert.deepStrictEqual(resource.inputs.sku, { name: "S2", capacity: 3 });
        assert.deepStrictEqual((resource.inputs.properties as any).eventHubEndpoints.events.partitionCount, 8);
        assert.strictEqual(resource.parent, resourceOfType(plan, "edgeml:iot:IotHub").urn);
        assert.strictEqual(await outputValue(hub.hostName), "test-hub-1.azure-devices.net");
        assert.strictEqual(await pulumi.isSecret(hub.serviceConnectionString), true);
        assert.match(
            (await outputValue(hub.serviceConnectionString)) as string,
            /^HostName=test-hub-1\.azure-devices\.net;SharedAccessKeyName=iothubowner;SharedAccessKey=[A-Za-z0-9+/=]+$/,
        );
        // The hub's own key: the one its (offline) service accepts.
        assert.strictEqual(await outputValue(hub.serviceConnectionString), emulator.connectionString);
    });

    it("registers each edge device as a child with the service credentials and tags, its secrets kept secret", async () => {
        const { plan, hub, emulator } = await planHub({ name: "test-hub-2", sku: "S1", units: 1, partitions: 2 });
        const devices = plan.resources.filter((r) => r.type === "pulumi-nodejs:dynamic/iot:EdgeDevice");
        const component = resourceOfType(plan, "edgeml:iot:IotHub");
        assert.deepStrictEqual(
            devices.map((d) => d.inputs.deviceId),
            ["edge-a", "edge-b"],
        );
        for (const device of devices) {
            assert.strictEqual(device.parent, component.urn);
            assert.strictEqual(device.inputs.serviceConnectionString, "[secret]");
            assert.deepStrictEqual(device.inputs.tags, { environment: "test" });
        }
        for (const device of hub.devices) {
            assert.strictEqual(await pulumi.isSecret(device.connectionString), true);
            assert.strictEqual(await pulumi.isSecret(device.configToml), true);
        }
        assert.strictEqual(await pulumi.isSecret(hub.deviceConfigTomls), true);
        const tomls = (await outputValue(hub.deviceConfigTomls)) as Record<string, string>;
        assert.deepStrictEqual(Object.keys(tomls), ["edge-a", "edge-b"]);
        assert.match(tomls["edge-a"], /connection_string = "HostName=test-hub-2\.azure-devices\.net;DeviceId=edge-a;SharedAccessKey=/);
        // Each identity exists in the hub, as an edge device with the twin tags, and its key is the one the hub generated.
        const registry = emulator.registry();
        const connectionStrings = (await outputValue(hub.deviceConnectionStrings)) as Record<string, string>;
        for (const deviceId of ["edge-a", "edge-b"]) {
            const identity = (await registry.get(deviceId)).responseBody;
            assert.strictEqual(identity.capabilities?.iotEdge, true);
            const key = identity.authentication?.symmetricKey?.primaryKey;
            assert.strictEqual(
                connectionStrings[deviceId],
                `HostName=test-hub-2.azure-devices.net;DeviceId=${deviceId};SharedAccessKey=${key}`,
            );
            assert.ok(tomls[deviceId].includes(`connection_string = "${connectionStrings[deviceId]}"`));
            assert.deepStrictEqual((await registry.getTwin(deviceId)).responseBody.tags, { environment: "test" });
        }
    });
});

describe("MlWorkspace", () => {
    it("links the workspace to its storage, key vault, insights and the registry, all parented to the component", async () => {
        const registryId = "/subscriptions/s/resourceGroups/rg-test/providers/Microsoft.ContainerRegistry/registries/testacr01";
        const { plan } = await runOffline({
            stack: "dev",
            program: () => {
                new MlWorkspace("ml", {
                    ...placement,
                    workspace: {
                        existing: false,
                        name: "test-mlw",
                        storageAccountName: "teststorage01",
                        storageSku: "Standard_GRS",
                        keyVaultName: "test-kv-01",
                        logAnalyticsName: "test-log",
                        insightsName: "test-appi",
                        logRetentionDays: 60,
                    },
                    containerRegistryId: registryId,
                    client: deployingClient(),
                });
                return {};
            },
        });
        const component = resourceOfType(plan, "edgeml:ml:MlWorkspace");
        const workspace = resourceOfType(plan, "azure-native:machinelearningservices:Workspace");
        const storage = resourceOfType(plan, "azure-native:storage:StorageAccount");
        const vault = resourceOfType(plan, "azure-native:keyvault:Vault");
        const insights = resourceOfType(plan, "azure-native:applicationinsights:Component");
        const logs = resourceOfType(plan, "azure-native:operationalinsights:Workspace");

        assert.strictEqual(workspace.inputs.storageAccount, armIdOf(storage, "Microsoft.Storage/storageAccounts", "accountName"));
        assert.strictEqual(workspace.inputs.keyVault, armIdOf(vault, "Microsoft.KeyVault/vaults", "vaultName"));
        assert.strictEqual(workspace.inputs.applicationInsights, armIdOf(insights, "Microsoft.Insights/components", "resourceName"));
        assert.strictEqual(workspace.inputs.containerRegistry, registryId);
        assert.deepStrictEqual(workspace.inputs.identity, { type: "SystemAssigned" });
        assert.strictEqual(insights.inputs.workspaceResourceId, armIdOf(logs, "Microsoft.OperationalInsights/workspaces", "workspaceName"));
        assert.strictEqual(insights.inputs.ingestionMode, "LogAnalytics");
        assert.strictEqual((vault.inputs.properties as any).enableRbacAuthorization, true);
        assert.strictEqual((vault.inputs.properties as any).accessPolicies, undefined);
        assert.deepStrictEqual(storage.inputs.sku, { name: "Standard_GRS" });
        assert.strictEqual(storage.inputs.isHnsEnabled, false);
        assert.strictEqual(logs.inputs.retentionInDays, 60);
        for (const child of [workspace, storage, vault, insights, logs]) assert.strictEqual(child.parent, component.urn, child.name);
        // The workspace cannot be created before what it links to.
        for (const dependency of [storage, vault, insights]) assert.ok(workspace.dependencies.includes(dependency.urn), dependency.name);
    });
});
