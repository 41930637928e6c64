import * as pulumi from "@pulumi/pulumi";
import * as containerregistry from "@pulumi/azure-native/containerregistry";
import type { NewRegistry } from "../config";
import { AZURE_TYPES, AzureStateError, componentType, configKey, ExistingResource, existingId } from "../shared";

export interface ContainerRegistryArgs {
    /** Resource group that holds the stack, so a new registry goes away with its environment. */
    resourceGroupName: pulumi.Input<string>;
    /** Region of the stack; keeping the registry near the hub keeps image pulls on one continent. */
    location: pulumi.Input<string>;
    /** A registry to create (name and tier validated by the config loader), or an existing one to read. */
    registry: NewRegistry | ExistingResource;
    /** Subscription of the deploying identity, for the existing registry's resource id. */
    subscriptionId: pulumi.Input<string>;
    /** Ownership tags shown in the portal. */
    tags: Record<string, string>;
}

/**
 * An Azure Container Registry with its admin user on, for the image build's push. IoT Edge devices pull with a
 * username/password pair too (registryCredentials in the deployment manifest), but not this one: they get a
 * pull-only token (RegistryPullToken). An existing registry is read, never changed, and must already have its
 * admin user on.
 */
export class ContainerRegistry extends pulumi.ComponentResource {
    public readonly registryName: pulumi.Output<string>;
    public readonly registryId: pulumi.Output<string>;
    /** The registry's own resource group: an existing registry's may differ from the stack's. */
    public readonly resourceGroupName: pulumi.Output<string>;
    public readonly loginServer: pulumi.Output<string>;
    public readonly adminUsername: pulumi.Output<string>;
    public readonly adminPassword: pulumi.Output<string>;

    constructor(name: string, args: ContainerRegistryArgs, opts?: pulumi.ComponentResourceOptions) {
        super(componentType("registry", "ContainerRegistry"), name, {}, opts);
        const spec = args.registry;
        const registry = spec.existing
            ? containerregistry.Registry.get(`${name}-acr`, existingId(spec, AZURE_TYPES.registry.armType, args.subscriptionId, this), {
                  parent: this,
              })
            : new containerregistry.Registry(
                  `${name}-acr`,
                  {
                      registryName: spec.name,
                      resourceGroupName: args.resourceGroupName,
                      location: args.location,
                      sku: { name: spec.sku },
                      adminUserEnabled: true,
                      tags: args.tags,
                  },
                  { parent: this },
              );
        const resourceGroupName = spec.existing ? spec.resourceGroupName : args.resourceGroupName;
        // An existing registry with the admin user off would only fail later, on every device, as "unauthorized".
        // The check runs before the credentials are read and outside the invoke's arguments, so the CLI reports it
        // once, against this component, not as an invoke that failed to serialize.
        const credentials = pulumi.all([registry.name, registry.adminUserEnabled]).apply(([registryName, adminEnabled]) => {
            if (spec.existing && !adminEnabled) throw adminUserOff(spec, registryName, this);
            // Reading the credentials after the registry exists (its name is an output) orders the call after creation.
            return containerregistry.listRegistryCredentialsOutput({ registryName, resourceGroupName }, { parent: this });
        });

        this.registryName = registry.name;
        this.registryId = registry.id;
        this.resourceGroupName = pulumi.output(resourceGroupName);
        this.loginServer = registry.loginServer;
        this.adminUsername = credentials.apply((c) => required(c.username, "username", this));
        this.adminPassword = pulumi.secret(credentials.apply((c) => required(c.passwords?.[0]?.value, "password", this)));

        this.registerOutputs({
            registryName: this.registryName,
            registryId: this.registryId,
            resourceGroupName: this.resourceGroupName,
            loginServer: this.loginServer,
            adminUsername: this.adminUsername,
            adminPassword: this.adminPassword,
        });
    }
}

function adminUserOff(ref: ExistingResource, registryName: string, component: pulumi.Resource): AzureStateError {
    return new AzureStateError(
        `the container registry ${registryName} (${configKey(ref.configKey)}) has its admin user disabled. The scoring image is ` +
            `pushed with the registry's admin username and password, so enable it: ` +
            `az acr update --name ${registryName} --resource-group ${ref.resourceGroupName} --admin-enabled true`,
        component,
    );
}

function required(value: string | undefined, what: string, component: pulumi.Resource): string {
    // Azure returns no credentials when the admin user is off; say so instead of wiring an empty password.
    if (!value) throw new AzureStateError(`the registry returned no admin ${what}: is its admin user enabled?`, component);
    return value;
}
