// Small lookups over an offline plan, shared by the program and component tests.
import type { OfflinePlan, PlannedResource } from "../../offline/engine";

export function resourceOfType(plan: OfflinePlan, type: string): PlannedResource {
    const matches = plan.resources.filter((r) => r.type === type);
    if (matches.length !== 1) throw new Error(`expected one ${type}, found ${matches.length}`);
    return matches[0];
}

export function resourcesOfType(plan: OfflinePlan, type: string): PlannedResource[] {
    return plan.resources.filter((r) => r.type === type);
}

/** The ARM id the offline engine gives a resource, to check that one resource's input points at another. */
export function armIdOf(resource: PlannedResource, providerPath: string, nameInput: string): string {
    const group = resource.inputs.resourceGroupName;
    return `/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/${group}/providers/${providerPath}/${resource.inputs[nameInput]}`;
}

/** What holds data or identity that a replacement or a destroy would lose: protected in a protected stack. */
export const STATEFUL_TYPES = [
    "azure-native:resources:ResourceGroup",
    "azure-native:containerregistry:Registry",
    "azure-native:iothub:IotHubResource",
    "azure-native:machinelearningservices:Workspace",
    "azure-native:storage:StorageAccount",
    "azure-native:keyvault:Vault",
    "azure-native:operationalinsights:Workspace",
    "azure-native:applicationinsights:Component",
];

/** Resources of a type the stack creates (an existing one is only read). */
export function createdOfType(plan: OfflinePlan, type: string): PlannedResource[] {
    return resourcesOfType(plan, type).filter((r) => r.operation === "create");
}
