/**
 * Simulated IoT Edge agents (opt-in): devices that act on every deployment at once. Whenever an edge device's
 * `$edgeAgent` desired properties change (applyConfigurationContent, a fleet deployment reaching the device or
 * leaving it, a module twin PATCH), its agent reacts as its rule says, and the deployments' systemMetrics (queries
 * over the twins, evaluated on every read) follow what it reported, as on the service:
 *
 *  - `{ report: "success" }`: what a healthy edgeAgent reports once it has applied them: `lastDesiredVersion` = the
 *    new desired `$version`, `lastDesiredStatus` 200, and each module of the manifest with the image it runs
 *    (`runtimeStatus` as the manifest asks: running unless it says stopped). Modules no longer in the manifest are
 *    removed from the report. Counted as reporting successfully.
 *  - `{ report: "error", code, description }`: the agent could not apply them (default 500 with a description):
 *    `lastDesiredVersion` and that status, modules as they were. Counted as reporting failure.
 *  - `{ report: "backoff", module }`: applied (status 200), but the module (default: every custom module) keeps
 *    crashing: `runtimeStatus` "backoff" with an exit code. Counted as reporting successfully, as IoT Hub does.
 *  - `{ report: "nothing" }`: the device is offline; nothing is reported, and it counts as applied, not reporting.
 *
 * A device targeted by layered deployments acts on the merged desired properties (its base with the layers set into
 * it, deployment-store.ts), as edgeAgent does: it never reads `configurations.[[id]].status`, which IoT Hub sets.
 *
 * `edgeAgents: "report-applied"` makes every device report success; `"silent"` (the default) none, and tests act as
 * the device with `hub.reportEdgeAgent(...)`; `{ default, devices }` gives devices rules of their own (default
 * success), where a rule may be a function of the deployment received (its desired version and module images), so
 * a device can fail on one image and run another. `hub.setEdgeAgent(deviceId, rule)` changes one device's rule
 * later (a device coming online reacts to what it was last sent).
 */
import { DeviceStore } from "./device-store";
import { JsonObject, isJsonObject } from "./json";

/** What one simulated edgeAgent does with a deployment it receives. */
export type EdgeAgentReaction =
    | { report: "success" }
    | { report: "error"; code?: number; description?: string }
    | { report: "backoff"; module?: string }
    | { report: "nothing" };

/** The deployment a device received, as a rule sees it. */
export interface ReceivedDeployment {
    deviceId: string;
    /** The `$edgeAgent` desired `$version` the agent acts on. */
    desiredVersion: number;
    /** Each custom module's image, by module name. */
    images: Record<string, string>;
}

/** A device's behaviour: always the same reaction, or one chosen from the deployment received. */
export type EdgeAgentRule = EdgeAgentReaction | ((deployment: ReceivedDeployment) => EdgeAgentReaction);

/** Rules per device; devices not listed follow `default` (success when left out). */
export interface EdgeAgentPlan {
    default?: EdgeAgentRule;
    devices?: Record<string, EdgeAgentRule>;
}

/** `silent`: no device reports anything by itself (the default); `report-applied`: every device reports success; or a plan. */
export type EdgeAgentBehaviour = "silent" | "report-applied" | EdgeAgentPlan;

export const EDGE_AGENT_BEHAVIOURS: readonly ("silent" | "report-applied")[] = ["silent", "report-applied"];

const REACTIONS = ["success", "error", "backoff", "nothing"];
const SUCCESS: EdgeAgentReaction = { report: "success" };

/** Checks an `edgeAgents` option; the message names what is accepted. */
export function checkEdgeAgentBehaviour(behaviour: EdgeAgentBehaviour): void {
    const accepted = `edgeAgents must be one of ${EDGE_AGENT_BEHAVIOURS.join(", ")}, or a plan { default, devices } of rules`;
    if (typeof behaviour === "string") {
        if (!(EDGE_AGENT_BEHAVIOURS as readonly string[]).includes(behaviour)) throw new Error(accepted);
        return;
    }
    if (!isPlainObject(behaviour)) throw new Error(accepted);
    const rules = [behaviour.default, ...Object.values(behaviour.devices ?? {})];
    for (const rule of rules) if (rule !== undefined) checkRule(rule);
}

export function checkRule(rule: EdgeAgentRule): void {
    if (typeof rule === "function") return;
    if (!isPlainObject(rule) || !REACTIONS.includes((rule as { report?: string }).report ?? "")) {
        throw new Error(`an edgeAgent rule must be a function or { report: ${REACTIONS.join(" | ")} }, got ${JSON.stringify(rule)}`);
    }
}

/** Every device's rule: the option's, with per-device changes made later. */
export class SimulatedAgents {
    private readonly overrides = new Map<string, EdgeAgentRule | undefined>();

    constructor(private readonly behaviour: EdgeAgentBehaviour) {}

    set(deviceId: string, rule: EdgeAgentRule | undefined): void {
        if (rule !== undefined) checkRule(rule);
        this.overrides.set(deviceId, rule);
    }

    clear(): void {
        this.overrides.clear();
    }

    ruleFor(deviceId: string): EdgeAgentRule | undefined {
        if (this.overrides.has(deviceId)) return this.overrides.get(deviceId);
        if (this.behaviour === "silent") return undefined;
        if (this.behaviour === "report-applied") return SUCCESS;
        return this.behaviour.devices?.[deviceId] ?? this.behaviour.default ?? SUCCESS;
    }

    /** Lets every edge device's agent act on its desired properties; devices already caught up are left alone. */
    react(devices: DeviceStore): void {
        for (const device of devices.all()) {
            const agent = device.iotEdge ? device.modules.get("$edgeAgent") : undefined;
            // A desired-properties document without content is a device that never received a deployment.
            if (!agent || Object.keys(agent.twin.desired).length === 0) continue;
            if (agent.twin.reported.lastDesiredVersion === agent.twin.desiredVersion) continue;
            const rule = this.ruleFor(device.deviceId);
            if (!rule) continue;
            const { desired, desiredVersion: version, reported } = agent.twin;
            const reaction =
                typeof rule === "function"
                    ? rule({ deviceId: device.deviceId, desiredVersion: version, images: imagesOf(desired.modules) })
                    : rule;
            const patch = reportFor(reaction, desired, version, reported);
            if (patch) devices.setReported(device.deviceId, "$edgeAgent", patch);
        }
    }
}

/** Lets every edge device's agent catch up with its desired properties as a healthy one (`report-applied`). */
export function reportAppliedDeployments(devices: DeviceStore): void {
    new SimulatedAgents("report-applied").react(devices);
}

/** The reported-properties patch of an agent reacting to `desired` (desired `$version` = `version`), if it reports. */
function reportFor(reaction: EdgeAgentReaction, desired: JsonObject, version: number, reported: JsonObject): JsonObject | undefined {
    switch (reaction.report) {
        case "nothing":
            return undefined;
        case "error":
            return {
                lastDesiredVersion: version,
                lastDesiredStatus: {
                    code: reaction.code ?? 500,
                    description: reaction.description ?? "simulated edgeAgent failure applying the deployment",
                },
            };
        case "backoff": {
            const report = appliedReport(desired, version, reported);
            const modules = report.modules as JsonObject;
            for (const name of Object.keys(modules)) {
                if (modules[name] === null || (reaction.module !== undefined && name !== reaction.module)) continue;
                modules[name] = {
                    ...(modules[name] as JsonObject),
                    runtimeStatus: "backoff",
                    exitCode: 1,
                    statusDescription: "module exited with code 1; restarting with backoff",
                };
            }
            return report;
        }
        default:
            return appliedReport(desired, version, reported);
    }
}

/** The reported-properties patch of an agent that applied `desired` (desired `$version` = `version`). */
function appliedReport(desired: JsonObject, version: number, reported: JsonObject): JsonObject {
    const modules = modulesReport(desired.modules);
    // A merge patch: modules reported before and no longer deployed are removed with null.
    const previous = isJsonObject(reported.modules) ? Object.keys(reported.modules) : [];
    for (const name of previous) if (!(name in modules)) modules[name] = null;
    return {
        lastDesiredVersion: version,
        // description null: a failure's description reported before is removed from the merged report.
        lastDesiredStatus: { code: 200, description: null },
        systemModules: modulesReport(desired.systemModules),
        modules,
    };
}

function modulesReport(modules: unknown): JsonObject {
    if (!isJsonObject(modules)) return {};
    const result: JsonObject = {};
    for (const [name, module] of Object.entries(modules)) {
        const wanted = isJsonObject(module) ? module : {};
        const image = isJsonObject(wanted.settings) ? wanted.settings.image : undefined;
        // settings null: an image reported before is removed, as the report is merged into the previous one;
        // exitCode and statusDescription null: a module that crashed before and runs now reports neither.
        result[name] = {
            runtimeStatus: wanted.status === "stopped" ? "stopped" : "running",
            settings: typeof image === "string" ? { image } : null,
            exitCode: null,
            statusDescription: null,
        };
    }
    return result;
}

function imagesOf(modules: unknown): Record<string, string> {
    if (!isJsonObject(modules)) return {};
    const images: Record<string, string> = {};
    for (const [name, module] of Object.entries(modules)) {
        const settings = isJsonObject(module) ? module.settings : undefined;
        if (isJsonObject(settings) && typeof settings.image === "string") images[name] = settings.image;
    }
    return images;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
    return value !== null && typeof value === "object" && !Array.isArray(value);
}
