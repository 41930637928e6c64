// Rollout verification: after a manifest is applied, wait until the devices say they run it. In device mode
// that is each device's $edgeAgent twin (lastDesiredVersion caught up, lastDesiredStatus 200, the scoring module
// running the new image); in fleet mode the configuration's system metrics settling.
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
    modules?: Record<string, { runtimeStatus?: string; settings?: { image?: string } }>;
}

type DeviceVerdict = { state: "done" } | { state: "waiting"; why: string } | { state: "failed"; why: string };

/** Judges one device's $edgeAgent twin against the desired version it was given. */
export function judgeEdgeAgent(desiredVersion: number, reported: EdgeAgentReported, verify: VerifySettings): DeviceVerdict {
    const caughtUp = (reported.lastDesiredVersion ?? -1) >= desiredVersion;
    if (!caughtUp) return { state: "waiting", why: `edgeAgent has not reported desired version ${desiredVersion} yet (last: ${reported.lastDesiredVersion ?? "none"})` };
    const status = reported.lastDesiredStatus ?? {};
    if (status.code !== 200) {
        return { state: "failed", why: `edgeAgent status ${status.code ?? "unknown"}: ${JSON.stringify(status.description ?? "no description")}` };
    }
    const module = reported.modules?.[verify.moduleName];
    if (!module) return { state: "waiting", why: `module ${verify.moduleName} not reported yet` };
    if (module.settings?.image !== undefined && module.settings.image !== verify.image) {
        return { state: "waiting", why: `module ${verify.moduleName} still reports image ${module.settings.image}` };
    }
    if (module.runtimeStatus !== "running") return { state: "waiting", why: `module ${verify.moduleName} is ${module.runtimeStatus ?? "not reported"}` };
    return { state: "done" };
}


/** Polls every device until all are done, one fails, or time runs out; names the devices that did not make it. */
export async function verifyDevices(
    registry: Registry,
    desiredVersions: Record<string, number>,
    verify: VerifySettings,
    retry: RetryPolicy,
    clock: Clock = REAL_CLOCK,
): Promise<void> {
    const deadline = clock.now() + verify.timeoutSeconds * 1000;
    let pending = Object.keys(desiredVersions);
    const lastWhy: Record<string, string> = {};
    for (;;) {
        const verdicts = await Promise.all(
            pending.map(async (deviceId) => {
                const twin = await withHubRetry(`read $edgeAgent of ${deviceId}`, () => registry.getModuleTwin(deviceId, "$edgeAgent"), retry);
                const reported = ((twin.responseBody as { properties?: { reported?: EdgeAgentReported } }).properties?.reported ?? {}) as EdgeAgentReported;
                return [deviceId, judgeEdgeAgent(desiredVersions[deviceId], reported, verify)] as const;
            }),
        );
        const failed = verdicts.filter(([, v]) => v.state === "failed");
        if (failed.length > 0) {
            throw new RolloutError(`rollout failed on ${failed.map(([id, v]) => `${id} (${(v as { why: string }).why})`).join("; ")}`);
        }
        for (const [id, verdict] of verdicts) if (verdict.state === "waiting") lastWhy[id] = verdict.why;
        pending = verdicts.filter(([, v]) => v.state === "waiting").map(([id]) => id);
        if (pending.length === 0) return;
        if (clock.now() + verify.pollSeconds * 1000 > deadline) {
            throw new RolloutError(
                `rollout not confirmed within ${verify.timeoutSeconds}s on ${pending.length} device(s): ` +
                    pending.slice(0, 10).map((id) => `${id} (${lastWhy[id]})`).join("; ") +
                    (pending.length > 10 ? `; and ${pending.length - 10} more` : "") +
                    ". The manifest was applied; edgeAgent applies it when the device is online.",
            );
        }
        await clock.sleep(verify.pollSeconds * 1000);
    }
}

interface SystemMetrics {
    targetedCount?: number;
    appliedCount?: number;
    reportedSuccessfulCount?: number;
    reportedFailedCount?: number;
}

/** Waits until every device a fleet configuration applies to has reported, and fails if any reported failure. */
export async function verifyConfiguration(
    registry: Registry,
    configurationId: string,
    verify: VerifySettings,
    retry: RetryPolicy,
    clock: Clock = REAL_CLOCK,
): Promise<SystemMetrics> {
    const deadline = clock.now() + verify.timeoutSeconds * 1000;
    for (;;) {
        const configuration = await withHubRetry(`read configuration ${configurationId}`, () => registry.getConfiguration(configurationId), retry);
        const metrics = ((configuration.responseBody as { systemMetrics?: { results?: SystemMetrics } }).systemMetrics?.results ?? {}) as SystemMetrics;
        const [targeted, applied, succeeded, failed] = [metrics.targetedCount ?? 0, metrics.appliedCount ?? 0, metrics.reportedSuccessfulCount ?? 0, metrics.reportedFailedCount ?? 0];
        if (failed > 0) throw new RolloutError(`deployment ${configurationId}: ${failed} of ${applied} device(s) report failure (see its reportedFailedCount query in the portal)`);
        if (applied === targeted && succeeded === applied) return metrics;
        if (clock.now() + verify.pollSeconds * 1000 > deadline) {
            throw new RolloutError(
                `deployment ${configurationId} not settled within ${verify.timeoutSeconds}s: targeted ${targeted}, applied ${applied}, ` +
                    `reporting success ${succeeded}, failure ${failed}`,
            );
        }
        await clock.sleep(verify.pollSeconds * 1000);
    }
}
