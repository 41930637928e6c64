// Azure's side of the names: the azure-native types the program declares (token, ARM type, name input, the inputs
// that form its resource path), the ARM ids built from them, and the resources a stack reads instead of creating
// (named in config, read with `Resource.get`: a "read" step in `pulumi preview`, never deleted by `pulumi destroy`).
import * as pulumi from "@pulumi/pulumi";
import * as authorization from "@pulumi/azure-native/authorization";
import { AzureStateError } from "./errors";
import { configKey } from "./project";

export interface AzureType {
    /** The azure-native type token, as in URNs and plans. */
    token: string;
    /** ARM provider namespace and type after /providers/ ("Microsoft.ContainerRegistry/registries"); child types
     * name their parents with `{input}` placeholders filled from the resource's inputs. */
    armType: string;
    /** The input that carries the Azure resource name. */
    nameInput: string;
    /**
     * Inputs that are part of the ARM resource path (resource group, parents' names, its own name): a change to one
     * is a different resource, so azure-native replaces it.
     */
    pathInputs: string[];
}

function azureType(token: string, armType: string, nameInput: string, parentInputs: string[] = []): AzureType {
    return { token, armType, nameInput, pathInputs: ["resourceGroupName", ...parentInputs, nameInput] };
}

/** Every azure-native resource type the program declares or reads; test/plan-diff.test.ts fails on one missing here. */
export const AZURE_TYPES = {
    resourceGroup: {
        token: "azure-native:resources:ResourceGroup",
        armType: "",
        nameInput: "resourceGroupName",
        pathInputs: ["resourceGroupName"],
    },
    registry: azureType("azure-native:containerregistry:Registry", "Microsoft.ContainerRegistry/registries", "registryName"),
    scopeMap: azureType(
        "azure-native:containerregistry:ScopeMap",
        "Microsoft.ContainerRegistry/registries/{registryName}/scopeMaps",
        "scopeMapName",
        ["registryName"],
    ),
    registryToken: azureType(
        "azure-native:containerregistry:Token",
        "Microsoft.ContainerRegistry/registries/{registryName}/tokens",
        "tokenName",
        ["registryName"],
    ),
    iotHub: azureType("azure-native:iothub:IotHubResource", "Microsoft.Devices/IotHubs", "resourceName"),
    dps: azureType(
        "azure-native:deviceprovisioningservices:IotDpsResource",
        "Microsoft.Devices/provisioningServices",
        "provisioningServiceName",
    ),
    storageAccount: azureType("azure-native:storage:StorageAccount", "Microsoft.Storage/storageAccounts", "accountName"),
    keyVault: azureType("azure-native:keyvault:Vault", "Microsoft.KeyVault/vaults", "vaultName"),
    logAnalytics: azureType("azure-native:operationalinsights:Workspace", "Microsoft.OperationalInsights/workspaces", "workspaceName"),
    insights: azureType("azure-native:applicationinsights:Component", "Microsoft.Insights/components", "resourceName"),
    mlWorkspace: azureType(
        "azure-native:machinelearningservices:Workspace",
        "Microsoft.MachineLearningServices/workspaces",
        "workspaceName",
    ),
    modelContainer: azureType(
        "azure-native:machinelearningservices:ModelContainer",
        "Microsoft.MachineLearningServices/workspaces/{workspaceName}/models",
        "name",
        ["workspaceName"],
    ),
    modelVersion: azureType(
        "azure-native:machinelearningservices:ModelVersion",
        "Microsoft.MachineLearningServices/workspaces/{workspaceName}/models/{name}/versions",
        "version",
        ["workspaceName", "name"],
    ),
    blob: azureType(
        "azure-native:storage:Blob",
        "Microsoft.Storage/storageAccounts/{accountName}/blobServices/default/containers/{containerName}/blobs",
        "blobName",
        ["accountName", "containerName"],
    ),
} satisfies Record<string, AzureType>;

/** The table entry of a type token, if the program uses that type. */
export function azureTypeOf(token: string): AzureType | undefined {
    return Object.values(AZURE_TYPES).find((type) => type.token === token);
}

/** `/subscriptions/<sub>/resourceGroups/<rg>`. */
export function resourceGroupId(subscriptionId: string, resourceGroupName: string): string {
    return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroupName}`;
}

/** `/subscriptions/<sub>/resourceGroups/<rg>/providers/<armType>/<name>`; `{input}` placeholders filled from `inputs`. */
export function armId(
    subscriptionId: string,
    resourceGroupName: string,
    armType: string,
    name: string,
    inputs: Record<string, unknown> = {},
): string {
    const type = armType.replace(/\{(\w+)\}/g, (_, input: string) => String(inputs[input]));
    return `${resourceGroupId(subscriptionId, resourceGroupName)}/providers/${type}/${name}`;
}

/** An Azure resource the stack reads instead of creating. */
export interface ExistingResource {
    existing: true;
    resourceGroupName: string;
    name: string;
    /** Set when config named the subscription (an ARM id, or Azure ML's config.json). */
    subscriptionId?: string;
    /** The config key that named it, for messages. */
    configKey: string;
}

/**
 * The ARM id of an existing resource. The subscription is the deploying identity's unless config named one, and a
 * named one must be that same subscription: invokes such as listRegistryCredentials run against the provider's.
 */
export function existingId(
    ref: ExistingResource,
    armType: string,
    providerSubscription: pulumi.Input<string>,
    component: pulumi.Resource,
): pulumi.Output<string> {
    return pulumi.output(providerSubscription).apply((current) => {
        if (ref.subscriptionId && ref.subscriptionId.toLowerCase() !== current.toLowerCase()) {
            throw new AzureStateError(
                `${configKey(ref.configKey)} names a resource in subscription ${ref.subscriptionId}, but Pulumi deploys to ` +
                    `subscription ${current}: set azure-native:subscriptionId (or ARM_SUBSCRIPTION_ID) to ${ref.subscriptionId}.`,
                component,
            );
        }
        return armId(current, ref.resourceGroupName, armType, ref.name);
    });
}

/** The last segment of an ARM id (a storage account id's account name, for instance). */
export function nameFromId(id: string): string {
    return id.split("/").filter(Boolean).pop() ?? "";
}

/** Who deploys, read once per program: ids of existing resources and the key vault's tenant need it. */
export interface DeployingClient {
    subscriptionId: pulumi.Output<string>;
    tenantId: pulumi.Output<string>;
}

export function deployingClient(): DeployingClient {
    const client = authorization.getClientConfigOutput();
    return { subscriptionId: client.subscriptionId, tenantId: client.tenantId };
}
