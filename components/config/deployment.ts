// The IoT Edge deployment part of the stack configuration. Read by the config loader like every other key;
// the manifest those keys describe is built and validated here with placeholder credentials and image, so a bad
// route, module name, env name or createOptions fails at preview, naming the key, before anything is sent.
import {
    type CanarySettings,
    DEPLOYMENT_LAYERS,
    DEPLOYMENT_MODES,
    type DeploymentLayer,
    type DeploymentMode,
    HUB_DEPLOYMENT_LIMITS,
} from "../iot/edgeDeploymentProvider";
import {
    ManifestInput,
    ManifestProblem,
    RESTART_POLICIES,
    RestartPolicy,
    TelemetrySource,
    formatProblem,
    validateManifest,
} from "../iot/manifest";
import { configKey } from "../shared";
import { checkEdgeRuntimeVersion } from "./edgeRuntime";

export interface DeploymentConfig {
    mode: DeploymentMode;
    /** Everything the manifest needs except the registry credentials and the image, which come from resources. */
    manifest: Omit<ManifestInput, "registry" | "scoring"> & { scoring: Omit<ManifestInput["scoring"], "image"> };
    targetCondition: string;
    priority: number;
    labels: Record<string, string>;
    metrics: Record<string, string>;
    verify: { enabled: boolean; timeoutSeconds: number; pollSeconds: number };
    concurrency: number;
    /** When verification fails, put the previous deployment back before failing. */
    rollbackOnFailure: boolean;
    /** Fleet mode: the canary stage, when canaryCondition is set. */
    canary?: CanarySettings;
    /** Fleet mode: a complete deployment (base) or a layer on top of a base deployment (manifest.layered then). */
    layer: DeploymentLayer;
    /** Layered: the priority of the base deployment the layer lands on; deploymentPriority must be above it. */
    basePriority: number;
    /** IoT Edge deployments the hub's tier allows (layered ones included): a rollout past it is refused. */
    hubDeploymentLimit: number;
}

/** The reading functions of the config loader that this section uses. */
export interface DeploymentConfigReader {
    string(key: string): string;
    uniqueList(key: string, check: (value: string) => string | undefined): string[];
    oneOf<T extends string>(key: string, allowed: readonly T[]): T;
    integer(key: string, min: number, max: number): number;
    boolean(key: string): boolean;
    keyValueList(key: string): Record<string, string>;
    json(key: string): Record<string, unknown> | undefined;
    problem(key: string, value: string, rule: string): void;
    chosen(key: string): string | undefined;
    /** Allowed, but the user should change it (an out-of-support IoT Edge version). */
    warn(text: string): void;
}

export function readDeploymentConfig(read: DeploymentConfigReader, stack: string): DeploymentConfig {
    const sensorEnabled = read.boolean("simulatedSensor");
    const sensorMessages = read.integer("sensorMessageCount", 1, 1_000_000);
    const edgeRuntimeVersion = read.string("edgeRuntimeVersion");
    const scoringName = read.string("scoringModuleName");
    const telemetryEntries = read.uniqueList("scoringInputFrom", (entry) =>
        TELEMETRY_ENTRY.test(entry) ? undefined : "must be sensor, leafDevices, <module>/<output>, <module>/* or none",
    );
    const runtime = checkEdgeRuntimeVersion(edgeRuntimeVersion);
    if (!runtime.ok) read.problem("edgeRuntimeVersion", edgeRuntimeVersion, runtime.rule);
    else if (runtime.warning) read.warn(`${configKey("edgeRuntimeVersion")} = "${edgeRuntimeVersion}": ${runtime.warning}`);
    const config: DeploymentConfig = {
        mode: read.oneOf("deploymentMode", DEPLOYMENT_MODES),
        manifest: {
            edgeRuntimeVersion,
            scoring: {
                name: scoringName,
                status: "running",
                restartPolicy: read.oneOf<RestartPolicy>("scoringRestartPolicy", RESTART_POLICIES),
                startupOrder: 1,
                env: scoringEnv(read),
                createOptions: scoringCreateOptions(read),
                inputName: read.string("scoringInputName"),
                outputName: read.string("scoringOutputName"),
                desiredProperties: read.json("scoringDesiredProperties"),
            },
            // The sensor stops after MessageCount messages, so a forgotten dev stack does not run up a bill.
            sensor: sensorEnabled
                ? {
                      name: "SimulatedTemperatureSensor",
                      version: edgeRuntimeVersion,
                      startupOrder: 2,
                      env: { MessageCount: sensorMessages },
                  }
                : undefined,
            telemetry: readTelemetrySources(read, telemetryEntries, sensorEnabled, scoringName),
            extraRoutes: read.keyValueList("extraRoutes"),
            storeAndForwardTimeToLiveSecs: read.integer("storeAndForwardTtlSeconds", 60, 7 * 24 * 3600),
        },
        targetCondition: read.string("targetCondition") || `tags.environment='${stack}'`,
        priority: read.integer("deploymentPriority", 0, 2_147_483_647),
        labels: read.keyValueList("deploymentLabels"),
        metrics: read.keyValueList("deploymentMetrics"),
        verify: {
            enabled: read.boolean("verifyRollout"),
            timeoutSeconds: read.integer("rolloutTimeoutSeconds", 10, 3600),
            pollSeconds: read.integer("rolloutPollSeconds", 1, 300),
        },
        concurrency: read.integer("deploymentConcurrency", 1, 64),
        rollbackOnFailure: read.boolean("rollbackOnFailure"),
        layer: "base",
        basePriority: read.integer("basePriority", 0, MAX_PRIORITY),
        // The tier of a hub this stack creates; an existing hub's is Azure's to know, and a paid one's limit is assumed.
        hubDeploymentLimit:
            !read.string("existingIotHub") && read.string("iotHubSku") === "F1" ? HUB_DEPLOYMENT_LIMITS.free : HUB_DEPLOYMENT_LIMITS.paid,
    };
    config.canary = readCanary(read, config.mode, config.priority);
    config.layer = readLayer(read, config);
    config.manifest.layered = config.layer === "layered";
    for (const problem of validateManifest(withPlaceholders(config))) {
        if (problem.field === "telemetry") {
            // Telemetry into the module comes from two keys: name both, so the fix is in the message.
            const fix = `set ${configKey("scoringInputFrom")}, or route into it with ${configKey("extraRoutes")}`;
            read.problem("scoringInputFrom", telemetryEntries.join(", "), `${problem.rule}; ${fix}`);
        } else {
            read.problem(configKeyFor(problem), problem.name, formatProblem(problem));
        }
    }
    return config;
}

/**
 * scoringEnv, with the runtime told which input it reads and which output it answers on (INPUT_NAME, OUTPUT_NAME):
 * the routes use scoringInputName and scoringOutputName, so the module must listen where they deliver.
 */
function scoringEnv(read: DeploymentConfigReader): Record<string, string> {
    const env = read.keyValueList("scoringEnv");
    const wired: Record<string, string> = { INPUT_NAME: read.string("scoringInputName"), OUTPUT_NAME: read.string("scoringOutputName") };
    const keys: Record<string, string> = { INPUT_NAME: "scoringInputName", OUTPUT_NAME: "scoringOutputName" };
    for (const [name, value] of Object.entries(wired)) {
        if (name in env && env[name] !== value)
            read.problem(
                "scoringEnv",
                `${name}=${env[name]}`,
                `the routes deliver to ${configKey(keys[name])} = "${value}": set that key instead`,
            );
    }
    return { ...env, ...wired };
}

/** The port the runtime serves /score on inside the container (scoring/runtime's PORT). */
export const SCORING_PORT = 5001;

/**
 * scoringCreateOptions, with /score published on the device when scoringHostPort asks for it. Not published by
 * default: telemetry reaches the module through edgeHub routes, and other modules call
 * http://<module name>:5001/score on the IoT Edge network without any host port. Published, it is bound to
 * scoringHostAddress (127.0.0.1 unless the user says otherwise), since /score has no authentication.
 */
function scoringCreateOptions(read: DeploymentConfigReader): Record<string, unknown> | undefined {
    const options = read.json("scoringCreateOptions");
    const hostPort = read.integer("scoringHostPort", 0, 65535);
    const address = read.string("scoringHostAddress");
    if (!/^(\d{1,3}(\.\d{1,3}){3}|\[?[0-9a-fA-F:]+\]?)$/.test(address))
        read.problem("scoringHostAddress", address, "must be an IP address of the device to bind /score to, such as 127.0.0.1 or 0.0.0.0");
    if (hostPort === 0) {
        if (read.chosen("scoringHostAddress") !== undefined)
            read.problem("scoringHostAddress", address, `binds nothing unless ${configKey("scoringHostPort")} is set to a port`);
        return options;
    }
    const hostConfig = (options?.HostConfig ?? {}) as Record<string, unknown>;
    if (hostConfig.PortBindings !== undefined) {
        read.problem(
            "scoringHostPort",
            String(hostPort),
            `${configKey("scoringCreateOptions")} has HostConfig.PortBindings of its own: publish the port in one of the two`,
        );
        return options;
    }
    const binding = { HostIp: address.replace(/^\[|\]$/g, ""), HostPort: String(hostPort) };
    return { ...options, HostConfig: { ...hostConfig, PortBindings: { [`${SCORING_PORT}/tcp`]: [binding] } } };
}

const CANARY_KEYS = ["canaryCondition", "canaryPriority", "canaryTimeoutSeconds", "canaryMinSuccessCount"];
const MAX_PRIORITY = 2_147_483_647;

/**
 * The canary stage (fleet mode only): canaryCondition turns it on; its priority (default deploymentPriority + 1)
 * must exceed the fleet's so the ring's devices take it; its own timeout and how many devices must report success.
 */
function readCanary(read: DeploymentConfigReader, mode: DeploymentMode, fleetPriority: number): CanarySettings | undefined {
    const condition = read.string("canaryCondition").trim();
    const priority = read.integer("canaryPriority", 0, MAX_PRIORITY);
    const timeoutSeconds = read.integer("canaryTimeoutSeconds", 10, 3600);
    const minSuccessCount = read.integer("canaryMinSuccessCount", 1, 1_000_000);
    const chosen = CANARY_KEYS.filter((key) => read.chosen(key) !== undefined);
    if (mode !== "fleet") {
        for (const key of chosen) {
            read.problem(
                key,
                read.chosen(key)!,
                `a canary stage needs fleet mode, but ${configKey("deploymentMode")} is "${mode}": set it to fleet, or remove ${configKey(key)}`,
            );
        }
        return undefined;
    }
    if (!condition) {
        for (const key of chosen)
            read.problem(
                key,
                read.chosen(key)!,
                `configures the canary stage, which ${configKey("canaryCondition")} turns on: set it too, or remove ${configKey(key)}`,
            );
        return undefined;
    }
    const explicit = chosen.includes("canaryPriority");
    if (explicit && priority <= fleetPriority) {
        read.problem(
            "canaryPriority",
            String(priority),
            `must exceed ${configKey("deploymentPriority")} (${fleetPriority}), so the ring's devices take the canary deployment`,
        );
    }
    if (!explicit && fleetPriority === MAX_PRIORITY) {
        read.problem(
            "deploymentPriority",
            String(fleetPriority),
            `leaves no higher priority for the canary stage: lower it, or set ${configKey("canaryPriority")}`,
        );
    }
    return { condition, priority: explicit ? priority : fleetPriority + 1, timeoutSeconds, minSuccessCount };
}

/**
 * deploymentLayer (fleet mode only): layered puts the scoring module and its routes on top of a base deployment at
 * basePriority, which deploymentPriority (and so the canary's) must exceed: IoT Hub ignores a layer at or below the
 * base it lands on. A layer defines none of edgeHub's runtime settings, so storeAndForwardTtlSeconds is the base's.
 */
function readLayer(read: DeploymentConfigReader, config: DeploymentConfig): DeploymentLayer {
    const layer = read.oneOf("deploymentLayer", DEPLOYMENT_LAYERS);
    const chosen = (key: string) => read.chosen(key) !== undefined;
    if (layer === "layered" && config.mode !== "fleet") {
        const fix = `set it to fleet, or ${configKey("deploymentLayer")} to base`;
        read.problem(
            "deploymentLayer",
            layer,
            `a layered deployment needs fleet mode, but ${configKey("deploymentMode")} is "${config.mode}": ${fix}`,
        );
        return "base";
    }
    if (layer === "base") {
        if (chosen("basePriority")) {
            const rule = `is the priority of the base deployment a layer lands on, but ${configKey("deploymentLayer")} is "base": set it to layered, or remove ${configKey("basePriority")}`;
            read.problem("basePriority", String(config.basePriority), rule);
        }
        return layer;
    }
    if (!(config.priority > config.basePriority)) {
        const rule = `must be above ${configKey("basePriority")} (${config.basePriority}), the priority of the base deployment the layer lands on: IoT Hub ignores a layer at or below its base`;
        read.problem("deploymentPriority", String(config.priority), rule);
    }
    if (chosen("storeAndForwardTtlSeconds")) {
        const rule = `sets edgeHub's storeAndForwardConfiguration, a runtime setting of the base deployment: a layer (${configKey("deploymentLayer")} layered) defines none, so set it in the base deployment, or remove ${configKey("storeAndForwardTtlSeconds")}`;
        read.problem("storeAndForwardTtlSeconds", read.chosen("storeAndForwardTtlSeconds")!, rule);
    }
    return layer;
}

/** The manifest input with stand-ins for what only resources know, for validation at preview. */
export function withPlaceholders(config: DeploymentConfig): ManifestInput {
    return {
        ...config.manifest,
        registry: { name: "registry", loginServer: "placeholder.azurecr.io", username: "placeholder", password: "placeholder" },
        scoring: { ...config.manifest.scoring, image: `placeholder.azurecr.io/scoring@sha256:${"0".repeat(64)}` },
    };
}

const TELEMETRY_ENTRY = /^(?:sensor|leafDevices|none|[A-Za-z0-9][A-Za-z0-9._-]*\/(?:\*|[A-Za-z0-9_.-]+))$/;

/**
 * `scoringInputFrom`: sensor, leafDevices, <module>/<output> (or <module>/* for all its outputs), or none (only
 * extraRoutes). Empty: the simulated sensor when it is deployed, else downstream (leaf) devices, so a stack without
 * the sensor still scores the telemetry its devices send.
 */
function readTelemetrySources(
    read: DeploymentConfigReader,
    entries: string[],
    sensorEnabled: boolean,
    scoringName: string,
): TelemetrySource[] {
    const value = entries.join(", ");
    if (entries.includes("none") && entries.length > 1) read.problem("scoringInputFrom", value, "none excludes every other source");
    if (entries.includes("sensor") && !sensorEnabled)
        read.problem("scoringInputFrom", value, `routes the simulated sensor, but ${configKey("simulatedSensor")} is false`);
    const chosen = entries.length > 0 ? entries : [sensorEnabled ? "sensor" : "leafDevices"];
    return chosen.flatMap((entry): TelemetrySource[] => {
        // Reported already: a malformed entry, or the sensor without a sensor.
        if (entry === "none" || !TELEMETRY_ENTRY.test(entry) || (entry === "sensor" && !sensorEnabled)) return [];
        if (entry === "sensor" || entry === "leafDevices") return [{ kind: entry }];
        const [module, output] = entry.split("/");
        if (module === scoringName) {
            read.problem("scoringInputFrom", value, `${entry} would route the ${scoringName} module's own output back into its input`);
            return [];
        }
        return [{ kind: "module", module, output }];
    });
}

/** Which setting a manifest problem traces back to. */
function configKeyFor(problem: ManifestProblem): string {
    if (problem.field === "telemetry") return "scoringInputFrom";
    if (problem.kind === "route") return "extraRoutes";
    if (problem.kind === "twin") return "scoringDesiredProperties";
    if (problem.field?.startsWith("env")) return "scoringEnv";
    if (problem.field?.includes("createOptions")) return "scoringCreateOptions";
    return "scoringModuleName";
}
