import * as pulumi from "@pulumi/pulumi";
import * as applicationinsights from "@pulumi/azure-native/applicationinsights";
import * as authorization from "@pulumi/azure-native/authorization";
import * as keyvault from "@pulumi/azure-native/keyvault";
import * as machinelearningservices from "@pulumi/azure-native/machinelearningservices";
import * as operationalinsights from "@pulumi/azure-native/operationalinsights";
import * as storage from "@pulumi/azure-native/storage";
import type { StorageSku } from "./config";

export interface MlWorkspaceArgs {
    /** Resource group that holds the stack. */
    resourceGroupName: pulumi.Input<string>;
    /** Region of the stack. */
    location: pulumi.Input<string>;
    /** Workspace name, as shown in Azure ML studio. */
    workspaceName: string;
    /** The workspace's default datastore lives here; registered model files are uploaded to it. */
    storageAccountName: string;
    /** Redundancy of that storage: model files are the one artefact a redeploy cannot rebuild. */
    storageSku: StorageSku;
    /** Key vault the workspace keeps its connection secrets in. */
    keyVaultName: string;
    /** Log Analytics workspace that backs Application Insights (classic components are retired). */
    logAnalyticsName: string;
    /** Application Insights component for the workspace's telemetry. */
    insightsName: string;
    /** How long logs are kept. */
    logRetentionDays: number;
    /** ARM id of the container registry the workspace uses for its environments. */
    containerRegistryId: pulumi.Input<string>;
    /** Ownership tags shown in the portal. */
    tags: Record<string, string>;
}

/**
 * An Azure Machine Learning workspace with the storage account, key vault and Application Insights it depends
 * on, linked to the stack's container registry. Its identity is system-assigned so no secret is handed out.
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
        super("edgeml:ml:MlWorkspace", name, {}, opts);
        const common = { resourceGroupName: args.resourceGroupName, location: args.location, tags: args.tags };
        const child = { parent: this };

        const account = new storage.StorageAccount(
            `${name}-storage`,
            {
                ...common,
                accountName: args.storageAccountName,
                kind: storage.Kind.StorageV2,
                sku: { name: args.storageSku },
                // Azure ML's default datastore does not support a hierarchical namespace.
                isHnsEnabled: false,
                allowBlobPublicAccess: false,
                enableHttpsTrafficOnly: true,
                minimumTlsVersion: storage.MinimumTlsVersion.TLS1_2,
            },
            child,
        );

        const client = authorization.getClientConfigOutput(child);
        // RBAC mode: the workspace's identity is granted access by Azure ML itself at creation, and there is no
        // access-policy list for a later `pulumi up` to reset and so lock the workspace out of its own secrets.
        const vault = new keyvault.Vault(
            `${name}-vault`,
            {
                ...common,
                vaultName: args.keyVaultName,
                properties: {
                    tenantId: client.tenantId,
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
                workspaceName: args.logAnalyticsName,
                sku: { name: operationalinsights.WorkspaceSkuNameEnum.PerGB2018 },
                retentionInDays: args.logRetentionDays,
            },
            child,
        );
        const insights = new applicationinsights.Component(
            `${name}-insights`,
            {
                ...common,
                resourceName: args.insightsName,
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
                workspaceName: args.workspaceName,
                friendlyName: args.workspaceName,
                description: "Trains and registers the models that edgeml deploys to IoT Edge devices.",
                identity: { type: machinelearningservices.ManagedServiceIdentityType.SystemAssigned },
                sku: { name: "Basic", tier: machinelearningservices.SkuTier.Basic },
                storageAccount: account.id,
                keyVault: vault.id,
                applicationInsights: insights.id,
                containerRegistry: args.containerRegistryId,
            },
            child,
        );

        this.workspaceName = workspace.name;
        this.workspaceId = workspace.id;
        this.resourceGroupName = pulumi.output(args.resourceGroupName);
        this.storageAccountName = account.name;
        this.storageAccountId = account.id;
        this.keyVaultId = vault.id;
        this.insightsId = insights.id;
        this.principalId = workspace.identity.apply((identity) => identity?.principalId ?? "");
        this.subscriptionId = client.subscriptionId;

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
}
