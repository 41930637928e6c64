// The single place that reads and validates stack configuration. Every key is read once, checked, and turned
// into one typed object; any problem stops the program before a resource is registered, so a bad value fails
// at preview with nothing created. Defaults live in Pulumi.yaml's config schema (the CLI applies them, and the
// offline engine does the same), so this file never invents a default of its own.
import { createHash } from "crypto";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as names from "./names";
import { DeploymentConfig, readDeploymentConfig } from "./deployment";
import { describeModelPath, ModelFileInfo, ModelPathInfo } from "./modelFile";
import { readScoringModule, ScoringModule } from "./scoringModule";
import { configKey, PROJECT, type ExistingResource } from "../shared";
import { ConfigReader, ConfigSource, optional } from "./reader";
import { EXISTING_KINDS, ExistingModel, readExistingModel, readExistingResource, readWorkspaceConfigFile } from "./existing";
import { readProjectFile } from "./projectFile";
import { type Provisioning, readProvisioning } from "./provisioning";

export type { ConfigSource };

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

/** Azure ML's model asset types this project registers: any files, or an MLflow model folder (MLmodel at its top). */
export const MODEL_TYPES = ["custom_model", "mlflow_model"] as const;
export type ModelType = (typeof MODEL_TYPES)[number];

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
    /** Each of these is either created by the stack or an existing one it only reads. */
    registry: NewRegistry | ExistingResource;
    /** The registry token devices pull with (its scope map has the same name), created in either kind of registry. */
    pullToken: PullToken;
    iotHub: NewIotHub | ExistingResource;
    workspace: NewWorkspace | ExistingResource;
    edgeDevices: string[];
    /**
     * How devices join the hub: the edgeDevices alone (hub), or also through a Device Provisioning Service enrollment
     * group (dps), whose devices register themselves at their first boot; edgeDevices may be listed with either.
     */
    provisioning: Provisioning;
    /** Twin tags of every device: environment=<stack> plus the configured ones. */
    deviceTags: Record<string, string>;
    /** A local model file or folder to register, or a model a training run already registered. */
    model: LocalModel | ExistingModel;
    /** The user's scoring module: their folder, entry script and conda environment (as pip requirements). */
    scoring: ScoringModule;
    deployment: DeploymentConfig;
    image: {
        repository: string;
        platform: ImagePlatform;
        /**
         * scoringBaseImage, or python:<X.Y>-slim for the conda file's Python (python:3.11-slim when it names none).
         * Empty only when the scoring folder has its own Dockerfile and scoringBaseImage is empty: its FROM decides.
         */
        baseImage: string;
    };
    /** What the configuration chose or changed on the user's behalf (each dropped conda entry, a detected model type). */
    notes: string[];
    /** What could not be checked at preview (the entry script, without python3 on PATH). */
    warnings: string[];
}

export interface NewRegistry {
    existing: false;
    name: string;
    sku: RegistrySku;
}

export interface PullToken {
    /** `<prefix>-<stack>-pull`: unique per stack, as an existing registry may serve several stacks. */
    name: string;
    /** registryPasswordRotation: a new value generates the token's other password and rolls it out. */
    passwordRotation: number;
}

export interface NewIotHub {
    existing: false;
    name: string;
    sku: IotHubSku;
    units: number;
    partitions: number;
}

export interface NewWorkspace {
    existing: false;
    name: string;
    storageAccountName: string;
    storageSku: StorageSku;
    keyVaultName: string;
    logAnalyticsName: string;
    insightsName: string;
    logRetentionDays: number;
}

export interface LocalModel {
    existing: false;
    /** The model file or folder, relative to the project folder ("/"-separated). */
    path: string;
    kind: ModelPathInfo["kind"];
    /** modelType; an MLflow model folder is mlflow_model unless modelType says otherwise. */
    type: ModelType;
    /** The file's sha256, or the folder's (modelFile.ts defines the scheme). */
    sha256: string;
    name: string;
    /** From config (a positive whole number); undefined: numbered 1, 2, ... as the model's content changes. */
    version?: string;
    description: string;
    tags: Record<string, string>;
    /** sha256 (again) and the framework the model names, as the registration records them. */
    file: ModelFileInfo;
}

export function runtimeConfigSource(): ConfigSource {
    return { stack: pulumi.getStack(), values: pulumi.runtime.allConfig(), projectDir: pulumi.runtime.getRootDirectory() || process.cwd() };
}

export function loadConfig(source: ConfigSource = runtimeConfigSource()): StackConfig {
    const read = new ConfigReader(source, readProjectFile(source.projectDir).defaults);
    const stack = source.stack;
    const prefix = read.string("namePrefix", names.namePrefix);
    const derive = (key: string, suffix: string, check: names.NameCheck, alphanumericOnly = false) =>
        read.name(key, check, derivedName(prefix, stack, suffix, alphanumericOnly));
    // An existing resource wins; the keys that would shape a new one must then be left at their defaults.
    const existingOr = <T>(ref: ExistingResource | undefined, creationKeys: string[], create: () => T): T | ExistingResource => {
        if (!ref) return create();
        read.creationOnly(ref.configKey, read.string(ref.configKey), creationKeys);
        return ref;
    };

    const existingResourceGroup = read.string("existingResourceGroup", optional(names.resourceGroupName));
    const resourceGroup = existingResourceGroup
        ? { name: existingResourceGroup, existing: true }
        : {
              name: read.derivedOnly("existingResourceGroup", names.resourceGroupName, derivedName(prefix, stack, "rg", false)),
              existing: false,
          };
    read.exclusive("existingWorkspace", "workspaceConfigFile", "the existing workspace");
    const existingWorkspace =
        readExistingResource(read, "existingWorkspace", EXISTING_KINDS.workspace, resourceGroup) ??
        readWorkspaceConfigFile(read, "workspaceConfigFile", source.projectDir);
    const scoring = readScoringModule(read, source.projectDir);

    const config: StackConfig = {
        project: PROJECT,
        stack,
        projectDir: source.projectDir,
        location: read.string("location", names.location),
        tags: { project: PROJECT, stack, "managed-by": "pulumi" },
        protect: read.boolean("protect"),
        resourceGroup,
        registry: existingOr(
            readExistingResource(read, "existingRegistry", EXISTING_KINDS.registry, resourceGroup),
            ["registryName", "registrySku"],
            () => ({
                existing: false as const,
                name: derive("registryName", "acr", names.containerRegistryName, true),
                sku: read.oneOf("registrySku", REGISTRY_SKUS),
            }),
        ),
        pullToken: readPullToken(read, prefix, stack),
        iotHub: existingOr(
            readExistingResource(read, "existingIotHub", EXISTING_KINDS.iotHub, resourceGroup),
            ["iotHubName", "iotHubSku", "iotHubUnits", "iotHubPartitions"],
            () => readNewIotHub(read, derive("iotHubName", "hub", names.iotHubName)),
        ),
        workspace: existingOr(
            existingWorkspace,
            ["workspaceName", "storageAccountName", "storageSku", "keyVaultName", "logAnalyticsName", "insightsName", "logRetentionDays"],
            () => ({
                existing: false as const,
                name: derive("workspaceName", "mlw", names.mlWorkspaceName),
                storageAccountName: derive("storageAccountName", "st", names.storageAccountName, true),
                storageSku: read.oneOf("storageSku", STORAGE_SKUS),
                keyVaultName: derive("keyVaultName", "kv", names.keyVaultName),
                logAnalyticsName: derive("logAnalyticsName", "log", names.logAnalyticsWorkspaceName),
                insightsName: derive("insightsName", "appi", names.applicationInsightsName),
                logRetentionDays: read.integer("logRetentionDays", 30, 730),
            }),
        ),
        edgeDevices: read.uniqueList("edgeDevices", names.deviceId),
        provisioning: readProvisioning(read, derive, resourceGroup),
        deviceTags: { environment: stack, ...read.keyValueList("deviceTags") },
        model: readModelSource(read, source.projectDir, existingWorkspace !== undefined),
        scoring: scoring.module,
        deployment: readDeploymentConfig(read, stack),
        image: {
            repository: read.string("imageRepository", names.imageRepository),
            platform: read.oneOf("imagePlatform", IMAGE_PLATFORMS),
            baseImage: scoring.baseImage,
        },
        notes: read.notes,
        warnings: read.warnings,
    };
    checkDeviceMode(read, config);
    read.rejectUnknownKeys();
    read.throwIfProblems();
    return config;
}

/**
 * Device mode sends the manifest to each listed device: with none, the rollout would have nowhere to go. Devices
 * enrolled through DPS are never listed (they register themselves at their first boot), so only a fleet deployment,
 * which targets twin tags, reaches them.
 */
function checkDeviceMode(read: ConfigReader, config: StackConfig): void {
    if (config.deployment.mode !== "device") return;
    const dps = config.provisioning.mode === "dps";
    if (config.edgeDevices.length === 0 && dps) {
        read.problem(
            "deploymentMode",
            "device",
            `applies the deployment to each device listed in ${configKey("edgeDevices")}, which lists none, and devices enrolled through ` +
                `the Device Provisioning Service (${configKey("deviceProvisioning")}: dps) are reached by a fleet deployment only: ` +
                `set ${configKey("deploymentMode")} to fleet (or list devices in ${configKey("edgeDevices")})`,
        );
    } else if (config.edgeDevices.length === 0) {
        read.problem(
            "edgeDevices",
            "[]",
            `${configKey("deploymentMode")} is "device", which applies the deployment to each device listed here: list at least one, or set ${configKey("deploymentMode")} to fleet`,
        );
    } else if (dps) {
        read.warn(
            `${configKey("deploymentMode")} is "device": the deployment goes to the devices in ${configKey("edgeDevices")} only, not to ` +
                `those enrolled through the Device Provisioning Service; set ${configKey("deploymentMode")} to fleet to reach them too`,
        );
    }
}

function readPullToken(read: ConfigReader, prefix: string, stack: string): PullToken {
    const name = derivedName(prefix, stack, "pull", false);
    const broken = names.registryTokenName(name);
    // A bad prefix is reported once, by its own rule.
    if (broken && !names.namePrefix(prefix)) {
        const rule = `derives the registry token name "${name}" for stack "${stack}", which breaks the rule: ${broken}; shorten the prefix`;
        read.problem("namePrefix", prefix, rule);
    }
    return { name, passwordRotation: read.integer("registryPasswordRotation", 0, 1_000_000_000) };
}

function readNewIotHub(read: ConfigReader, name: string): NewIotHub {
    const sku = readIotHubSku(read);
    return {
        existing: false,
        name,
        sku,
        // A free hub is one unit with two partitions; S3 units are sold in tens at most.
        units: sku === "F1" ? read.integer("iotHubUnits", 1, 1) : read.integer("iotHubUnits", 1, sku === "S3" ? 10 : 200),
        partitions: sku === "F1" ? read.integer("iotHubPartitions", 2, 2) : read.integer("iotHubPartitions", 2, 128),
    };
}

/** A model already registered (in an existing workspace: a new one holds no models), or the local file. */
function readModelSource(read: ConfigReader, projectDir: string, workspaceExists: boolean): LocalModel | ExistingModel {
    const existing = readExistingModel(read, "existingModel");
    if (!existing) return readModel(read, projectDir);
    read.creationOnly("existingModel", read.string("existingModel"), [
        "modelPath",
        "modelType",
        "modelName",
        "modelVersion",
        "modelDescription",
        "modelTags",
    ]);
    if (!workspaceExists) {
        read.problem(
            "existingModel",
            read.string("existingModel"),
            `names a model registered in an existing workspace, but this stack creates its workspace: set ${configKey("existingWorkspace")} or ${configKey("workspaceConfigFile")} too`,
        );
    }
    return existing;
}

function readModel(read: ConfigReader, projectDir: string): LocalModel {
    const modelPath = read.existingPath("modelPath", projectDir, "file or folder");
    const found = modelPath ? describeModelPath(modelPath) : undefined;
    // Registering an empty folder would succeed and leave init() nothing to load, on every device.
    if (found?.kind === "folder" && found.files.length === 0) {
        read.problem("modelPath", read.string("modelPath"), `is an empty folder (${modelPath}): it must hold the model's files`);
    }
    const file = found ? { sha256: found.sha256, framework: found.framework, frameworkVersion: found.frameworkVersion } : NO_FILE;
    const explicitVersion = read.string("modelVersion", optional(names.modelVersion));
    return {
        existing: false,
        path: path.relative(projectDir, modelPath).split(path.sep).join("/"),
        kind: found?.kind ?? "file",
        type: readModelType(read, found),
        sha256: file.sha256,
        name: read.string("modelName", names.modelName),
        // Azure ML versions are immutable whole numbers: without one in config, ModelRegistration numbers them.
        version: explicitVersion || undefined,
        description: read.string("modelDescription"),
        tags: read.keyValueList("modelTags"),
        file,
    };
}

const NO_FILE: ModelFileInfo = { sha256: "", framework: "", frameworkVersion: "" };

/**
 * modelType as set, except that an MLflow model folder (MLmodel at its top) is registered as mlflow_model while
 * modelType is at its default, custom_model, so Azure ML knows the model's flavors. A value equal to the default reads
 * as the default, so such a folder is always an mlflow_model. mlflow_model needs such a folder.
 */
function readModelType(read: ConfigReader, found: ModelPathInfo | undefined): ModelType {
    const type = read.oneOf("modelType", MODEL_TYPES);
    if (!found) return type;
    const modelPath = read.string("modelPath");
    if (found.mlflow && read.chosen("modelType") === undefined) {
        read.note(`${configKey("modelPath")} ${modelPath} holds an MLmodel file: registered as an MLflow model (modelType mlflow_model)`);
        return "mlflow_model";
    }
    if (type === "mlflow_model" && !found.mlflow) {
        const what = found.kind === "file" ? "a file" : "a folder without an MLmodel file at its top";
        read.problem(
            "modelType",
            type,
            `needs ${configKey("modelPath")} to be an MLflow model folder (MLmodel at its top), but "${modelPath}" is ${what}`,
        );
    }
    return type;
}

function readIotHubSku(read: ConfigReader): IotHubSku {
    const value = read.string("iotHubSku");
    if (IOT_HUB_BASIC_SKUS.includes(value)) {
        read.problem(
            "iotHubSku",
            value,
            `basic-tier hubs have no module twins, which IoT Edge needs; use one of ${IOT_HUB_SKUS.join(", ")}`,
        );
        return "S1";
    }
    return read.oneOf("iotHubSku", IOT_HUB_SKUS);
}

/**
 * `<prefix>-<stack>-<suffix>`, or without separators for resources that allow only alphanumerics. A stack name that
 * does not survive as it is (capitals, `_`, `.`, or any hyphen in an alphanumeric-only name) is followed by 4 hex
 * digits of its sha256, so stacks `ab-cd` and `ab_cd` (or `My.Stack` and `my-stack`) never derive the same global
 * names and take over each other's resources; names of stacks such as `dev` and `prod` stay as they were.
 */
export function derivedName(prefix: string, stack: string, suffix: string, alphanumericOnly: boolean): string {
    let stackPart = stack.toLowerCase().replace(/[^a-z0-9]+/g, alphanumericOnly ? "" : "-");
    // Four hex digits: enough to tell a project's stacks apart, short enough for a key vault's 24 characters.
    if (stackPart !== stack) stackPart += createHash("sha256").update(stack).digest("hex").slice(0, 4);
    return alphanumericOnly ? `${prefix}${stackPart}${suffix}` : `${prefix}-${stackPart}-${suffix}`;
}
