// The single place that reads and validates stack configuration. Every key is read once, checked, and turned
// into one typed object; any problem stops the program before a resource is registered, so a bad value fails
// at preview with nothing created. Defaults live in Pulumi.yaml's config schema (the CLI applies them, and the
// offline engine does the same), so this file never invents a default of its own.
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as names from "./azureNames";
import { DeploymentConfig, readDeploymentConfig } from "./deploymentConfig";
import { describeModelFile, ModelFileInfo } from "./modelFile";

export const PROJECT = "edgeml";

export const REGISTRY_SKUS = ["Basic", "Standard", "Premium"] as const;
export type RegistrySku = (typeof REGISTRY_SKUS)[number];

// Basic-tier hubs (B1-B3) have no module twins or cloud-to-device messaging, which IoT Edge needs.
export const IOT_HUB_SKUS = ["F1", "S1", "S2", "S3"] as const;
export type IotHubSku = (typeof IOT_HUB_SKUS)[number];
const IOT_HUB_BASIC_SKUS = ["B1", "B2", "B3"];

export const IMAGE_PLATFORMS = ["linux/amd64", "linux/arm64", "linux/arm/v7"] as const;
export type ImagePlatform = (typeof IMAGE_PLATFORMS)[number];

export const STORAGE_SKUS = ["Standard_LRS", "Standard_GRS", "Standard_RAGRS", "Standard_ZRS"] as const;
export type StorageSku = (typeof STORAGE_SKUS)[number];

export interface StackConfig {
    project: string;
    stack: string;
    /** Folder of Pulumi.yaml; the paths below are relative to it, so state is the same on every checkout. */
    projectDir: string;
    location: string;
    /** Tags put on every Azure resource so a portal user can tell which stack owns it. */
    tags: Record<string, string>;
    /** Protect stateful resources from `pulumi destroy` and from replacements. */
    protect: boolean;
    resourceGroup: { name: string; existing: boolean };
    registry: { name: string; sku: RegistrySku };
    iotHub: { name: string; sku: IotHubSku; units: number; partitions: number };
    workspace: {
        name: string;
        storageAccountName: string;
        storageSku: StorageSku;
        keyVaultName: string;
        logAnalyticsName: string;
        insightsName: string;
        logRetentionDays: number;
    };
    edgeDevices: string[];
    /** Twin tags of every device: environment=<stack> plus the configured ones. */
    deviceTags: Record<string, string>;
    model: {
        /** The model file, relative to the project folder; inside the scoring module's build context. */
        path: string;
        name: string;
        /** From config, or derived from the file's content so a changed file is a new version. */
        version: string;
        description: string;
        tags: Record<string, string>;
        file: ModelFileInfo;
    };
    deployment: DeploymentConfig;
    image: {
        /** The scoring module folder, relative to the project folder: the Docker build context. */
        context: string;
        repository: string;
        platform: ImagePlatform;
        baseImage: string;
    };
}

/** Where configuration comes from: the Pulumi runtime under the CLI, the stack file under the offline engine. */
export interface ConfigSource {
    stack: string;
    /** Fully qualified keys ("edgeml:registrySku") to raw string values, as the Pulumi runtime holds them. */
    values: Record<string, string>;
    /** Folder of Pulumi.yaml: relative paths in config are relative to it. */
    projectDir: string;
}

/** A user mistake in configuration: reported as a plain message, without a stack trace. */
export class ConfigError extends pulumi.RunError {
    constructor(
        readonly stack: string,
        readonly problems: string[],
    ) {
        super(`Invalid configuration for stack "${stack}":\n` + problems.map((p) => `  - ${p}`).join("\n"));
        this.name = "ConfigError";
    }
}

export function runtimeConfigSource(): ConfigSource {
    return { stack: pulumi.getStack(), values: pulumi.runtime.allConfig(), projectDir: pulumi.runtime.getRootDirectory() || process.cwd() };
}

export function loadConfig(source: ConfigSource = runtimeConfigSource()): StackConfig {
    const read = new ConfigReader(source);
    const stack = source.stack;
    const prefix = read.string("namePrefix", names.namePrefix);
    const derive = (key: string, suffix: string, check: names.NameCheck, alphanumericOnly = false) =>
        read.name(key, check, derivedName(prefix, stack, suffix, alphanumericOnly));

    const existingResourceGroup = read.string("existingResourceGroup", optional(names.resourceGroupName));
    const hubSku = read.iotHubSku("iotHubSku");
    const config: StackConfig = {
        project: PROJECT,
        stack,
        projectDir: source.projectDir,
        location: read.string("location", names.location),
        tags: { project: PROJECT, stack, "managed-by": "pulumi" },
        protect: read.boolean("protect"),
        resourceGroup: existingResourceGroup
            ? { name: existingResourceGroup, existing: true }
            : { name: read.derivedOnly("existingResourceGroup", names.resourceGroupName, derivedName(prefix, stack, "rg", false)), existing: false },
        registry: {
            name: derive("registryName", "acr", names.containerRegistryName, true),
            sku: read.oneOf("registrySku", REGISTRY_SKUS),
        },
        iotHub: {
            name: derive("iotHubName", "hub", names.iotHubName),
            sku: hubSku,
            // A free hub is one unit with two partitions; S3 units are sold in tens at most.
            units: hubSku === "F1" ? read.integer("iotHubUnits", 1, 1) : read.integer("iotHubUnits", 1, hubSku === "S3" ? 10 : 200),
            partitions: hubSku === "F1" ? read.integer("iotHubPartitions", 2, 2) : read.integer("iotHubPartitions", 2, 128),
        },
        workspace: {
            name: derive("workspaceName", "mlw", names.mlWorkspaceName),
            storageAccountName: derive("storageAccountName", "st", names.storageAccountName, true),
            storageSku: read.oneOf("storageSku", STORAGE_SKUS),
            keyVaultName: derive("keyVaultName", "kv", names.keyVaultName),
            logAnalyticsName: derive("logAnalyticsName", "log", names.logAnalyticsWorkspaceName),
            insightsName: derive("insightsName", "appi", names.applicationInsightsName),
            logRetentionDays: read.integer("logRetentionDays", 30, 730),
        },
        edgeDevices: read.uniqueList("edgeDevices", names.deviceId),
        deviceTags: { environment: stack, ...read.keyValueList("deviceTags") },
        model: readModel(read, source.projectDir),
        deployment: readDeploymentConfig(read, stack),
        image: {
            context: SCORING_DIR,
            repository: read.string("imageRepository", names.imageRepository),
            platform: read.oneOf("imagePlatform", IMAGE_PLATFORMS),
            baseImage: read.string("scoringBaseImage", names.imageReference),
        },
    };
    read.rejectUnknownKeys();
    read.throwIfProblems();
    return config;
}

/** The scoring module's folder, which is also the image's build context. */
export const SCORING_DIR = "scoring";
const MODEL_FILE = `${SCORING_DIR}/model/model.json`;

function readModel(read: ConfigReader, projectDir: string): StackConfig["model"] {
    const modelPath = read.file("modelPath", projectDir);
    // The image carries the model: the Dockerfile copies the model folder of its build context.
    if (modelPath && modelPath !== path.join(projectDir, MODEL_FILE)) {
        read.problem("modelPath", path.relative(projectDir, modelPath), `must be ${MODEL_FILE}, the file the scoring image copies and score.py loads`);
    }
    const file = modelPath ? describeModelFile(modelPath) : { sha256: "", framework: "", frameworkVersion: "" };
    const explicitVersion = read.string("modelVersion", optional(names.modelVersion));
    return {
        path: path.relative(projectDir, modelPath).split(path.sep).join("/"),
        name: read.string("modelName", names.modelName),
        // A content-derived version changes exactly when the file does; Azure ML versions are immutable.
        version: explicitVersion || file.sha256.slice(0, 12),
        description: read.string("modelDescription"),
        tags: read.keyValueList("modelTags"),
        file,
    };
}

/** `<prefix>-<stack>-<suffix>`, or without separators for resources that allow only alphanumerics. */
export function derivedName(prefix: string, stack: string, suffix: string, alphanumericOnly: boolean): string {
    const stackPart = stack.toLowerCase().replace(/[^a-z0-9]+/g, alphanumericOnly ? "" : "-");
    return alphanumericOnly ? `${prefix}${stackPart}${suffix}` : `${prefix}-${stackPart}-${suffix}`;
}

function optional(check: names.NameCheck): names.NameCheck {
    return (value) => (value === "" ? undefined : check(value));
}

/** Reads keys of the project namespace, records which were read, and collects every problem before failing. */
class ConfigReader {
    private readonly problems: string[] = [];
    private readonly readKeys = new Set<string>();

    constructor(private readonly source: ConfigSource) {}

    string(key: string, check?: names.NameCheck): string {
        const value = this.raw(key);
        if (value === undefined) return "";
        const broken = check?.(value);
        if (broken) this.fail(key, value, broken);
        return value;
    }

    /** An explicit name wins; otherwise the derived one, which must satisfy the same rule. */
    name(key: string, check: names.NameCheck, derived: string): string {
        const explicit = this.string(key, optional(check));
        return explicit || this.derivedOnly(key, check, derived);
    }

    /** A name derived from the prefix and stack; `key` is the setting that would override it. */
    derivedOnly(key: string, check: names.NameCheck, derived: string): string {
        const broken = check(derived);
        if (broken) {
            this.problems.push(
                `${this.qualified(key)} is not set and the name derived from ${this.qualified("namePrefix")} and ` +
                    `stack "${this.source.stack}" is "${derived}", which breaks the rule: ${broken}. ` +
                    `Set ${this.qualified(key)} explicitly or shorten the prefix.`,
            );
        }
        return derived;
    }

    oneOf<T extends string>(key: string, allowed: readonly T[]): T {
        const value = this.string(key);
        if (!(allowed as readonly string[]).includes(value)) this.fail(key, value, `must be one of ${allowed.join(", ")}`);
        return value as T;
    }

    iotHubSku(key: string): IotHubSku {
        const value = this.string(key);
        if (IOT_HUB_BASIC_SKUS.includes(value)) {
            this.fail(key, value, `basic-tier hubs have no module twins, which IoT Edge needs; use one of ${IOT_HUB_SKUS.join(", ")}`);
            return "S1";
        }
        return this.oneOf(key, IOT_HUB_SKUS);
    }

    integer(key: string, min: number, max: number): number {
        const value = this.string(key);
        const parsed = Number(value);
        if (!/^-?\d+$/.test(value.trim()) || parsed < min || parsed > max) {
            this.fail(key, value, min === max ? `must be ${min} for this tier` : `must be a whole number from ${min} to ${max}`);
        }
        return parsed;
    }

    boolean(key: string): boolean {
        const value = this.string(key);
        if (value !== "true" && value !== "false") this.fail(key, value, "must be true or false");
        return value === "true";
    }

    /** A list of strings, each checked, no duplicates (Pulumi hands arrays to the program as JSON text). */
    uniqueList(key: string, check: names.NameCheck): string[] {
        const value = this.string(key);
        let parsed: unknown;
        try {
            parsed = value === "" ? [] : JSON.parse(value);
        } catch {
            parsed = undefined;
        }
        if (!Array.isArray(parsed) || parsed.some((item) => typeof item !== "string")) {
            this.fail(key, value, "must be a list of strings");
            return [];
        }
        const items = parsed as string[];
        items.forEach((item, index) => {
            const broken = check(item);
            if (broken) this.fail(`${key}[${index}]`, item, broken);
            if (items.indexOf(item) !== index) this.fail(`${key}[${index}]`, item, "must not repeat an earlier entry");
        });
        return items;
    }

    /** A file that must exist, resolved against the project folder; "" when the key is missing or broken. */
    file(key: string, projectDir: string): string {
        const value = this.string(key);
        if (value === "") return "";
        const resolved = path.resolve(projectDir, value);
        if (!fs.existsSync(resolved) || !fs.statSync(resolved).isFile()) {
            this.fail(key, value, `must name an existing file (looked for ${resolved})`);
            return "";
        }
        return resolved;
    }

    /** `key=value` strings, as Pulumi.yaml's schema has no map type; keys must be unique. */
    keyValueList(key: string): Record<string, string> {
        const entries = this.uniqueList(key, (item) => (/^[^=\s][^=]*=.*$/.test(item) ? undefined : "must look like key=value"));
        const result: Record<string, string> = {};
        entries.forEach((entry, index) => {
            const [name, ...rest] = entry.split("=");
            if (name in result) this.fail(`${key}[${index}]`, entry, `repeats the key "${name}"`);
            result[name] = rest.join("=");
        });
        return result;
    }

    /** A JSON object given as text (Pulumi.yaml's schema has no object type); undefined when empty. */
    json(key: string): Record<string, unknown> | undefined {
        const value = this.string(key);
        if (value.trim() === "") return undefined;
        try {
            const parsed = JSON.parse(value);
            if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
        } catch {
            // reported below
        }
        this.fail(key, value, "must be a JSON object");
        return undefined;
    }

    problem(key: string, value: string, broken: string): void {
        this.fail(key, value, broken);
    }

    rejectUnknownKeys(): void {
        const namespace = `${PROJECT}:`;
        for (const fullKey of Object.keys(this.source.values)) {
            if (!fullKey.startsWith(namespace) || this.readKeys.has(fullKey.slice(namespace.length))) continue;
            const hint = closest(fullKey.slice(namespace.length), [...this.readKeys]);
            this.problems.push(`${fullKey} is not a configuration key of this project${hint ? ` (did you mean ${namespace}${hint}?)` : ""}`);
        }
    }

    throwIfProblems(): void {
        if (this.problems.length > 0) throw new ConfigError(this.source.stack, this.problems);
    }

    private raw(key: string): string | undefined {
        this.readKeys.add(key);
        const value = this.source.values[this.qualified(key)];
        if (value === undefined) {
            this.problems.push(`${this.qualified(key)} is not set (its default is declared in Pulumi.yaml; is the project file intact?)`);
        }
        return value;
    }

    private fail(key: string, value: string, broken: string): void {
        this.problems.push(`${this.qualified(key)} = ${JSON.stringify(value)} is invalid: ${broken}`);
    }

    private qualified(key: string): string {
        return `${PROJECT}:${key}`;
    }
}

/** The known key within edit distance 3 of a misspelt one, for a "did you mean" hint. */
function closest(key: string, known: string[]): string | undefined {
    const distance = (a: string, b: string): number => {
        const row = Array.from({ length: b.length + 1 }, (_, i) => i);
        for (let i = 1; i <= a.length; i++) {
            let diagonal = row[0];
            row[0] = i;
            for (let j = 1; j <= b.length; j++) {
                const above = row[j];
                row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
                diagonal = above;
            }
        }
        return row[b.length];
    };
    const ranked = known.map((k) => ({ k, d: distance(key, k) })).sort((x, y) => x.d - y.d);
    return ranked.length > 0 && ranked[0].d <= 3 ? ranked[0].k : undefined;
}
