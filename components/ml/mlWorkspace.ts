import * as pulumi from "@pulumi/pulumi";
import * as applicationinsights from "@pulumi/azure-native/applicationinsights";
import * as keyvault from "@pulumi/azure-native/keyvault";
import * as machinelearningservices from "@pulumi/azure-native/machinelearningservices";
import * as operationalinsights from "@pulumi/azure-native/operationalinsights";
import * as storage from "@pulumi/azure-native/storage";
import type { NewWorkspace } from "../config";
import { AZURE_TYPES, componentType, DeployingClient, ExistingResource, existingId, nameFromId } from "../shared";

export interface MlWorkspaceArgs {
    /** Resource group that holds the stack. */
    resourceGroupName: pulumi.Input<string>;
    /** Region of the stack. */
    location: pulumi.Input<string>;
    /**
     * A workspace to create, with its storage account (the default datastore, where model files go), key vault,
     * Log Analytics and Application Insights; or an existing workspace (a training team's) to read.
     */
    workspace: NewWorkspace | ExistingResource;
    /** ARM id of the container registry a new workspace uses for its environments. */
    containerRegistryId: pulumi.Input<string>;
    /** The deploying identity: its tenant owns the key vault, its subscription holds the workspace. */
    client: DeployingClient;
    /** Ownership tags shown in the portal. */
    tags: Record<string, string>;
}

/** What the rest of the program needs from a workspace, created or read. */
interface WorkspaceParts {
    workspace: machinelearningservices.Workspace;
    resourceGroupName: pulumi.Input<string>;
    storageAccountId: pulumi.Output<string>;
    storageAccountName: pulumi.Output<string>;
    keyVaultId: pulumi.Output<string>;
    insightsId: pulumi.Output<string>;
}

/**
 * An Azure Machine Learning workspace with the storage account, key vault and Application Insights it depends
 * on, linked to the stack's container registry. Its identity is system-assigned so no secret is handed out. An
 * existing workspace is read as it is: its storage, vault and registry are whatever its owners chose.
 */
export class MlWorkspace extends pulumi.ComponentResource {
    public readonly workspaceName: pulumi.Output<string>;
    public readonly workspaceId: pulumi.Output<string>;
    public readonly resourceGroupName: pulumi.Output<string>;
    public readonly storageAccountName: pulumi.Output<string>;
    public readonly storageAccountId: pulumi.Output<string>;
    public readonly keyVaultId: pulumi.Output<string>;
    public readonly insightsId: pulumi.Output<string>;
    public readonly principalId: pulumi.Output<string>;
    /** Subscription of the workspace, for azureml:// URIs. */
    public readonly subscriptionId: pulumi.Output<string>;

    constructor(name: string, args: MlWorkspaceArgs, opts?: pulumi.ComponentResourceOptions) {
        super(componentType("ml", "MlWorkspace"), name, {}, opts);
        const parts = args.workspace.existing ? this.read(name, args.workspace, args.client) : this.create(name, args.workspace, args);
        const workspace = parts.workspace;

        this.workspaceName = workspace.name;
        this.workspaceId = workspace.id;
        this.resourceGroupName = pulumi.output(parts.resourceGroupName);
        this.storageAccountId = parts.storageAccountId;
        this.storageAccountName = parts.storageAccountName;
        this.keyVaultId = parts.keyVaultId;
        this.insightsId = parts.insightsId;
        this.principalId = workspace.identity.apply((identity) => identity?.principalId ?? "");
        this.subscriptionId = args.client.subscriptionId;

        this.registerOutputs({
            workspaceName: this.workspaceName,
            workspaceId: this.workspaceId,
            resourceGroupName: this.resourceGroupName,
            storageAccountName: this.storageAccountName,
            storageAccountId: this.storageAccountId,
            keyVaultId: this.keyVaultId,
            insightsId: this.insightsId,
            principalId: this.principalId,
            subscriptionId: this.subscriptionId,
        });
    }

    private create(name: string, spec: NewWorkspace, args: MlWorkspaceArgs): WorkspaceParts {
        const common = { resourceGroupName: args.resourceGroupName, location: args.location, tags: args.tags };
        const child = { parent: this };

        const account = new storage.StorageAccount(
            `${name}-storage`,
            {
                ...common,
                accountName: spec.storageAccountName,
                kind: storage.Kind.StorageV2,
                sku: { name: spec.storageSku },
                // Azure ML's default datastore does not support a hierarchical namespace.
                isHnsEnabled: false,
                allowBlobPublicAccess: false,
                enableHttpsTrafficOnly: true,
                minimumTlsVersion: storage.MinimumTlsVersion.TLS1_2,
            },
            // Hierarchical namespace is set at creation (turning it on is a one-way account upgrade, not an update).
            { ...child, replaceOnChanges: ["isHnsEnabled"] },
        );

        // RBAC mode: the workspace's identity is granted access by Azure ML itself at creation, and there is no
        // access-policy list for a later `pulumi up` to reset and so lock the workspace out of its own secrets.
        const vault = new keyvault.Vault(
            `${name}-vault`,
            {
                ...common,
                vaultName: spec.keyVaultName,
                properties: {
                    tenantId: args.client.tenantId,
                    sku: { family: keyvault.SkuFamily.A, name: keyvault.SkuName.Standard },
                    enableRbacAuthorization: true,
                    enableSoftDelete: true,
                    softDeleteRetentionInDays: 7,
                },
            },
            child,
        );

        const logs = new operationalinsights.Workspace(
            `${name}-logs`,
            {
                ...common,
                workspaceName: spec.logAnalyticsName,
                sku: { name: operationalinsights.WorkspaceSkuNameEnum.PerGB2018 },
                retentionInDays: spec.logRetentionDays,
            },
            child,
        );
        const insights = new applicationinsights.Component(
            `${name}-insights`,
            {
                ...common,
                resourceName: spec.insightsName,
                kind: "web",
                applicationType: applicationinsights.ApplicationType.Web,
                ingestionMode: applicationinsights.IngestionMode.LogAnalytics,
                workspaceResourceId: logs.id,
            },
            child,
        );

        const workspace = new machinelearningservices.Workspace(
            `${name}-workspace`,
            {
                ...common,
                workspaceName: spec.name,
                friendlyName: spec.name,
                description: "Trains and registers the models that edgeml deploys to IoT Edge devices.",
                identity: { type: machinelearningservices.ManagedServiceIdentityType.SystemAssigned },
                sku: { name: "Basic", tier: machinelearningservices.SkuTier.Basic },
                storageAccount: account.id,
                keyVault: vault.id,
                applicationInsights: insights.id,
                containerRegistry: args.containerRegistryId,
            },
            // A workspace keeps the storage account and key vault it was created with (Azure ML refuses changing them).
            { ...child, replaceOnChanges: ["storageAccount", "keyVault"] },
        );
        return {
            workspace,
            resourceGroupName: args.resourceGroupName,
            storageAccountId: account.id,
            storageAccountName: account.name,
            keyVaultId: vault.id,
            insightsId: insights.id,
        };
    }

    private read(name: string, ref: ExistingResource, client: DeployingClient): WorkspaceParts {
        const workspace = machinelearningservices.Workspace.get(
            `${name}-workspace`,
            existingId(ref, AZURE_TYPES.mlWorkspace.armType, client.subscriptionId, this),
            { parent: this },
        );
        return {
            workspace,
            resourceGroupName: ref.resourceGroupName,
            storageAccountId: workspace.storageAccount.apply((id) => id ?? ""),
            storageAccountName: workspace.storageAccount.apply((id) => nameFromId(id ?? "")),
            keyVaultId: workspace.keyVault.apply((id) => id ?? ""),
            insightsId: workspace.applicationInsights.apply((id) => id ?? ""),
        };
    }
}
