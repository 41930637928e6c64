// Config keys that name existing Azure resources instead of creating them: `<resource group>/<name>`, a bare
// `<name>` in the stack's existing resource group, or a full ARM resource id as the portal shows it; Azure ML's
// config.json for a workspace; `<name>:<version>` or `<name>@latest` for a registered model.
import * as fs from "fs";
import * as path from "path";
import * as names from "./names";
import type { ConfigReader } from "./reader";
import { AZURE_TYPES, configKey, type ExistingResource } from "../shared";

export interface ExistingKind {
    /** What the key names, in messages: "container registry". */
    label: string;
    /** ARM provider namespace and type: "Microsoft.ContainerRegistry/registries". */
    armType: string;
    nameRule: names.NameCheck;
}

export const EXISTING_KINDS = {
    registry: { label: "container registry", armType: AZURE_TYPES.registry.armType, nameRule: names.containerRegistryName },
    iotHub: { label: "IoT Hub", armType: AZURE_TYPES.iotHub.armType, nameRule: names.iotHubName },
    workspace: { label: "Azure ML workspace", armType: AZURE_TYPES.mlWorkspace.armType, nameRule: names.mlWorkspaceName },
    dps: { label: "Device Provisioning Service", armType: AZURE_TYPES.dps.armType, nameRule: names.dpsName },
} satisfies Record<string, ExistingKind>;

/** A registered model the stack deploys without registering anything. */
export interface ExistingModel {
    existing: true;
    name: string;
    /** A version, or "latest": resolved at every preview, so a newly registered version rolls out. */
    version: string;
    configKey: string;
}

const ARM_ID = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/([^/]+\/[^/]+)\/([^/]+)\/?$/i;

/** The existing resource a key names, or undefined when the key is empty (the stack creates the resource). */
export function readExistingResource(
    read: ConfigReader,
    key: string,
    kind: ExistingKind,
    stackGroup: { name: string; existing: boolean },
): ExistingResource | undefined {
    const value = read.string(key).trim();
    if (value === "") return undefined;
    const forms = `<resource group>/<name>, <name> (in ${configKey("existingResourceGroup")}) or the ${kind.label}'s resource id`;
    let ref: Omit<ExistingResource, "existing" | "configKey"> | undefined;
    const arm = ARM_ID.exec(value);
    if (arm) {
        if (arm[3].toLowerCase() !== kind.armType.toLowerCase()) {
            read.problem(key, value, `is the id of a ${arm[3]}, not of a ${kind.label} (${kind.armType})`);
            return undefined;
        }
        ref = { subscriptionId: arm[1], resourceGroupName: arm[2], name: arm[4] };
    } else if (/^[^/]+\/[^/]+$/.test(value)) {
        const [resourceGroupName, name] = value.split("/");
        ref = { resourceGroupName, name };
    } else if (!value.includes("/")) {
        if (!stackGroup.existing) {
            read.problem(
                key,
                value,
                `a bare name means the stack's resource group, which this stack creates (so nothing exists in it yet); write ${forms}`,
            );
            return undefined;
        }
        ref = { resourceGroupName: stackGroup.name, name: value };
    } else {
        read.problem(key, value, `must be ${forms}`);
        return undefined;
    }
    const brokenGroup = names.resourceGroupName(ref.resourceGroupName);
    const brokenName = kind.nameRule(ref.name);
    if (brokenGroup) read.problem(key, value, `resource group "${ref.resourceGroupName}": ${brokenGroup}`);
    if (brokenName) read.problem(key, value, `${kind.label} name "${ref.name}": ${brokenName}`);
    return { existing: true, configKey: key, ...ref };
}

/**
 * Azure ML's config.json (what `Workspace.from_config()` / `MLClient.from_config()` read): a file, or a folder
 * holding config.json or .azureml/config.json, searched the way the SDK does.
 */
export function readWorkspaceConfigFile(read: ConfigReader, key: string, projectDir: string): ExistingResource | undefined {
    const value = read.string(key).trim();
    if (value === "") return undefined;
    const resolved = path.resolve(projectDir, value);
    const candidates = isFolder(resolved)
        ? [path.join(resolved, "config.json"), path.join(resolved, ".azureml", "config.json")]
        : [resolved];
    const file = candidates.find((candidate) => fs.existsSync(candidate) && fs.statSync(candidate).isFile());
    if (!file) {
        read.problem(key, value, `must name Azure ML's config.json or a folder holding it (looked for ${candidates.join(", ")})`);
        return undefined;
    }
    let parsed: unknown;
    try {
        parsed = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch {
        // The parser's message quotes the text; the file is the user's, so only say what is wrong with it.
        read.problem(
            key,
            value,
            `${file} is not valid JSON; Azure ML writes {"subscription_id": ..., "resource_group": ..., "workspace_name": ...}`,
        );
        return undefined;
    }
    const fields = ["subscription_id", "resource_group", "workspace_name"] as const;
    const record = (parsed !== null && typeof parsed === "object" ? parsed : {}) as Record<string, unknown>;
    const missing = fields.filter((field) => typeof record[field] !== "string" || (record[field] as string).trim() === "");
    if (missing.length > 0) {
        read.problem(
            key,
            value,
            `${file} lacks ${missing.join(", ")} (Azure ML's config.json has subscription_id, resource_group and workspace_name)`,
        );
        return undefined;
    }
    const [subscriptionId, resourceGroupName, name] = fields.map((field) => (record[field] as string).trim());
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(subscriptionId)) {
        read.problem(key, value, `${file}: subscription_id "${subscriptionId}" is not a subscription id (a GUID)`);
    }
    const brokenGroup = names.resourceGroupName(resourceGroupName);
    if (brokenGroup) read.problem(key, value, `${file}: resource_group "${resourceGroupName}": ${brokenGroup}`);
    const brokenName = names.mlWorkspaceName(name);
    if (brokenName) read.problem(key, value, `${file}: workspace_name "${name}": ${brokenName}`);
    return { existing: true, configKey: key, subscriptionId, resourceGroupName, name };
}

/** `<name>:<version>` or `<name>@latest`, optionally prefixed `azureml:` as in Azure ML's CLI and YAML. */
export function readExistingModel(read: ConfigReader, key: string): ExistingModel | undefined {
    const value = read.string(key).trim();
    if (value === "") return undefined;
    const match = /^(?:azureml:)?([^:@]+)(?::([^:@]+)|@(latest))$/.exec(value);
    if (!match) {
        read.problem(key, value, "must be <model name>:<version> or <model name>@latest (as in azureml:<name>:<version>)");
        return undefined;
    }
    const [, name, version, latest] = match;
    const brokenName = names.modelName(name);
    if (brokenName) read.problem(key, value, `model name "${name}": ${brokenName}`);
    const brokenVersion = version ? names.registeredModelVersion(version) : undefined;
    if (brokenVersion) read.problem(key, value, `version "${version}": ${brokenVersion}`);
    return { existing: true, configKey: key, name, version: latest ?? version };
}

function isFolder(file: string): boolean {
    return fs.existsSync(file) && fs.statSync(file).isDirectory();
}
