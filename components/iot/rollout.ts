// Rollout verification: after a manifest is applied, wait until the devices say they run it. In device mode
// that is each device's $edgeAgent twin (lastDesiredVersion caught up, lastDesiredStatus 200, the scoring module
// running the new image); in fleet mode the configuration's system metrics settling, then a twin query for
// devices whose module does not run the image (IoT Hub counts a module in backoff as reporting successfully).
// The watches report where each device stands rather than throwing, so a failed rollout can be rolled back
// knowing which devices acted on it; verifyDevices/verifyConfiguration are the throwing forms.
import type { Registry } from "azure-iothub";
import { RolloutError } from "../shared/errors";
import { withHubRetry } from "./hubRetry";
import { Clock, REAL_CLOCK, RetryPolicy } from "../shared/retry";

export interface VerifySettings {
    enabled: boolean;
    timeoutSeconds: number;
    pollSeconds: number;
    /** The module that must be running, and the image it must run. */
    moduleName: string;
    image: string;
}

interface EdgeAgentReported {
    lastDesiredVersion?: number;
    lastDesiredStatus?: { code?: number; description?: string };
    modules?: Record<string, { runtimeStatus?: string; statusDescription?: string; settings?: { image?: string } }>;
}

/** One device's standing; `caughtUp`: its edgeAgent has acted on the desired version (it is online). */
export type DeviceVerdict =
    | { state: "done"; caughtUp: true }
    | { state: "waiting"; why: string; caughtUp: boolean }
    | { state: "failed"; why: string; caughtUp: true };

/** Judges one device's $edgeAgent twin against the desired version it was given. */
export function judgeEdgeAgent(
    desiredVersion: number,
    reported: EdgeAgentReported,
    verify: Pick<VerifySettings, "moduleName" | "image">,
): DeviceVerdict {
    const caughtUp = (reported.lastDesiredVersion ?? -1) >= desiredVersion;
    if (!caughtUp)
        return {
            state: "waiting",
            caughtUp,
            why: `edgeAgent has not reported desired version ${desiredVersion} yet (last: ${reported.lastDesiredVersion ?? "none"})`,
        };
    const status = reported.lastDesiredStatus ?? {};
    if (status.code !== 200) {
        return {
            state: "failed",
            caughtUp,
            why: `edgeAgent status ${status.code ?? "unknown"}: ${JSON.stringify(status.description ?? "no description")}`,
        };
    }
    const module = reported.modules?.[verify.moduleName];
    if (!module) return { state: "waiting", caughtUp, why: `module ${verify.moduleName} not reported yet` };
    if (module.settings?.image !== undefined && module.settings.image !== verify.image) {
        return { state: "waiting", caughtUp, why: `module ${verify.moduleName} still reports image ${module.settings.image}` };
    }
    if (module.runtimeStatus !== "running") {
        const detail = module.statusDescription ? ` (${JSON.stringify(module.statusDescription)})` : "";
        return { state: "waiting", caughtUp, why: `module ${verify.moduleName} is ${module.runtimeStatus ?? "not reported"}${detail}` };
    }
    return { state: "done", caughtUp };
}

/** Where the devices stand when a device watch ends. */
export interface DeviceWatch {
    ok: boolean;
    /** Devices that run the manifest as verified. */
    confirmed: string[];
    /** Devices whose edgeAgent reported an error (the watch stops at the first poll that finds one). */
    failed: Array<{ deviceId: string; why: string }>;
    /** Devices not confirmed when the watch ended; `caughtUp` false means their edgeAgent never acted on it. */
    pending: Array<{ deviceId: string; why: string; caughtUp: boolean }>;
    /** Time ran out (rather than a device failing). */
    timedOut: boolean;
}

/**
 * Polls every device until all are done, one fails, or time runs out. With `waitFor`, only those devices must be
 * done for the watch to succeed; the others are still polled and reported (a rollback waits for the devices that
 * acted on the failed manifest, and lists the ones that never reported instead of waiting for them).
 */
export async function watchDevices(
    registry: Registry,
    desiredVersions: Record<string, number>,
    verify: VerifySettings,
    retry: RetryPolicy,
    clock: Clock = REAL_CLOCK,
    options: { waitFor?: ReadonlySet<string>; concurrency?: number } = {},
): Promise<DeviceWatch> {
    const { waitFor, concurrency = 16 } = options;
    const deadline = clock.now() + verify.timeoutSeconds * 1000;
    const confirmed: string[] = [];
    let pending = Object.keys(desiredVersions);
    for (;;) {
        // Each poll reads the pending devices' twins, `concurrency` at a time (a fleet-sized burst would be throttled).
        const verdicts = await mapBounded(pending, concurrency, async (deviceId) => {
            const twin = await withHubRetry(`read $edgeAgent of ${deviceId}`, () => registry.getModuleTwin(deviceId, "$edgeAgent"), retry);
            const reported = ((twin.responseBody as { properties?: { reported?: EdgeAgentReported } }).properties?.reported ??
                {}) as EdgeAgentReported;
            return [deviceId, judgeEdgeAgent(desiredVersions[deviceId], reported, verify)] as const;
        });
        for (const [id, verdict] of verdicts) if (verdict.state === "done") confirmed.push(id);
        const failed = verdicts.flatMap(([deviceId, v]) => (v.state === "failed" ? [{ deviceId, why: v.why }] : []));
        const waiting = verdicts.flatMap(([deviceId, v]) =>
            v.state === "waiting" ? [{ deviceId, why: v.why, caughtUp: v.caughtUp }] : [],
        );
        pending = waiting.map((w) => w.deviceId);
        const blocking = waitFor ? waiting.filter((w) => waitFor.has(w.deviceId)) : waiting;
        if (failed.length > 0) return { ok: false, confirmed, failed, pending: waiting, timedOut: false };
        if (blocking.length === 0) return { ok: true, confirmed, failed, pending: waiting, timedOut: false };
        if (clock.now() + verify.pollSeconds * 1000 > deadline) return { ok: false, confirmed, failed, pending: waiting, timedOut: true };
        await clock.sleep(verify.pollSeconds * 1000);
    }
}

/** `map` with at most `limit` calls in flight, results in input order. */
async function mapBounded<T, R>(items: readonly T[], limit: number, map: (item: T) => Promise<R>): Promise<R[]> {
    const results = new Array<R>(items.length);
    let next = 0;
    const worker = async () => {
        for (let i = next++; i < items.length; i = next++) results[i] = await map(items[i]);
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
    return results;
}

/** A failed device watch in words: the failed devices with edgeAgent's reason, or the ones that timed out. */
export function describeDeviceWatch(watch: DeviceWatch, verify: Pick<VerifySettings, "timeoutSeconds">, what = "rollout"): string {
    if (watch.failed.length > 0) return `${what} failed on ${watch.failed.map((f) => `${f.deviceId} (${f.why})`).join("; ")}`;
    return `${what} not confirmed within ${verify.timeoutSeconds}s on ${watch.pending.length} device(s): ${listed(watch.pending.map((p) => `${p.deviceId} (${p.why})`))}`;
}

/** Polls every device until all are done, one fails, or time runs out; names the devices that did not make it. */
export async function verifyDevices(
    registry: Registry,
    desiredVersions: Record<string, number>,
    verify: VerifySettings,
    retry: RetryPolicy,
    clock: Clock = REAL_CLOCK,
): Promise<void> {
    const watch = await watchDevices(registry, desiredVersions, verify, retry, clock);
    if (watch.ok) return;
    const after = watch.timedOut ? ". The manifest was applied; edgeAgent applies it when the device is online." : "";
    throw new RolloutError(`${describeDeviceWatch(watch, verify)}${after}`);
}

export interface SystemMetrics {
    targetedCount?: number;
    appliedCount?: number;
    reportedSuccessfulCount?: number;
    reportedFailedCount?: number;
}

/** How a fleet configuration is verified. */
export interface ConfigurationVerify {
    timeoutSeconds: number;
    pollSeconds: number;
    moduleName: string;
    /** The image the module must run; undefined: any image, as long as it runs. */
    image?: string;
    /**
     * A canary stage: settled once this many devices report success (and none failure, and no reported module is
     * down), whether or not the rest of the ring has reported. Undefined: every device the configuration is applied
     * to must report success.
     */
    minSuccessCount?: number;
    /** Devices not waited for (they never acted on the failed rollout a rollback undoes); still named. */
    optional?: ReadonlySet<string>;
    /**
     * A layer: IoT Hub merges every layer above a device's base deployment, so no device it targets is taken by
     * another one; "Targeted" means not merged (no base deployment there, or one at its priority or above), and
     * such a device is a problem, not a device another configuration serves.
     */
    layered?: boolean;
}

/** Where a fleet configuration stands when its watch ends. */
export interface ConfigurationWatch {
    ok: boolean;
    /** A device reported failure (rather than time running out). */
    failed: boolean;
    timedOut: boolean;
    metrics: SystemMetrics;
    /** Devices that report failure, run the module in a bad state, or (at a timeout) have not reported: at most 10 named. */
    problems: Array<{ deviceId: string; why: string; caughtUp: boolean }>;
}

const MAX_NAMED = 10;
const QUERY_PAGE = 100;
/** Pages read when every applied device must be judged (failure paths only): 50 pages of 100 devices. */
const MAX_JUDGED_PAGES = 50;

/**
 * Waits until a fleet configuration's devices report it (see ConfigurationVerify), one reports failure, or time
 * runs out. Requests per poll do not grow with the fleet while it is healthy: the configuration, plus one query
 * that returns only devices whose module is down, plus (with a higher-priority configuration on some targeted
 * devices, as a canary ring has) one query counting those. Failure paths judge the applied devices' twins to name them.
 */
export async function watchConfiguration(
    registry: Registry,
    configurationId: string,
    verify: ConfigurationVerify,
    retry: RetryPolicy,
    clock: Clock = REAL_CLOCK,
): Promise<ConfigurationWatch> {
    const deadline = clock.now() + verify.timeoutSeconds * 1000;
    const optional = verify.optional ?? new Set<string>();
    for (;;) {
        const metrics = await readMetrics(registry, configurationId, retry);
        const [targeted, applied, succeeded, failed] = [
            metrics.targetedCount ?? 0,
            metrics.appliedCount ?? 0,
            metrics.reportedSuccessfulCount ?? 0,
            metrics.reportedFailedCount ?? 0,
        ];
        if (failed > 0) {
            const problems = await namedProblems(registry, verify, retry, failedDevicesQuery(configurationId));
            return { ok: false, failed: true, timedOut: false, metrics, problems };
        }
        let settled: boolean;
        if (verify.minSuccessCount !== undefined) settled = succeeded >= verify.minSuccessCount;
        else {
            // Devices the configuration targets but another one (higher priority: a canary ring) is applied to.
            const shadowed = applied < targeted && !verify.layered ? await countRows(registry, shadowedQuery(configurationId), retry) : 0;
            settled =
                applied + shadowed === targeted &&
                (succeeded === applied ||
                    (await onlyOptionalUnconfirmed(registry, configurationId, verify, optional, applied - succeeded, retry)));
        }
        let down: ConfigurationWatch["problems"] = [];
        if (settled) {
            down = await moduleDown(registry, configurationId, verify, retry);
            if (down.length === 0) return { ok: true, failed: false, timedOut: false, metrics, problems: [] };
        }
        if (clock.now() + verify.pollSeconds * 1000 > deadline) {
            const problems = down.length > 0 ? down : await unconfirmedDevices(registry, configurationId, verify, retry);
            if (verify.layered && applied < targeted) problems.push(...(await notMerged(registry, configurationId, retry)));
            return { ok: false, failed: false, timedOut: true, metrics, problems };
        }
        await clock.sleep(verify.pollSeconds * 1000);
    }
}

/** A failed configuration watch in words, naming the devices and edgeAgent's reasons. */
export function describeConfigurationWatch(
    configurationId: string,
    watch: ConfigurationWatch,
    verify: Pick<ConfigurationVerify, "timeoutSeconds" | "minSuccessCount">,
): string {
    const m = watch.metrics;
    const counts = `targeted ${m.targetedCount ?? 0}, applied ${m.appliedCount ?? 0}, reporting success ${m.reportedSuccessfulCount ?? 0}, failure ${m.reportedFailedCount ?? 0}`;
    const named = watch.problems.length > 0 ? `: ${listed(watch.problems.map((p) => `${p.deviceId} (${p.why})`))}` : "";
    if (watch.failed)
        return `deployment ${configurationId}: ${m.reportedFailedCount} of ${m.appliedCount ?? 0} device(s) report failure${named}`;
    const wanted = verify.minSuccessCount !== undefined ? `, needs ${verify.minSuccessCount} reporting success` : "";
    return `deployment ${configurationId} not confirmed within ${verify.timeoutSeconds}s (${counts}${wanted})${named}`;
}

/** Waits until every device a fleet configuration applies to has reported, and fails if any reported failure. */
export async function verifyConfiguration(
    registry: Registry,
    configurationId: string,
    verify: ConfigurationVerify,
    retry: RetryPolicy,
    clock: Clock = REAL_CLOCK,
): Promise<SystemMetrics> {
    const watch = await watchConfiguration(registry, configurationId, verify, retry, clock);
    if (!watch.ok) throw new RolloutError(describeConfigurationWatch(configurationId, watch, verify));
    return watch.metrics;
}

async function readMetrics(registry: Registry, configurationId: string, retry: RetryPolicy): Promise<SystemMetrics> {
    const configuration = await withHubRetry(
        `read configuration ${configurationId}`,
        () => registry.getConfiguration(configurationId),
        retry,
    );
    return ((configuration.responseBody as { systemMetrics?: { results?: SystemMetrics } }).systemMetrics?.results ?? {}) as SystemMetrics;
}

/** A property name in a query path: as is when it is an identifier, else in the [[ ]] escape. */
function segment(name: string): string {
    return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? name : `[[${name}]]`;
}

function quoted(value: string): string {
    return `'${value.replace(/'/g, "''")}'`;
}

/** The $edgeAgent twins of the devices a configuration is applied to (what its appliedCount counts). */
function appliedAgents(configurationId: string): string {
    return `SELECT * FROM devices.modules WHERE moduleId = '$edgeAgent' AND configurations.[[${configurationId}]].status = 'Applied'`;
}

/** What reportedFailedCount counts, as twins. */
function failedDevicesQuery(configurationId: string): string {
    return `${appliedAgents(configurationId)} AND properties.desired.$version = properties.reported.lastDesiredVersion AND properties.reported.lastDesiredStatus.code != 200`;
}

function shadowedQuery(configurationId: string): string {
    return `SELECT deviceId FROM devices.modules WHERE moduleId = '$edgeAgent' AND configurations.[[${configurationId}]].status = 'Targeted'`;
}

/** Devices counted as reporting success whose module is not running (the image) it should. */
function moduleDownQuery(configurationId: string, verify: ConfigurationVerify): string {
    const module = `properties.reported.modules.${segment(verify.moduleName)}`;
    const image = verify.image !== undefined ? ` OR ${module}.settings.image != ${quoted(verify.image)}` : "";
    return (
        `${appliedAgents(configurationId)} AND properties.desired.$version = properties.reported.lastDesiredVersion ` +
        `AND properties.reported.lastDesiredStatus.code = 200 AND (${module}.runtimeStatus != 'running'${image})`
    );
}

async function queryPage(
    registry: Registry,
    sql: string,
    pageSize: number,
    retry: RetryPolicy,
    continuationToken?: string,
): Promise<{ rows: unknown[]; next?: string }> {
    return withHubRetry(
        "query device twins",
        async () => {
            const query = registry.createQuery(sql, pageSize);
            const page = continuationToken ? await query.next(continuationToken) : await query.next();
            return { rows: page.result as unknown[], next: query.hasMoreResults ? query.continuationToken : undefined };
        },
        retry,
    );
}

async function countRows(registry: Registry, sql: string, retry: RetryPolicy): Promise<number> {
    let count = 0;
    let token: string | undefined;
    do {
        const page = await queryPage(registry, sql, QUERY_PAGE, retry, token);
        count += page.rows.length;
        token = page.next;
    } while (token);
    return count;
}

interface AgentTwin {
    deviceId: string;
    properties?: { desired?: { $version?: number }; reported?: EdgeAgentReported };
}

function judgeTwin(twin: AgentTwin, verify: ConfigurationVerify): DeviceVerdict {
    return judgeEdgeAgent(twin.properties?.desired?.$version ?? 0, twin.properties?.reported ?? {}, {
        moduleName: verify.moduleName,
        image: verify.image ?? "",
    });
}

async function namedProblems(
    registry: Registry,
    verify: ConfigurationVerify,
    retry: RetryPolicy,
    sql: string,
): Promise<ConfigurationWatch["problems"]> {
    const { rows } = await queryPage(registry, sql, MAX_NAMED, retry);
    return (rows as AgentTwin[]).map((twin) => {
        const verdict = judgeTwin(twin, verify);
        return { deviceId: twin.deviceId, why: verdict.state === "done" ? "reported" : verdict.why, caughtUp: verdict.caughtUp };
    });
}

async function moduleDown(
    registry: Registry,
    configurationId: string,
    verify: ConfigurationVerify,
    retry: RetryPolicy,
): Promise<ConfigurationWatch["problems"]> {
    const problems = await namedProblems(
        registry,
        verify,
        retry,
        moduleDownQuery(configurationId, { ...verify, image: verify.image || undefined }),
    );
    return problems.filter((p) => !verify.optional?.has(p.deviceId));
}

/** Every applied device not confirmed, judged from its twin (failure paths: pages through the fleet). */
export async function unconfirmedDevices(
    registry: Registry,
    configurationId: string,
    verify: ConfigurationVerify,
    retry: RetryPolicy,
): Promise<ConfigurationWatch["problems"]> {
    const problems: ConfigurationWatch["problems"] = [];
    let token: string | undefined;
    let pages = 0;
    do {
        const page = await queryPage(registry, appliedAgents(configurationId), QUERY_PAGE, retry, token);
        for (const twin of page.rows as AgentTwin[]) {
            const verdict = judgeTwin(twin, verify);
            if (verdict.state !== "done") problems.push({ deviceId: twin.deviceId, why: verdict.why, caughtUp: verdict.caughtUp });
        }
        token = page.next;
    } while (token && ++pages < MAX_JUDGED_PAGES);
    return problems;
}

/** A layer's targeted devices IoT Hub did not merge it on: at most MAX_NAMED. */
async function notMerged(registry: Registry, configurationId: string, retry: RetryPolicy): Promise<ConfigurationWatch["problems"]> {
    const { rows } = await queryPage(registry, shadowedQuery(configurationId), MAX_NAMED, retry);
    const why = "targeted, not applied: no base deployment there, or one at the layer's priority or above";
    return (rows as AgentTwin[]).map((twin) => ({ deviceId: twin.deviceId, why, caughtUp: false }));
}

/** Whether the devices not yet reporting success are all ones a rollback does not wait for. */
async function onlyOptionalUnconfirmed(
    registry: Registry,
    configurationId: string,
    verify: ConfigurationVerify,
    optional: ReadonlySet<string>,
    unconfirmed: number,
    retry: RetryPolicy,
): Promise<boolean> {
    if (optional.size === 0 || unconfirmed > optional.size) return false;
    const problems = await unconfirmedDevices(registry, configurationId, verify, retry);
    return problems.every((p) => optional.has(p.deviceId));
}

/** At most MAX_NAMED items, then how many more. */
export function listed(items: string[]): string {
    const shown = items.slice(0, MAX_NAMED).join("; ");
    return items.length > MAX_NAMED ? `${shown}; and ${items.length - MAX_NAMED} more` : shown;
}
