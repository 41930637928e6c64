// Configuration: the one loader that reads and validates every key of a stack, the naming rules it applies, and
// Pulumi.yaml's declared defaults (which the offline engine applies as the CLI does).
export {
    derivedName,
    IMAGE_PLATFORMS,
    IOT_HUB_SKUS,
    loadConfig,
    MODEL_FILE_IN_CONTEXT,
    REGISTRY_SKUS,
    runtimeConfigSource,
    SCORING_DIR,
    STORAGE_SKUS,
} from "./loader";
export type {
    ConfigSource,
    ImagePlatform,
    IotHubSku,
    LocalModel,
    NewIotHub,
    NewRegistry,
    NewWorkspace,
    PullToken,
    RegistrySku,
    StackConfig,
    StorageSku,
} from "./loader";
export type { DeploymentConfig } from "./deployment";
export { EXISTING_KINDS } from "./existing";
export type { ExistingKind, ExistingModel } from "./existing";
export * as names from "./names";
export { configText, qualifiedKey, readProjectFile, readYamlFile } from "./projectFile";
export type { ConfigType, ProjectFile } from "./projectFile";
