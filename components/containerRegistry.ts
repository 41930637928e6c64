import * as pulumi from "@pulumi/pulumi";
import * as containerregistry from "@pulumi/azure-native/containerregistry";
import type { RegistrySku } from "./config";

export interface ContainerRegistryArgs {
    /** Resource group that holds the stack, so the registry goes away with its environment. */
    resourceGroupName: pulumi.Input<string>;
    /** Region of the stack; keeping the registry near the hub keeps image pulls on one continent. */
    location: pulumi.Input<string>;
    /** Globally unique registry name, validated by the config loader. */
    registryName: string;
    /** Basic for development; Standard or Premium when a fleet pulls at once. */
    sku: RegistrySku;
    /** Ownership tags shown in the portal. */
    tags: Record<string, string>;
}

/**
 * An Azure Container Registry with its admin user on: IoT Edge's edgeAgent pulls module images with a
 * username/password pair (registryCredentials in the deployment manifest), not with Azure AD.
 */
export class ContainerRegistry extends pulumi.ComponentResource {
    public readonly registryName: pulumi.Output<string>;
    public readonly registryId: pulumi.Output<string>;
    public readonly loginServer: pulumi.Output<string>;
    public readonly adminUsername: pulumi.Output<string>;
    public readonly adminPassword: pulumi.Output<string>;

    constructor(name: string, args: ContainerRegistryArgs, opts?: pulumi.ComponentResourceOptions) {
        super("edgeml:registry:ContainerRegistry", name, {}, opts);

        const registry = new containerregistry.Registry(
            `${name}-acr`,
            {
                registryName: args.registryName,
                resourceGroupName: args.resourceGroupName,
                location: args.location,
                sku: { name: args.sku },
                adminUserEnabled: true,
                tags: args.tags,
            },
            { parent: this },
        );
        // Reading the credentials after the registry exists (its name is an output) orders the call after creation.
        const credentials = containerregistry.listRegistryCredentialsOutput(
            { registryName: registry.name, resourceGroupName: args.resourceGroupName },
            { parent: this },
        );

        this.registryName = registry.name;
        this.registryId = registry.id;
        this.loginServer = registry.loginServer;
        this.adminUsername = credentials.apply((c) => required(c.username, "username"));
        this.adminPassword = pulumi.secret(credentials.apply((c) => required(c.passwords?.[0]?.value, "password")));

        this.registerOutputs({
            registryName: this.registryName,
            registryId: this.registryId,
            loginServer: this.loginServer,
            adminUsername: this.adminUsername,
            adminPassword: this.adminPassword,
        });
    }
}

function required(value: string | undefined, what: string): string {
    // Azure returns no credentials when the admin user is off; say so instead of wiring an empty password.
    if (!value) throw new Error(`the registry returned no admin ${what}: is its admin user enabled?`);
    return value;
}
