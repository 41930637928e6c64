// Builds the deployment manifest: edgeAgent's twin (runtime, registry credentials, system modules, the scoring
// module and optionally the simulated sensor), edgeHub's twin (routes, store and forward) and the scoring
// module's own desired properties. Keys are written in a fixed order and caller-supplied maps are sorted, so
// one input always gives byte-identical JSON.
import { sortKeysDeep } from "./canonical";
import { CreateOptionsError, splitCreateOptions } from "./createOptions";
import { manifestError, ManifestProblem } from "./problems";
import type {
    CreateOptions,
    DeploymentManifest,
    EdgeModule,
    EnvValue,
    ManifestInput,
    ModuleSettings,
    RouteSpec,
    ScoringModuleInput,
    SensorModuleInput,
} from "./types";

export const EDGE_AGENT_SCHEMA_VERSION = "1.1";
export const EDGE_HUB_SCHEMA_VERSION = "1.2";
export const SENSOR_ROUTE_NAME = "sensorToScoring";
export const LEAF_DEVICES_ROUTE_NAME = "leafDevicesToScoring";
export const UPSTREAM_ROUTE_NAME = "scoringToUpstream";
/** Messages of downstream devices: edgeHub sets $connectionModuleId only on messages that modules send. */
export const LEAF_DEVICES_CONDITION = "NOT IS_DEFINED($connectionModuleId)";

const MIN_DOCKER_VERSION = "v1.25";
const MODULE_VERSION = "1.0";
const SENSOR_IMAGE = "mcr.microsoft.com/azureiotedge-simulated-temperature-sensor";

/** edgeAgent's image for an IoT Edge version: the deployment's $edgeAgent and the device's config.toml name it. */
export function edgeAgentImage(edgeRuntimeVersion: string): string {
    return `mcr.microsoft.com/azureiotedge-agent:${edgeRuntimeVersion}`;
}
// The sensor's only output, fixed in its code.
const SENSOR_OUTPUT = "temperatureOutput";
// Downstream devices reach edgeHub on 443 (AMQP/MQTT over WebSockets), 5671 (AMQP) and 8883 (MQTT).
const EDGE_HUB_CREATE_OPTIONS = {
    HostConfig: {
        PortBindings: {
            "443/tcp": [{ HostPort: "443" }],
            "5671/tcp": [{ HostPort: "5671" }],
            "8883/tcp": [{ HostPort: "8883" }],
        },
    },
};

/** Throws ManifestError when the input cannot be expressed as a manifest (name clashes, oversized create options). */
export function buildManifest(input: ManifestInput): DeploymentManifest {
    const problems: ManifestProblem[] = [];
    const { scoring, sensor, registry } = input;

    const modules: Record<string, EdgeModule> = { [scoring.name]: scoringModule(scoring, problems) };
    if (sensor && sensor.name === scoring.name) {
        problems.push({ kind: "module", name: sensor.name, rule: "the sensor and the scoring module need different names" });
    } else if (sensor) {
        modules[sensor.name] = sensorModule(sensor, problems);
    }
    const routes = buildRoutes(input, problems);
    const edgeHubSettings = settings(
        "edgeHub",
        `mcr.microsoft.com/azureiotedge-hub:${input.edgeRuntimeVersion}`,
        EDGE_HUB_CREATE_OPTIONS,
        problems,
    );
    if (problems.length > 0) throw manifestError(problems);

    const manifest: DeploymentManifest = {
        modulesContent: {
            $edgeAgent: {
                "properties.desired": {
                    schemaVersion: EDGE_AGENT_SCHEMA_VERSION,
                    runtime: {
                        type: "docker",
                        settings: {
                            minDockerVersion: MIN_DOCKER_VERSION,
                            registryCredentials: {
                                [registry.name]: {
                                    username: registry.username,
                                    password: registry.password,
                                    address: registry.loginServer,
                                },
                            },
                        },
                    },
                    systemModules: {
                        edgeAgent: {
                            type: "docker",
                            settings: { image: edgeAgentImage(input.edgeRuntimeVersion) },
                        },
                        edgeHub: { type: "docker", status: "running", restartPolicy: "always", settings: edgeHubSettings },
                    },
                    modules,
                },
            },
            $edgeHub: {
                "properties.desired": {
                    schemaVersion: EDGE_HUB_SCHEMA_VERSION,
                    routes,
                    storeAndForwardConfiguration: { timeToLiveSecs: input.storeAndForwardTimeToLiveSecs },
                },
            },
        },
    };
    if (scoring.desiredProperties) {
        manifest.modulesContent[scoring.name] = { "properties.desired": sortKeysDeep(scoring.desiredProperties) };
    }
    return manifest;
}

function scoringModule(scoring: ScoringModuleInput, problems: ManifestProblem[]): EdgeModule {
    return {
        version: MODULE_VERSION,
        type: "docker",
        status: scoring.status,
        restartPolicy: scoring.restartPolicy,
        ...(scoring.startupOrder !== undefined && { startupOrder: scoring.startupOrder }),
        ...(scoring.env && { env: toEnv(scoring.env) }),
        settings: settings(scoring.name, scoring.image, scoring.createOptions, problems),
    };
}

function sensorModule(sensor: SensorModuleInput, problems: ManifestProblem[]): EdgeModule {
    return {
        version: MODULE_VERSION,
        type: "docker",
        status: "running",
        restartPolicy: "always",
        ...(sensor.startupOrder !== undefined && { startupOrder: sensor.startupOrder }),
        ...(sensor.env && { env: toEnv(sensor.env) }),
        settings: settings(sensor.name, `${SENSOR_IMAGE}:${sensor.version}`, undefined, problems),
    };
}

function settings(
    moduleName: string,
    image: string,
    createOptions: CreateOptions | undefined,
    problems: ManifestProblem[],
): ModuleSettings {
    if (createOptions === undefined) return { image };
    try {
        return { image, ...splitCreateOptions(createOptions) };
    } catch (error) {
        if (!(error instanceof CreateOptionsError)) throw error;
        problems.push({ kind: "module", name: moduleName, field: "settings.createOptions", rule: error.message });
        return { image };
    }
}

function toEnv(env: Record<string, EnvValue>): Record<string, { value: EnvValue }> {
    const result: Record<string, { value: EnvValue }> = {};
    for (const name of Object.keys(env).sort()) result[name] = { value: env[name] };
    return result;
}

function buildRoutes(input: ManifestInput, problems: ManifestProblem[]): Record<string, RouteSpec> {
    const { scoring, sensor } = input;
    const routes: Record<string, RouteSpec> = {};
    const into = `INTO BrokeredEndpoint("/modules/${scoring.name}/inputs/${scoring.inputName}")`;
    for (const source of input.telemetry ?? (sensor ? [{ kind: "sensor" as const }] : [])) {
        if (source.kind === "sensor") {
            if (!sensor)
                problems.push({
                    kind: "route",
                    name: SENSOR_ROUTE_NAME,
                    field: "telemetry",
                    rule: "routes the simulated sensor, but no sensor is deployed",
                });
            else routes[SENSOR_ROUTE_NAME] = `FROM /messages/modules/${sensor.name}/outputs/${SENSOR_OUTPUT} ${into}`;
        } else if (source.kind === "leafDevices") {
            routes[LEAF_DEVICES_ROUTE_NAME] = `FROM /messages/* WHERE ${LEAF_DEVICES_CONDITION} ${into}`;
        } else {
            const name = `${source.module.replace(/[^A-Za-z0-9]/g, "")}ToScoring`;
            if (source.module === scoring.name) {
                problems.push({
                    kind: "route",
                    name,
                    field: "telemetry",
                    rule: "would route the scoring module's own output back into its input",
                });
            } else {
                routes[name] = `FROM /messages/modules/${source.module}/outputs/${source.output} ${into}`;
            }
        }
    }
    routes[UPSTREAM_ROUTE_NAME] = `FROM /messages/modules/${scoring.name}/outputs/${scoring.outputName} INTO $upstream`;

    const extra = input.extraRoutes ?? {};
    for (const name of Object.keys(extra).sort()) {
        if (Object.hasOwn(routes, name)) {
            problems.push({ kind: "route", name, rule: "this name belongs to a generated route; pick another" });
            continue;
        }
        routes[name] = routeSpec(extra[name]);
    }
    return routes;
}

/** Fixed field order for route objects, whatever order the caller wrote them in. */
function routeSpec(spec: RouteSpec): RouteSpec {
    if (typeof spec === "string") return spec;
    return {
        route: spec.route,
        ...(spec.priority !== undefined && { priority: spec.priority }),
        ...(spec.timeToLiveSecs !== undefined && { timeToLiveSecs: spec.timeToLiveSecs }),
    };
}
