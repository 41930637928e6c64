import * as pulumi from "@pulumi/pulumi";
import * as resources from "@pulumi/azure-native/resources";
import type { StackConfig } from "./config";

export interface StackResourceGroup {
    name: pulumi.Output<string>;
    location: pulumi.Output<string>;
}

/**
 * The stack's resource group: created per stack, or an existing one that is only read, so `pulumi destroy`
 * never deletes a group the team owns.
 */
export function stackResourceGroup(config: StackConfig, opts?: pulumi.CustomResourceOptions): StackResourceGroup {
    if (config.resourceGroup.existing) {
        const existing = resources.getResourceGroupOutput({ resourceGroupName: config.resourceGroup.name });
        return { name: existing.name, location: pulumi.output(config.location) };
    }
    const group = new resources.ResourceGroup(
        "resource-group",
        { resourceGroupName: config.resourceGroup.name, location: config.location, tags: config.tags },
        opts,
    );
    return { name: group.name, location: group.location };
}
