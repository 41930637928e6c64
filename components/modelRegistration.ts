import * as pulumi from "@pulumi/pulumi";
import * as machinelearningservices from "@pulumi/azure-native/machinelearningservices";
import * as storage from "@pulumi/azure-native/storage";
import type { ModelFileInfo } from "./modelFile";

/** Azure ML's default blob datastore, created with every workspace. */
export const DEFAULT_DATASTORE = "workspaceblobstore";

export interface ModelRegistrationArgs {
    /** Subscription of the workspace, part of the model's azureml:// URI. */
    subscriptionId: pulumi.Input<string>;
    /** Resource group of the workspace. */
    resourceGroupName: pulumi.Input<string>;
    /** Workspace to register the model in; an output, so registration waits for the workspace. */
    workspaceName: pulumi.Input<string>;
    /** Local model file, uploaded as-is. */
    modelPath: string;
    /** What the loader learnt from the file: content hash and training framework. */
    file: ModelFileInfo;
    /** Registered model name. */
    modelName: string;
    /** Registered version; versions are immutable, so new content needs a new one. */
    version: string;
    /** Free text shown in Azure ML studio; may change in place. */
    description: string;
    /** Tags shown in Azure ML studio; may change in place. */
    tags: Record<string, string>;
}

/**
 * Uploads a model file to the workspace's default blob datastore and registers it as a model version, the
 * Azure ML v2 way (ModelContainer + ModelVersion with an azureml:// URI). Old versions and their blobs are kept
 * when the version moves on, as Azure ML keeps version history.
 */
export class ModelRegistration extends pulumi.ComponentResource {
    public readonly modelName: pulumi.Output<string>;
    public readonly modelVersion: pulumi.Output<string>;
    public readonly modelUri: pulumi.Output<string>;
    public readonly modelVersionId: pulumi.Output<string>;
    public readonly sha256: string;

    constructor(name: string, args: ModelRegistrationArgs, opts?: pulumi.ComponentResourceOptions) {
        super("edgeml:ml:ModelRegistration", name, {}, opts);
        const child = { parent: this };
        const workspace = { resourceGroupName: args.resourceGroupName, workspaceName: args.workspaceName };

        // The container name of the default datastore is chosen by Azure ML (azureml-blobstore-<guid>): read it.
        const datastore = machinelearningservices.getDatastoreOutput({ ...workspace, name: DEFAULT_DATASTORE }, child);
        const blobStore = datastore.properties.apply((p) => {
            if (p.datastoreType !== "AzureBlob" || !p.accountName || !p.containerName) {
                throw new Error(`datastore ${DEFAULT_DATASTORE} is ${p.datastoreType}, not a blob container`);
            }
            return { accountName: p.accountName, containerName: p.containerName, resourceGroup: p.resourceGroup };
        });
        // Content-addressed path: a retained older version keeps pointing at its own bytes.
        const blobPath = `edgeml/models/${args.modelName}/${args.file.sha256.slice(0, 12)}/${baseName(args.modelPath)}`;
        const blob = new storage.Blob(
            `${name}-file`,
            {
                accountName: blobStore.accountName,
                containerName: blobStore.containerName,
                resourceGroupName: pulumi.all([blobStore, args.resourceGroupName]).apply(([b, rg]) => b.resourceGroup ?? rg),
                blobName: blobPath,
                type: storage.BlobType.Block,
                contentType: args.modelPath.endsWith(".json") ? "application/json" : "application/octet-stream",
                source: new pulumi.asset.FileAsset(args.modelPath),
            },
            { ...child, retainOnDelete: true },
        );

        const container = new machinelearningservices.ModelContainer(
            `${name}-model`,
            { ...workspace, name: args.modelName, properties: { description: args.description, tags: args.tags } },
            child,
        );
        const modelUri = pulumi.interpolate`azureml://subscriptions/${args.subscriptionId}/resourcegroups/${args.resourceGroupName}/workspaces/${args.workspaceName}/datastores/${DEFAULT_DATASTORE}/paths/${blob.name.apply(() => blobPath)}`;
        const version = new machinelearningservices.ModelVersion(
            `${name}-version`,
            {
                ...workspace,
                name: container.name,
                version: args.version,
                properties: {
                    modelType: "custom_model",
                    modelUri,
                    description: args.description,
                    tags: args.tags,
                    properties: {
                        sha256: args.file.sha256,
                        framework: args.file.framework,
                        frameworkVersion: args.file.frameworkVersion,
                    },
                },
            },
            { ...child, retainOnDelete: true },
        );

        this.modelName = container.name;
        this.modelVersion = version.name.apply(() => args.version);
        this.modelUri = modelUri;
        this.modelVersionId = version.id;
        this.sha256 = args.file.sha256;
        this.registerOutputs({
            modelName: this.modelName,
            modelVersion: this.modelVersion,
            modelUri: this.modelUri,
            modelVersionId: this.modelVersionId,
        });
    }
}

function baseName(file: string): string {
    return file.split(/[\\/]/).pop() ?? file;
}
