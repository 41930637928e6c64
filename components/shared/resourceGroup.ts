import * as pulumi from "@pulumi/pulumi";
import * as resources from "@pulumi/azure-native/resources";
import type { StackConfig } from "../config";

export interface StackResourceGroup {
    name: pulumi.Output<string>;
    location: pulumi.Output<string>;
}

/**
 * The stack's resource group: created per stack, or an existing one that is only read (a `read` step, like every
 * existing resource), so `pulumi destroy` never deletes a group the team owns.
 */
export function stackResourceGroup(
    config: StackConfig,
    subscriptionId: pulumi.Input<string>,
    opts?: pulumi.CustomResourceOptions,
): StackResourceGroup {
    if (config.resourceGroup.existing) {
        const id = pulumi.interpolate`/subscriptions/${subscriptionId}/resourceGroups/${config.resourceGroup.name}`;
        const existing = resources.ResourceGroup.get("resource-group", id);
        return { name: existing.name, location: pulumi.output(config.location) };
    }
    const group = new resources.ResourceGroup(
        "resource-group",
        { resourceGroupName: config.resourceGroup.name, location: config.location, tags: config.tags },
        opts,
    );
    return { name: group.name, location: group.location };
}
