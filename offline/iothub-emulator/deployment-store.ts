/**
 * Configurations (IoT Edge deployments) and their effect on devices. The service applies deployments
 * asynchronously (minutes); the emulator reconciles right after every change, so tests observe the settled state:
 * each edge device carries the content of the highest-priority base deployment whose target condition it matches
 * (ties go to the most recently created), with the layered deployments that target it merged on top, lowest
 * priority first (ties: the newer last, so it wins), each setting its dotted paths into the module twins ("if two
 * layered deployments have a module or a route with the same name, the layered deployment with the higher priority
 * will be applied": Microsoft, "Understand IoT Edge automatic deployments for single devices or at scale"). A layer
 * needs a base under it and a priority above the base's, or it is not merged ("Any layered deployments targeting a
 * device must have a higher priority than the automatic deployment for that device"). The $edgeAgent twin records
 * `configurations.[[id]].status`, which IoT Hub sets and edgeAgent never reads (Azure/iotedge,
 * doc/reported_states_during_deployment.md): Applied for the base and each merged layer that sets something of
 * $edgeAgent's ("with layered deployments, more than one configuration may be applied"; an empty `"$edgeAgent": {}`
 * shows Targeted, as Microsoft documents), Targeted for the rest. System metrics are the service's own queries, run
 * over the current twins on every read, so they count a layer's devices as they count a base's.
 */
import { isDeepStrictEqual } from "util";
import { DeviceState, DeviceStore } from "./device-store";
import { EtagSource, checkIfMatch } from "./etags";
import { HubError, badRequest, conflict, notFound } from "./hub-errors";
import { Json, JsonObject, isJsonObject } from "./json";
import { desiredPropertiesByModule, isLayeredContent, layerPaths } from "./modules-content";
import { Condition, QuerySyntaxError, matches, parseQuery, parseTargetCondition, runQuery } from "./query-language";
import { deviceTwinJson, twinsFor } from "./twin-views";

/** The parts of a swagger `Configuration` body the store reads (the body is schema-checked before). */
export interface ConfigurationInput {
    id?: string;
    schemaVersion?: string | null;
    labels?: Record<string, string> | null;
    content?: { modulesContent?: JsonObject | null; deviceContent?: JsonObject | null; moduleContent?: JsonObject | null } | null;
    targetCondition?: string | null;
    priority?: number | null;
    metrics?: { queries?: Record<string, string> | null } | null;
}

interface ConfigurationState {
    id: string;
    schemaVersion: string;
    labels: Record<string, string>;
    modulesContent: JsonObject;
    /** A layered deployment (isLayeredContent): merged on top of the device's base deployment. */
    layered: boolean;
    targetCondition: string;
    target: Condition;
    priority: number;
    customQueries: Record<string, string>;
    etag: string;
    createdTimeUtc: string;
    lastUpdatedTimeUtc: string;
    creationOrder: number;
}

// The service's rule for configuration ids: lowercase, digits and a few symbols, at most 128 characters.
const CONFIGURATION_ID = /^[a-z0-9\-:+%_#*?!(),=@;$'.]{1,128}$/;

export class DeploymentStore {
    private readonly configurations = new Map<string, ConfigurationState>();
    private readonly etags = new EtagSource();
    private created = 0;

    constructor(private readonly devices: DeviceStore) {}

    /** Forgets every configuration; etags and creation order start again. */
    clear(): void {
        this.configurations.clear();
        this.etags.reset();
        this.created = 0;
    }

    get(id: string): JsonObject {
        return this.json(this.find(id));
    }

    list(top: number | undefined): JsonObject[] {
        return [...this.configurations.values()].slice(0, top).map((configuration) => this.json(configuration));
    }

    /** PUT /configurations/{id}: create without If-Match, update with it; the content of a deployment never changes. */
    put(id: string, input: ConfigurationInput, ifMatch: string | undefined): { configuration: JsonObject; created: boolean } {
        if (!CONFIGURATION_ID.test(id)) throw badRequest("ArgumentInvalid", `invalid configuration id '${id}'`);
        if (input.id !== undefined && input.id !== id) throw badRequest("ArgumentInvalid", `body id '${input.id}' differs from '${id}'`);
        const modulesContent = readModulesContent(input);
        const targetCondition = input.targetCondition ?? "";
        const target = parseOrReject(() => parseTargetCondition(targetCondition), "InvalidConfigurationTargetCondition", "targetCondition");
        const customQueries = { ...(input.metrics?.queries ?? {}) };
        for (const [name, text] of Object.entries(customQueries)) {
            parseOrReject(() => parseQuery(text), "InvalidConfigurationCustomMetricsQuery", `metric '${name}'`);
        }
        const priority = input.priority ?? 0;
        if (priority < 0) throw badRequest("ArgumentInvalid", "priority must not be negative");

        const existing = this.configurations.get(id);
        if (existing && ifMatch === undefined) {
            throw conflict("ConfigurationAlreadyExists", `Configuration '${id}' already exists`);
        }
        if (!existing && ifMatch !== undefined) throw notFound("ConfigurationNotFound", `Configuration '${id}' not found`);
        if (existing && ifMatch !== undefined) {
            checkIfMatch(existing.etag, ifMatch, `configuration ${id}`);
            if (!isDeepStrictEqual(existing.modulesContent, modulesContent)) {
                throw badRequest("CannotModifyImmutableConfigurationContent", `the content of configuration '${id}' cannot be changed`);
            }
        }
        const now = new Date().toISOString();
        const configuration: ConfigurationState = {
            id,
            schemaVersion: input.schemaVersion ?? "1.0",
            labels: { ...(input.labels ?? {}) },
            modulesContent,
            layered: isLayeredContent(modulesContent),
            targetCondition,
            target,
            priority,
            customQueries,
            etag: this.etags.next(),
            createdTimeUtc: existing?.createdTimeUtc ?? now,
            lastUpdatedTimeUtc: now,
            creationOrder: existing?.creationOrder ?? ++this.created,
        };
        this.configurations.set(id, configuration);
        // Reconcile before answering so the returned systemMetrics already count the devices this change affects.
        this.reconcile();
        return { configuration: this.json(configuration), created: !existing };
    }

    delete(id: string, ifMatch: string | undefined): void {
        const configuration = this.find(id);
        if (ifMatch !== undefined) checkIfMatch(configuration.etag, ifMatch, `configuration ${id}`);
        this.configurations.delete(id);
        this.reconcile();
    }

    /** Brings every edge device in line with the deployments that target it (see the file comment). */
    reconcile(): void {
        for (const device of this.devices.all()) {
            if (device.iotEdge) this.reconcileDevice(device);
        }
    }

    private reconcileDevice(device: DeviceState): void {
        const twin = deviceTwinJson(device);
        const targeting = [...this.configurations.values()]
            .filter((configuration) => matches(configuration.target, twin))
            .sort((a, b) => b.priority - a.priority || b.creationOrder - a.creationOrder);
        const base = targeting.find((configuration) => !configuration.layered);
        const layers = base ? targeting.filter((c) => c.layered && c.priority > base.priority).reverse() : [];
        // Contents never change, so the ids say whether the merged content the twins carry is still this one.
        const applied = base ? [base, ...layers].map((configuration) => configuration.id).join(" ") : undefined;
        if (base && applied !== device.appliedDeployments) this.devices.applyDesired(device, merged(base, layers));
        device.appliedDeployments = applied;
        const edgeAgent = device.modules.get("$edgeAgent");
        if (edgeAgent) {
            const onAgent = (c: ConfigurationState) =>
                c === base || (layers.includes(c) && Object.keys(c.modulesContent.$edgeAgent ?? {}).length > 0);
            edgeAgent.configurations = Object.fromEntries(targeting.map((c) => [c.id, onAgent(c) ? "Applied" : "Targeted"]));
        }
    }

    private find(id: string): ConfigurationState {
        const configuration = this.configurations.get(id);
        if (!configuration) throw notFound("ConfigurationNotFound", `Configuration '${id}' not found`);
        return configuration;
    }

    private json(configuration: ConfigurationState): JsonObject {
        const systemQueries = systemMetricQueries(configuration);
        return {
            id: configuration.id,
            schemaVersion: configuration.schemaVersion,
            labels: { ...configuration.labels },
            content: { modulesContent: structuredClone(configuration.modulesContent), deviceContent: {}, moduleContent: {} },
            contentType: "assignment",
            targetCondition: configuration.targetCondition,
            createdTimeUtc: configuration.createdTimeUtc,
            lastUpdatedTimeUtc: configuration.lastUpdatedTimeUtc,
            priority: configuration.priority,
            systemMetrics: {
                results: {
                    targetedCount: this.count(systemQueries.Targeted),
                    appliedCount: this.count(systemQueries.Applied),
                    reportedSuccessfulCount: this.count(systemQueries["Reporting Successfully"]),
                    reportedFailedCount: this.count(systemQueries["Reporting Failure"]),
                },
                queries: systemQueries,
            },
            metrics: {
                results: Object.fromEntries(Object.entries(configuration.customQueries).map(([name, text]) => [name, this.count(text)])),
                queries: { ...configuration.customQueries },
            },
            etag: configuration.etag,
        };
    }

    private count(queryText: string): number {
        const query = parseQuery(queryText);
        return runQuery(query, twinsFor(query.source, this.devices.all())).length;
    }
}

/** The queries the service reports under systemMetrics for an edge deployment, with the same names. */
function systemMetricQueries(configuration: ConfigurationState): Record<string, string> {
    const targeted = configuration.target.kind === "everything" ? "" : ` and (${configuration.targetCondition})`;
    const applied = `select deviceId from devices.modules where moduleId = '$edgeAgent' and configurations.[[${configuration.id}]].status = 'Applied'`;
    const reporting = `${applied} and properties.desired.$version = properties.reported.lastDesiredVersion`;
    return {
        Targeted: `select deviceId from devices where capabilities.iotEdge = true${targeted}`,
        Applied: applied,
        "Reporting Successfully": `${reporting} and properties.reported.lastDesiredStatus.code = 200`,
        "Reporting Failure": `${reporting} and properties.reported.lastDesiredStatus.code != 200`,
    };
}

/** Each module twin's desired properties: the base's, with each layer's paths set in order. */
function merged(base: ConfigurationState, layers: ConfigurationState[]): Map<string, JsonObject> {
    const desired = new Map([...desiredPropertiesByModule(base.modulesContent)].map(([id, d]) => [id, structuredClone(d)]));
    for (const layer of layers) {
        for (const { moduleId, path, value } of layerPaths(layer.modulesContent)) {
            if (path.length === 0) {
                desired.set(moduleId, structuredClone(value as JsonObject));
                continue;
            }
            let node = desired.get(moduleId) ?? {};
            desired.set(moduleId, node);
            for (const key of path.slice(0, -1)) node = isJsonObject(node[key]) ? (node[key] as JsonObject) : (node[key] = {});
            node[path[path.length - 1]] = structuredClone(value) as Json;
        }
    }
    return desired;
}

function readModulesContent(input: ConfigurationInput): JsonObject {
    const content = input.content ?? {};
    const nonEmpty = (part: JsonObject | null | undefined): boolean => !!part && Object.keys(part).length > 0;
    if (nonEmpty(content.deviceContent) || nonEmpty(content.moduleContent)) {
        throw new HubError(501, "FeatureNotSupported", "emulator models only IoT Edge deployments (content.modulesContent)");
    }
    if (!content.modulesContent || !nonEmpty(content.modulesContent)) {
        throw badRequest("InvalidConfigurationContent", "configuration content.modulesContent is empty");
    }
    if (isLayeredContent(content.modulesContent)) layerPaths(content.modulesContent);
    else desiredPropertiesByModule(content.modulesContent);
    return structuredClone(content.modulesContent);
}

function parseOrReject<T>(parse: () => T, code: string, what: string): T {
    try {
        return parse();
    } catch (error) {
        if (error instanceof QuerySyntaxError) throw badRequest(code, `${what}: ${error.message}`);
        throw error;
    }
}
