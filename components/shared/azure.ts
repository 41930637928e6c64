// Resources a stack uses but does not own: named in config, read with `Resource.get` (a "read" step in
// `pulumi preview`, never deleted by `pulumi destroy`), and checked for what this project relies on.
import * as pulumi from "@pulumi/pulumi";
import * as authorization from "@pulumi/azure-native/authorization";

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

/** Azure state that makes a configured resource unusable (an admin user off, a basic-tier hub): no stack trace. */
export class AzureStateError extends pulumi.RunError {
    constructor(message: string) {
        super(message);
        this.name = "AzureStateError";
    }
}

/** `/subscriptions/<sub>/resourceGroups/<rg>/providers/<providerType>/<name>`. */
export function armId(subscriptionId: string, resourceGroupName: string, providerType: string, name: string): string {
    return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroupName}/providers/${providerType}/${name}`;
}

/**
 * The ARM id of an existing resource. The subscription is the deploying identity's unless config named one, and a
 * named one must be that same subscription: invokes such as listRegistryCredentials run against the provider's.
 */
export function existingId(ref: ExistingResource, providerType: string, providerSubscription: pulumi.Input<string>): pulumi.Output<string> {
    return pulumi.output(providerSubscription).apply((current) => {
        if (ref.subscriptionId && ref.subscriptionId.toLowerCase() !== current.toLowerCase()) {
            throw new AzureStateError(
                `edgeml:${ref.configKey} names a resource in subscription ${ref.subscriptionId}, but Pulumi deploys to ` +
                    `subscription ${current}: set azure-native:subscriptionId (or ARM_SUBSCRIPTION_ID) to ${ref.subscriptionId}.`,
            );
        }
        return armId(current, ref.resourceGroupName, providerType, ref.name);
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
