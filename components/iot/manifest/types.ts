// The shapes going into and coming out of the manifest builder. Plain data only: the EdgeDeployment component
// resolves Pulumi outputs first and hands the values in, so everything here can be tested without an engine.

export const MODULE_STATUSES = ["running", "stopped"] as const;
export type ModuleStatus = (typeof MODULE_STATUSES)[number];

// "on-unhealthy" is accepted by the schema and edgeAgent but has no observable effect (IoT Edge limits doc).
export const RESTART_POLICIES = ["never", "on-failure", "on-unhealthy", "always"] as const;
export type RestartPolicy = (typeof RESTART_POLICIES)[number];

export type EnvValue = string | number | boolean;

/** Docker create options: an object is serialized to JSON; a string is sent as written. */
export type CreateOptions = string | Record<string, unknown>;

/** An edgeHub route: the route text, or with the priority and time-to-live edgeHub schema 1.1+ accepts. */
export type RouteSpec = string | { route: string; priority?: number; timeToLiveSecs?: number };

/** The container registry edgeAgent pulls the scoring image from, and the pull-only credential it pulls with. */
export interface RegistryInput {
    /** Key under registryCredentials; edgeAgent only uses it to tell credential sets apart. */
    name: string;
    /** Registry host, e.g. myacr.azurecr.io: edgeAgent picks the credentials whose address prefixes the image. */
    loginServer: string;
    /** The registry token's name (RegistryPullToken), never the admin user. */
    username: string;
    /** A secret: `redactManifest` removes it before the manifest is written anywhere for review. */
    password: string;
}

export interface ScoringModuleInput {
    /** Module name, also its module identity and twin name in IoT Hub. */
    name: string;
    /** `<loginServer>/<repository>@sha256:<digest>`: a digest names exact content, so a new image is a new manifest. */
    image: string;
    status: ModuleStatus;
    restartPolicy: RestartPolicy;
    /** Lower starts first; edgeHub is 0, unset modules start last in any order. */
    startupOrder?: number;
    env?: Record<string, EnvValue>;
    createOptions?: CreateOptions;
    /** Input the telemetry routes deliver to (the tutorial's amlInput). */
    inputName: string;
    /** Output routed upstream to IoT Hub (the tutorial's amlOutput). */
    outputName: string;
    /** Desired properties of the scoring module's own twin; absent leaves the twin's desired properties alone. */
    desiredProperties?: Record<string, unknown>;
}

/** Microsoft's simulated temperature sensor, the scoring module's test traffic. */
export interface SensorModuleInput {
    name: string;
    /** Tag of mcr.microsoft.com/azureiotedge-simulated-temperature-sensor, e.g. "1.5". */
    version: string;
    startupOrder?: number;
    /** e.g. MessageCount, SendInterval. */
    env?: Record<string, EnvValue>;
}

/**
 * Where the scoring module's input gets telemetry: the simulated sensor's output, messages of downstream (leaf)
 * devices connected to this edge device, or another module's output ("*" for all its outputs).
 */
export type TelemetrySource = { kind: "sensor" } | { kind: "leafDevices" } | { kind: "module"; module: string; output: string };

export interface ManifestInput {
    /** Tag of the edgeAgent and edgeHub images, e.g. "1.5". */
    edgeRuntimeVersion: string;
    registry: RegistryInput;
    scoring: ScoringModuleInput;
    /** Absent: no sensor and no sensor route. */
    sensor?: SensorModuleInput;
    /** Routed into the scoring module's input; absent: the sensor when there is one, else nothing generated. */
    telemetry?: TelemetrySource[];
    /** Routes besides the generated ones, by route name. */
    extraRoutes?: Record<string, RouteSpec>;
    /** How long edgeHub keeps messages it cannot deliver (store and forward); a layer leaves it to the base. */
    storeAndForwardTimeToLiveSecs: number;
    /** A layered deployment: the manifest's layer (layer.ts) is what is sent and validated. */
    layered?: boolean;
}

export interface RegistryCredential {
    username: string;
    password: string;
    address: string;
}

/** `image` plus `createOptions`, `createOptions01`, ... chunks. */
export interface ModuleSettings {
    image: string;
    [createOptionsChunk: string]: string;
}

export interface EdgeModule {
    version?: string;
    type: "docker";
    status: ModuleStatus;
    restartPolicy: RestartPolicy;
    startupOrder?: number;
    env?: Record<string, { value: EnvValue }>;
    settings: ModuleSettings;
}

export interface EdgeAgentDesired {
    schemaVersion: string;
    runtime: {
        type: "docker";
        settings: { minDockerVersion: string; registryCredentials: Record<string, RegistryCredential> };
    };
    systemModules: {
        edgeAgent: { type: "docker"; settings: ModuleSettings };
        edgeHub: { type: "docker"; status: ModuleStatus; restartPolicy: RestartPolicy; settings: ModuleSettings };
    };
    modules: Record<string, EdgeModule>;
}

export interface EdgeHubDesired {
    schemaVersion: string;
    routes: Record<string, RouteSpec>;
    storeAndForwardConfiguration: { timeToLiveSecs: number };
}

export interface TwinContent<Desired> {
    "properties.desired": Desired;
}

/** What IoT Hub's applyConfigurationContent and configurations take as `content`. */
export interface DeploymentManifest {
    modulesContent: {
        $edgeAgent: TwinContent<EdgeAgentDesired>;
        $edgeHub: TwinContent<EdgeHubDesired>;
    } & { [moduleName: string]: TwinContent<object> };
}

/**
 * A layered deployment's content (layer.ts): `$edgeAgent` and `$edgeHub` always present, what they set written as
 * dotted paths (`properties.desired.modules.<name>`, `properties.desired.routes.<name>`) that IoT Hub merges into the
 * base deployment's twins.
 */
export interface LayeredManifest {
    modulesContent: Record<string, Record<string, unknown>>;
}

/** What a deployment sends: a complete manifest (a base deployment, device mode) or a layer. */
export type DeploymentContent = DeploymentManifest | LayeredManifest;
