import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as machinelearningservices from "@pulumi/azure-native/machinelearningservices";
import * as storage from "@pulumi/azure-native/storage";
import { describeModelPath, type ExistingModel, type LocalModel } from "../config";
import { armId, AZURE_TYPES, AzureStateError, componentType, configKey, nameFromId } from "../shared";
import { blobDatastore } from "./datastore";
import { ModelVersionNumber } from "./modelVersionNumber";

/** Azure ML's default blob datastore, created with every workspace. */
export const DEFAULT_DATASTORE = "workspaceblobstore";

export interface ModelRegistrationArgs {
    /** Subscription of the workspace, part of the model's azureml:// URI. */
    subscriptionId: pulumi.Input<string>;
    /** Resource group of the workspace. */
    resourceGroupName: pulumi.Input<string>;
    /** Workspace to register the model in; an output, so registration waits for the workspace. */
    workspaceName: pulumi.Input<string>;
    /**
     * A local model file to upload and register (name, immutable version, description and tags that change in
     * place), or a model a training run already registered, which is only read.
     */
    model: LocalModel | ExistingModel;
}

/**
 * Uploads a model file to the workspace's default blob datastore and registers it as a model version, the
 * Azure ML v2 way (ModelContainer + ModelVersion with an azureml:// URI). Old versions and their blobs are kept
 * when the version moves on, as Azure ML keeps version history. A model already registered (by a training run)
 * is read instead: nothing is uploaded or registered, and `@latest` resolves at every preview.
 */
export class ModelRegistration extends pulumi.ComponentResource {
    public readonly modelName: pulumi.Output<string>;
    public readonly modelVersion: pulumi.Output<string>;
    public readonly modelUri: pulumi.Output<string>;
    public readonly modelVersionId: pulumi.Output<string>;
    /** sha256 of the model file (as its registration records it; "unrecorded" for one registered without it). */
    public readonly modelSha256: pulumi.Output<string>;

    constructor(name: string, args: ModelRegistrationArgs, opts?: pulumi.ComponentResourceOptions) {
        super(componentType("ml", "ModelRegistration"), name, {}, opts);
        const registered = args.model.existing ? this.read(name, args.model, args) : this.register(name, args.model, args);
        this.modelName = registered.modelName;
        this.modelVersion = registered.modelVersion;
        this.modelUri = registered.modelUri;
        this.modelVersionId = registered.modelVersionId;
        this.modelSha256 = registered.modelSha256;
        this.registerOutputs({
            modelSha256: this.modelSha256,
            modelName: this.modelName,
            modelVersion: this.modelVersion,
            modelUri: this.modelUri,
            modelVersionId: this.modelVersionId,
        });
    }

    private register(name: string, model: LocalModel, args: ModelRegistrationArgs): RegisteredModel {
        const child = { parent: this };
        // Each new version replaces these in state. Protecting them would refuse that replacement; keeping the old
        // ones in Azure is what retainOnDelete does. The model container, protected with the stack, is what stays.
        const retained = { ...child, retainOnDelete: true, protect: false };
        const workspace = { resourceGroupName: args.resourceGroupName, workspaceName: args.workspaceName };

        const blobStore = blobDatastore(workspace, DEFAULT_DATASTORE, this);
        // The content hash in the path: a new model's blobs never overwrite the ones an older version points at.
        const blobPath = `edgeml/models/${model.name}/${model.sha256.slice(0, 12)}/${baseName(model.path)}`;
        // A file is one blob (named as it always was, so existing stacks keep its URN); a folder, one blob per file,
        // each named after its path in the folder, which stays stable as long as the file does.
        const uploads =
            model.kind === "folder"
                ? modelFolderFiles(model.path).map((file) => ({
                      resource: `${name}-file/${file}`,
                      blob: `${blobPath}/${file}`,
                      file: path.join(model.path, file),
                  }))
                : [{ resource: `${name}-file`, blob: blobPath, file: model.path }];
        const blobs = uploads.map(
            (upload) =>
                new storage.Blob(
                    upload.resource,
                    {
                        accountName: blobStore.accountName,
                        containerName: blobStore.containerName,
                        resourceGroupName: blobStore.resourceGroup,
                        blobName: upload.blob,
                        type: storage.BlobType.Block,
                        contentType: upload.file.endsWith(".json") ? "application/json" : "application/octet-stream",
                        source: new pulumi.asset.FileAsset(upload.file),
                    },
                    retained,
                ),
        );

        const container = new machinelearningservices.ModelContainer(
            `${name}-model`,
            { ...workspace, name: model.name, properties: { description: model.description, tags: model.tags } },
            child,
        );
        // The version: as configured, or the next whole number whenever the file's content changes (kept in state).
        const versionNumber =
            model.version ?? new ModelVersionNumber(`${name}-number`, { modelName: model.name, sha256: model.sha256 }, child).version;
        const modelUri = pulumi.interpolate`azureml://subscriptions/${args.subscriptionId}/resourcegroups/${args.resourceGroupName}/workspaces/${args.workspaceName}/datastores/${DEFAULT_DATASTORE}/paths/${pulumi.all(blobs.map((b) => b.name)).apply(() => blobPath)}`;
        const version = new machinelearningservices.ModelVersion(
            `${name}-version`,
            {
                ...workspace,
                name: container.name,
                version: versionNumber,
                properties: {
                    modelType: model.type,
                    modelUri,
                    description: model.description,
                    tags: model.tags,
                    properties: {
                        sha256: model.sha256,
                        framework: model.file.framework,
                        frameworkVersion: model.file.frameworkVersion,
                    },
                },
            },
            retained,
        );

        return {
            modelName: container.name,
            modelVersion: pulumi.all([version.name, versionNumber]).apply(([, number]) => number),
            modelUri,
            modelVersionId: version.id,
            modelSha256: pulumi.output(model.sha256),
        };
    }

    private read(name: string, model: ExistingModel, args: ModelRegistrationArgs): RegisteredModel {
        const child = { parent: this };
        const containerId = pulumi
            .all([args.subscriptionId, args.resourceGroupName, args.workspaceName])
            .apply(([subscription, group, workspace]) =>
                armId(subscription, group, AZURE_TYPES.modelContainer.armType, model.name, { workspaceName: workspace }),
            );
        const versionName =
            model.version === LATEST
                ? machinelearningservices.ModelContainer.get(`${name}-model`, containerId, child).properties.apply((p) => {
                      if (!p.latestVersion)
                          throw new AzureStateError(
                              `the registered model ${model.name} (${configKey(model.configKey)}) has no versions`,
                              this,
                          );
                      return p.latestVersion;
                  })
                : pulumi.output(model.version);
        const version = machinelearningservices.ModelVersion.get(
            `${name}-version`,
            pulumi.interpolate`${containerId}/versions/${versionName}`,
            child,
        );
        return {
            modelName: pulumi.output(model.name),
            modelVersion: version.id.apply(nameFromId),
            modelUri: pulumi.all([version.id, version.properties]).apply(([id, p]) => {
                if (!p.modelUri)
                    throw new AzureStateError(
                        `the registered model ${model.name}:${nameFromId(id)} has no modelUri, so there are no files to deploy`,
                        this,
                    );
                return p.modelUri;
            }),
            modelVersionId: version.id,
            modelSha256: version.properties.apply((p) => p.properties?.sha256 ?? "unrecorded"),
        };
    }
}

interface RegisteredModel {
    modelName: pulumi.Output<string>;
    modelVersion: pulumi.Output<string>;
    modelUri: pulumi.Output<string>;
    modelVersionId: pulumi.Output<string>;
    modelSha256: pulumi.Output<string>;
}

/** The model reference suffix that follows the newest registered version. */
export const LATEST = "latest";
/** A model folder's files, as its sha256 counts them (every file, "/"-separated, in hashing order). */
function modelFolderFiles(folder: string): string[] {
    return describeModelPath(folder).files;
}

function baseName(file: string): string {
    return file.split(/[\\/]/).pop() ?? file;
}
