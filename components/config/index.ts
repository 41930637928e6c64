// Configuration: the one loader that reads and validates every key of a stack, the naming rules it applies, and
// Pulumi.yaml's declared defaults (which the offline engine applies as the CLI does).
export {
    derivedName,
    IMAGE_PLATFORMS,
    IOT_HUB_SKUS,
    loadConfig,
    MODEL_TYPES,
    REGISTRY_SKUS,
    runtimeConfigSource,
    STORAGE_SKUS,
} from "./loader";
export type {
    ConfigSource,
    ImagePlatform,
    IotHubSku,
    LocalModel,
    ModelType,
    NewIotHub,
    NewRegistry,
    NewWorkspace,
    PullToken,
    RegistrySku,
    StackConfig,
    StorageSku,
} from "./loader";
export type { DeploymentConfig } from "./deployment";
export { DEFAULT_CONDA_FILE } from "./scoringModule";
export type { ScoringModule } from "./scoringModule";
export { choosePythonVersion, convertCondaEnvironment, DEFAULT_PYTHON_VERSION, PYTHON_VERSIONS } from "./condaEnvironment";
export type { CondaEnvironment } from "./condaEnvironment";
// The conversion's tables, for the README's.
export { CONDA_DROP_REASONS, CONDA_NOT_PIP, CONDA_PIP_RENAMES, CONDA_PIP_SAME_NAMES } from "./condaPipNames";
export { EXISTING_KINDS } from "./existing";
export { DPS_KEYS, DPS_SKUS, PROVISIONING_MODES } from "./provisioning";
export type { DpsProvisioning, DpsSku, HubProvisioning, NewDps, Provisioning, ProvisioningMode } from "./provisioning";
export type { ExistingKind, ExistingModel } from "./existing";
export * as names from "./names";
export { configText, qualifiedKey, readProjectFile, readYamlFile } from "./projectFile";
export type { ConfigType, ProjectFile } from "./projectFile";
export { describeModelPath } from "./modelFile";
export type { ModelPathInfo } from "./modelFile";
