/**
 * Configurations (IoT Edge deployments) and their effect on devices. The service applies deployments
 * asynchronously (minutes); the emulator reconciles right after every change, so tests observe the settled state:
 * each edge device carries the content of the highest-priority deployment whose target condition it matches
 * (ties go to the most recently created), and its $edgeAgent twin records `configurations.[[id]].status`.
 * System metrics are the service's own queries, run over the current twins on every read.
 */
import { isDeepStrictEqual } from "util";
import { DeviceState, DeviceStore } from "./device-store";
import { EtagSource, checkIfMatch } from "./etags";
import { HubError, badRequest, conflict, notFound } from "./hub-errors";
import { JsonObject } from "./json";
import { desiredPropertiesByModule } from "./modules-content";
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
        const winner = targeting[0];
        if (winner && winner.id !== device.appliedDeploymentId) this.devices.applyModulesContent(device, winner.modulesContent);
        device.appliedDeploymentId = winner?.id;
        const edgeAgent = device.modules.get("$edgeAgent");
        if (edgeAgent) {
            edgeAgent.configurations = Object.fromEntries(
                targeting.map((configuration) => [configuration.id, configuration === winner ? "Applied" : "Targeted"]),
            );
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

function readModulesContent(input: ConfigurationInput): JsonObject {
    const content = input.content ?? {};
    const nonEmpty = (part: JsonObject | null | undefined): boolean => !!part && Object.keys(part).length > 0;
    if (nonEmpty(content.deviceContent) || nonEmpty(content.moduleContent)) {
        throw new HubError(501, "FeatureNotSupported", "emulator models only IoT Edge deployments (content.modulesContent)");
    }
    if (!content.modulesContent || !nonEmpty(content.modulesContent)) {
        throw badRequest("InvalidConfigurationContent", "configuration content.modulesContent is empty");
    }
    desiredPropertiesByModule(content.modulesContent);
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
