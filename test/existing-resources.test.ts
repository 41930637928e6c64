// The program with existing resources named in config: each is read (never created, so `pulumi destroy` never
// deletes it), and everything downstream is wired exactly as with resources the stack creates.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { existingAzureState, OFFLINE_SUBSCRIPTION_ID, offlineBlobs, offlineHubs } from "../offline/azure-answers";
import { OfflinePlan, outputValue, REPO_ROOT, runOffline } from "../offline/engine";
import { formatPlan } from "../scripts/plan-format";
import { restoreOfflineAzureAfterEach } from "./support/offline-state";
import { createdOfType as created, resourceOfType } from "./support/plan-queries";

const OWNED_TYPES = {
    registry: ["azure-native:containerregistry:Registry"],
    hub: ["azure-native:iothub:IotHubResource"],
    workspace: [
        "azure-native:machinelearningservices:Workspace",
        "azure-native:storage:StorageAccount",
        "azure-native:keyvault:Vault",
        "azure-native:operationalinsights:Workspace",
        "azure-native:applicationinsights:Component",
    ],
    model: [
        "azure-native:machinelearningservices:ModelVersion",
        "azure-native:machinelearningservices:ModelContainer",
        "azure-native:storage:Blob",
    ],
};
const EXISTING = {
    existingResourceGroup: "shared-rg",
    existingRegistry: "images-rg/contosoacr",
    existingIotHub: "iot-rg/contoso-hub",
    existingWorkspace: "ml-rg/contoso-mlw",
};
const armId = (group: string, providerType: string, name: string) =>
    `/subscriptions/${OFFLINE_SUBSCRIPTION_ID}/resourceGroups/${group}/providers/${providerType}/${name}`;

const read = (plan: OfflinePlan, type: string) => plan.resources.filter((r) => r.type === type && r.operation === "read");

async function plan(overrides: Record<string, unknown>) {
    return runOffline({ stack: "dev", overrides });
}

describe("existing resources", () => {
    // Tests below change existingAzureState and offlineBlobs: each gets them back as they were.
    restoreOfflineAzureAfterEach();

    it("all new: creates every resource and reads none", async () => {
        const { plan: result } = await plan({});
        for (const type of Object.values(OWNED_TYPES).flat()) assert.strictEqual(created(result, type).length, 1, type);
        assert.deepStrictEqual(
            result.resources.filter((r) => r.operation === "read"),
            [],
        );
    });

    describe("all existing: group, registry, hub, workspace and a registered model", () => {
        let run: Awaited<ReturnType<typeof plan>>;
        /** The existing hub's iothubowner key, as its emulator holds it (the hub is reset by the next run). */
        let hubOwnerKey: string;
        before(async () => {
            run = await plan({ ...EXISTING, existingModel: "anomaly@latest" });
            hubOwnerKey = offlineHubs().get("contoso-hub.azure-devices.net")!.ownerKey;
        });

        it("creates none of them and reads each by its resource id", () => {
            for (const type of [...Object.values(OWNED_TYPES).flat(), "azure-native:resources:ResourceGroup"]) {
                assert.deepStrictEqual(created(run.plan, type), [], type);
            }
            const ids = run.plan.resources.filter((r) => r.operation === "read").map((r) => r.inputs.id);
            assert.deepStrictEqual(ids.slice(0, 4), [
                `/subscriptions/${OFFLINE_SUBSCRIPTION_ID}/resourceGroups/shared-rg`,
                armId("images-rg", "Microsoft.ContainerRegistry/registries", "contosoacr"),
                armId("iot-rg", "Microsoft.Devices/IotHubs", "contoso-hub"),
                armId("ml-rg", "Microsoft.MachineLearningServices/workspaces", "contoso-mlw"),
            ]);
            // Reads are never deleted by `pulumi destroy` and carry no protect flag to trip over.
            for (const resource of run.plan.resources.filter((r) => r.operation === "read"))
                assert.strictEqual(resource.retainOnDelete, true);
        });

        it("still registers the edge devices in the existing hub, with its secret owner key", async () => {
            const device = resourceOfType(run.plan, "pulumi-nodejs:dynamic/iot:EdgeDevice");
            assert.strictEqual(device.operation, "create");
            assert.strictEqual(device.inputs.serviceConnectionString, "[secret]");
            assert.ok(
                run.plan.invokes.some(
                    (i) =>
                        i.token === "azure-native:iothub:listIotHubResourceKeys" &&
                        i.inputs.resourceName === "contoso-hub" &&
                        i.inputs.resourceGroupName === "iot-rg",
                ),
            );
            assert.strictEqual(await outputValue(run.exports.iotHubHostName as pulumi.Output<string>), "contoso-hub.azure-devices.net");
            // The key is the existing hub's own (its emulator's), and the device identity was created there.
            const connectionString = await outputValue(run.exports.iotHubServiceConnectionString as pulumi.Output<string>);
            assert.strictEqual(
                connectionString,
                `HostName=contoso-hub.azure-devices.net;SharedAccessKeyName=iothubowner;SharedAccessKey=${hubOwnerKey}`,
            );
            assert.strictEqual(run.states[device.urn].hostName, "contoso-hub.azure-devices.net");
        });

        it("wires the existing registry's credentials into the image and the deployment, as secrets", async () => {
            const image = resourceOfType(run.plan, "docker:index/image:Image");
            assert.deepStrictEqual(image.inputs.registry, {
                server: "contosoacr.azurecr.io",
                username: "contosoacr",
                password: "[secret]",
            });
            assert.ok(String(image.inputs.imageName).startsWith("contosoacr.azurecr.io/edgeml/scoring:"));
            assert.ok(
                run.plan.invokes.some(
                    (i) =>
                        i.token === "azure-native:containerregistry:listRegistryCredentials" && i.inputs.resourceGroupName === "images-rg",
                ),
            );
            for (const name of [
                "registryAdminPassword",
                "iotHubServiceConnectionString",
                "edgeDeviceConnectionStrings",
                "edgeDeviceConfigTomls",
            ]) {
                assert.strictEqual(await pulumi.isSecret(run.exports[name] as pulumi.Output<unknown>), true, name);
                assert.strictEqual(run.plan.outputs[name], "[secret]", name);
            }
            const text = JSON.stringify(run.plan);
            const password = await outputValue(run.exports.registryAdminPassword as pulumi.Output<string>);
            assert.ok(password.length > 0 && !text.includes(password), "no registry password in the plan");
            assert.ok(!text.includes(hubOwnerKey), "no hub key in the plan");
        });

        it("resolves @latest to the newest registered version and records it on the image", async () => {
            assert.strictEqual(run.plan.outputs.modelName, "anomaly");
            assert.strictEqual(run.plan.outputs.modelVersion, "7");
            assert.match(
                String(run.plan.outputs.modelUri),
                /^azureml:\/\/subscriptions\/.*\/workspaces\/contoso-mlw\/datastores\/workspaceblobstore\/paths\/.*\/model\.json$/,
            );
            const image = resourceOfType(run.plan, "docker:index/image:Image");
            assert.deepStrictEqual((image.inputs.build as any).args, {
                BASE_IMAGE: "python:3.11-slim",
                MODEL_NAME: "anomaly",
                MODEL_VERSION: "7",
                // The offline registration records no sha256 property, as a run that registered it elsewhere may not.
                MODEL_SHA256: "unrecorded",
                ENTRY_SCRIPT: "score.py",
            });
        });

        it("builds the image from a staged context carrying the registered model's file, downloaded with a read-and-list SAS", () => {
            const image = resourceOfType(run.plan, "docker:index/image:Image");
            assert.strictEqual((image.inputs.build as any).context, "out/dev/scoring-context");
            assert.strictEqual((image.inputs.build as any).dockerfile, "out/dev/scoring-context/Dockerfile");
            const staged = fs.readFileSync(path.join(REPO_ROOT, "out/dev/scoring-context/model/model.json"));
            assert.ok(staged.equals([...offlineBlobs].find(([name]) => name.endsWith("/anomaly/7/model.json"))![1]));
            const sas = run.plan.invokes.find((i) => i.token === "azure-native:storage:listStorageAccountServiceSAS");
            assert.deepStrictEqual([sas?.inputs.permissions, sas?.inputs.resource, sas?.inputs.protocols], ["rl", "c", "https"]);
            assert.match(String(sas?.inputs.canonicalizedResource), /^\/blob\/st[0-9a-f]{10}\/azureml-blobstore-[0-9a-f-]{36}$/);
            // The SAS is a secret: in no plan input or output, and the image reference stays readable.
            assert.ok(!JSON.stringify(run.plan).includes("sig="));
            assert.notStrictEqual(run.plan.outputs.scoringImageRef, "[secret]");
            assert.match(JSON.stringify(run.plan.outputs.deploymentManifest), /contosoacr\.azurecr\.io\/edgeml\/scoring@sha256:/);
        });

        it("says the registered model's contents are a stand-in, naming the file the offline engine used, and made-up state", () => {
            // The offline workspace cannot hold the real model: nobody must take the planned image for one carrying it.
            const model = run.standIns.find((s) => s.value === "scoring/examples/temperature-anomaly/model/model.json");
            assert.match(
                model?.standsFor ?? JSON.stringify(run.standIns),
                /^stands in for the contents of anomaly:7's registered model\.json, which the offline engine cannot download: .*`pulumi up` downloads the registered one/,
            );
            const text = formatPlan(run.plan, false, { standIns: run.standIns });
            // The plan cuts the long path (--wide shows it whole).
            assert.match(
                text,
                /^ {2}scoring\/examples\/temperature-anomaly\/mo… {2}stands in for the contents of anomaly:7's registered model\.json/m,
            );
            assert.match(
                text,
                /^ {2}anomaly@latest = version 7 {2}the latest version of anomaly registered in the workspace, made up offline/m,
            );
            assert.match(text, /^ {2}= read {2}each existing resource's state .*: made up offline/m);
            assert.match(text, /^ {2}st[0-9a-f]{10} {2}the existing workspace's storage account/m);
        });

        it("exposes the existing workspace's own storage account", () => {
            assert.match(String(run.plan.outputs.workspaceStorageAccount), /^st[0-9a-f]{10}$/);
            assert.strictEqual(run.plan.outputs.workspaceName, "contoso-mlw");
        });
    });

    it("mixed: existing workspace and hub with a new registry, which the existing workspace is not re-linked to", async () => {
        const { plan: result } = await plan({ existingIotHub: EXISTING.existingIotHub, existingWorkspace: EXISTING.existingWorkspace });
        assert.strictEqual(created(result, "azure-native:containerregistry:Registry").length, 1);
        assert.strictEqual(read(result, "azure-native:iothub:IotHubResource").length, 1);
        assert.strictEqual(read(result, "azure-native:machinelearningservices:Workspace").length, 1);
        for (const type of [...OWNED_TYPES.hub, ...OWNED_TYPES.workspace]) assert.deepStrictEqual(created(result, type), [], type);
        // The local model is registered into the existing workspace, in its resource group.
        const version = resourceOfType(result, "azure-native:machinelearningservices:ModelVersion");
        assert.strictEqual(version.operation, "create");
        assert.deepStrictEqual([version.inputs.resourceGroupName, version.inputs.workspaceName], ["ml-rg", "contoso-mlw"]);
        const image = resourceOfType(result, "docker:index/image:Image");
        assert.deepStrictEqual(image.inputs.registry, {
            server: "edgemldevacr.azurecr.io",
            username: "edgemldevacr",
            password: "[secret]",
        });
    });

    it("pins a registered version without reading the model's version list", async () => {
        const { plan: result } = await plan({ existingWorkspace: EXISTING.existingWorkspace, existingModel: "azureml:anomaly:3" });
        assert.deepStrictEqual(read(result, "azure-native:machinelearningservices:ModelContainer"), []);
        assert.strictEqual(
            read(result, "azure-native:machinelearningservices:ModelVersion")[0].inputs.id,
            `${armId("ml-rg", "Microsoft.MachineLearningServices/workspaces", "contoso-mlw")}/models/anomaly/versions/3`,
        );
        assert.strictEqual(result.outputs.modelVersion, "3");
    });

    it("retags the image when the registered model's bytes differ, whatever their format", async () => {
        const overrides = { existingWorkspace: EXISTING.existingWorkspace, existingModel: "anomaly:3" };
        const tagOf = (result: OfflinePlan) => String(resourceOfType(result, "docker:index/image:Image").inputs.imageName).split(":").pop();
        const before = tagOf((await plan(overrides)).plan);
        // The blob is put back by restoreOfflineAzureAfterEach, whatever happens here.
        const [blob, bytes] = [...offlineBlobs].find(([name]) => name.endsWith("/anomaly/3/model.json"))!;
        offlineBlobs.set(
            blob,
            Buffer.from(bytes.toString("utf8").replace(/"anomalyClass":\s*(\d+)/, '"anomalyClass": $1, "retrained": true')),
        );
        const retrained = await plan(overrides);
        assert.notStrictEqual(tagOf(retrained.plan), before);
        // Not the engine's file any more: the stand-in named is the blob's bytes.
        assert.deepStrictEqual(
            retrained.standIns.filter((s) => /model\.json$/.test(s.value)).map((s) => s.value),
            [`the bytes of offline blob ${blob}`],
        );

        // Any format is a model now (a pickle, ONNX, a folder): other bytes retag again, and are not judged here.
        offlineBlobs.set(blob, Buffer.from("\x80\x04 a pickle's bytes"));
        assert.notStrictEqual(tagOf((await plan(overrides)).plan), tagOf(retrained.plan));
    });

    it("stops with the fix when the existing registry's admin user is off", async () => {
        existingAzureState.set(armId("images-rg", "Microsoft.ContainerRegistry/registries", "contosoacr").toLowerCase(), {
            adminUserEnabled: false,
        });
        await assert.rejects(plan({ existingRegistry: EXISTING.existingRegistry }), (error: Error) => {
            assert.strictEqual(error.name, "AzureStateError");
            assert.match(error.message, /the container registry contosoacr \(edgeml:existingRegistry\) has its admin user disabled/);
            assert.match(error.message, /az acr update --name contosoacr --resource-group images-rg --admin-enabled true/);
            return true;
        });
    });

    it("refuses an existing basic-tier hub, which has no module twins", async () => {
        existingAzureState.set(armId("iot-rg", "Microsoft.Devices/IotHubs", "contoso-hub").toLowerCase(), {
            sku: { name: "B1", tier: "Basic" },
        });
        await assert.rejects(
            plan({ existingIotHub: EXISTING.existingIotHub }),
            /the IoT Hub contoso-hub \(edgeml:existingIotHub\) is on the basic tier B1/,
        );
    });

    it("refuses a config.json of another subscription than the one Pulumi deploys to", async () => {
        const other = "3f2504e0-4f89-11d3-9a0c-0305e82c3301";
        const id = `/subscriptions/${other}/resourceGroups/ml-rg/providers/Microsoft.MachineLearningServices/workspaces/contoso-mlw`;
        await assert.rejects(
            plan({ existingWorkspace: id }),
            new RegExp(`set azure-native:subscriptionId \\(or ARM_SUBSCRIPTION_ID\\) to ${other}`),
        );
    });
});
