// Pulumi.yaml's config block: the one place defaults are declared. The CLI applies them before the program runs;
// the offline engine applies them the same way, and the config loader compares against them to tell a value the
// user chose from a default (a creation-only setting next to an existing resource is only a conflict if chosen).
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { StackFileError } from "../shared";

/** A key's declared type in Pulumi.yaml: string, integer, boolean or array (with its items' type). */
export interface ConfigType {
    type?: string;
    items?: ConfigType;
    /** The key must be set with `pulumi config set --secret` (a `secure:` value in the stack file). */
    secret?: boolean;
}

export interface ProjectFile {
    name: string;
    /** Fully qualified keys ("edgeml:registrySku") to default values as config text. */
    defaults: Record<string, string>;
    /** Pulumi.yaml's config block as written (keys unqualified): what the CLI type-checks stack values against. */
    types: Record<string, ConfigType>;
}

export function readProjectFile(projectDir: string): ProjectFile {
    const project = readYamlFile(path.join(projectDir, "Pulumi.yaml")) as { name?: unknown; config?: Record<string, unknown> } | undefined;
    if (!project || typeof project.name !== "string") throw new StackFileError(`Pulumi.yaml in ${projectDir} has no project name`);
    const defaults: Record<string, string> = {};
    for (const [key, schema] of Object.entries(project.config ?? {})) {
        if (schema && typeof schema === "object" && "default" in schema) {
            defaults[qualifiedKey(project.name, key)] = configText((schema as { default: unknown }).default);
        }
    }
    return { name: project.name, defaults, types: (project.config ?? {}) as Record<string, ConfigType> };
}

export function readYamlFile(file: string): unknown {
    try {
        return yaml.load(fs.readFileSync(file, "utf8"));
    } catch (error) {
        throw new StackFileError(`cannot read ${path.basename(file)}: ${(error as Error).message}`);
    }
}

/** "registrySku" → "edgeml:registrySku"; keys of other namespaces ("azure-native:location") stay as they are. */
export function qualifiedKey(project: string, key: string): string {
    return key.includes(":") ? key : `${project}:${key}`;
}

/** Config values reach a Pulumi program as strings; lists and objects as JSON text, as the CLI sends them. */
export function configText(value: unknown): string {
    return typeof value === "string" ? value : JSON.stringify(value);
}
