import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { describeModelFile } from "../components/config/modelFile";
import { MlWorkspace } from "../components/ml/mlWorkspace";
import { deployingClient } from "../components/shared/azure";
import { ModelRegistration } from "../components/ml/modelRegistration";
import { OFFLINE_SUBSCRIPTION_ID } from "../offline/azure-answers";
import { runOffline } from "../offline/engine";
import { resourceOfType } from "./support/plan-queries";
import { makeContext } from "./support/temp-context";

describe("ModelRegistration", () => {
    let dir: string;
    let modelPath: string;
    before(() => {
        dir = makeContext({ "model.json": JSON.stringify({ format: "t", framework: "scikit-learn", frameworkVersion: "1.6.1" }) });
        modelPath = path.join(dir, "model.json");
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    async function register(version: string) {
        const file = describeModelFile(modelPath);
        return runOffline({
            stack: "dev",
            program: () => {
                const ml = new MlWorkspace("ml", {
                    resourceGroupName: "rg-ml",
                    location: "westeurope",
                    tags: {},
                    workspace: {
                        existing: false,
                        name: "test-mlw",
                        storageAccountName: "testmlstore",
                        storageSku: "Standard_LRS",
                        keyVaultName: "test-ml-kv",
                        logAnalyticsName: "test-log",
                        insightsName: "test-appi",
                        logRetentionDays: 30,
                    },
                    containerRegistryId: "/subscriptions/s/resourceGroups/rg-ml/providers/Microsoft.ContainerRegistry/registries/acr",
                    client: deployingClient(),
                });
                const model = new ModelRegistration("model", {
                    subscriptionId: ml.subscriptionId,
                    resourceGroupName: ml.resourceGroupName,
                    workspaceName: ml.workspaceName,
                    model: {
                        existing: false,
                        path: modelPath,
                        kind: "file",
                        type: "custom_model",
                        sha256: file.sha256,
                        file,
                        name: "temperature-anomaly",
                        version,
                        description: "test model",
                        tags: { team: "edge" },
                    },
                });
                return { modelUri: model.modelUri, modelVersion: model.modelVersion };
            },
        });
    }

    it("uploads the file to the default datastore's container, read from the workspace, not hard-coded", async () => {
        const { plan } = await register("7");
        const blob = resourceOfType(plan, "azure-native:storage:Blob");
        assert.strictEqual(blob.inputs.source, `asset:${modelPath}`);
        assert.strictEqual(blob.inputs.accountName, "testmlstore");
        assert.match(String(blob.inputs.containerName), /^azureml-blobstore-[0-9a-f-]{36}$/);
        assert.ok(
            plan.invokes.some(
                (i) => i.token === "azure-native:machinelearningservices:getDatastore" && i.inputs.name === "workspaceblobstore",
            ),
        );
        assert.strictEqual(blob.retainOnDelete, true);
    });

    it("registers a custom_model version with the long azureml:// URI, hash and framework", async () => {
        const { plan } = await register("7");
        const sha256 = describeModelFile(modelPath).sha256;
        const container = resourceOfType(plan, "azure-native:machinelearningservices:ModelContainer");
        const version = resourceOfType(plan, "azure-native:machinelearningservices:ModelVersion");
        const blob = resourceOfType(plan, "azure-native:storage:Blob");
        assert.strictEqual(container.inputs.name, "temperature-anomaly");
        assert.strictEqual(version.inputs.version, "7");
        const properties = version.inputs.properties as Record<string, any>;
        assert.strictEqual(properties.modelType, "custom_model");
        assert.strictEqual(
            properties.modelUri,
            `azureml://subscriptions/${OFFLINE_SUBSCRIPTION_ID}/resourcegroups/rg-ml/workspaces/test-mlw/datastores/workspaceblobstore/paths/${blob.inputs.blobName}`,
        );
        assert.deepStrictEqual(properties.properties, { sha256, framework: "scikit-learn", frameworkVersion: "1.6.1" });
        assert.strictEqual(properties.description, "test model");
        assert.deepStrictEqual(properties.tags, { team: "edge" });
        assert.ok(version.dependencies.includes(blob.urn), "the version waits for the upload");
        assert.strictEqual(version.retainOnDelete, true);
        assert.strictEqual(plan.outputs.modelVersion, "7");
    });
});
