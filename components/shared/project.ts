// The project's name is the namespace of its config keys ("edgeml:registrySku") and of its component type tokens
// ("edgeml:registry:ContainerRegistry"): both are derived from this one constant.
import type * as pulumi from "@pulumi/pulumi";

export const PROJECT = "edgeml";

/** "registrySku" → "edgeml:registrySku", as the CLI names the key and as messages must quote it. */
export function configKey(key: string): string {
    return `${PROJECT}:${key}`;
}

/** "<project>:<module>:<Type>", the token `pulumi preview` shows; never change one without an alias. */
export function componentType(module: "registry" | "iot" | "ml" | "image" | "dps", type: string): string {
    return `${PROJECT}:${module}:${type}`;
}

/** A dynamic provider's plain input type as a resource's args: every field, nested ones too, may be an output. */
export type ResourceInputs<T> = { [K in keyof T]: pulumi.Input<pulumi.Unwrap<T[K]>> | pulumi.Input<ResourceInputs<T[K]>> };

/** The token Pulumi gives a dynamic resource registered with (module, type): its URN type. */
export function dynamicResourceType(module: string, type: string): string {
    return `pulumi-nodejs:dynamic/${module}:${type}`;
}
