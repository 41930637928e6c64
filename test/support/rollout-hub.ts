// An IoT Hub emulator whose devices stand in for edgeAgent (per-device rules), a provider on a simulated clock,
// and what the rollback and canary tests assert about the hub afterwards.
import * as assert from "assert";
import { EdgeDeploymentProvider, ROLLOUT_LABEL } from "../../components/iot";
import type { RetryPolicy } from "../../components/shared/retry";
import {
    type EdgeAgentReaction,
    type EdgeAgentRule,
    type FaultPlan,
    IotHubEmulator,
    startIotHubEmulator,
} from "../../offline/iothub-emulator";
import { FAST_RETRY } from "./fast-retry";

/** 429s and 503s on a fifth of the requests, reproducibly. */
export const THROTTLED: FaultPlan = { rates: { throttle: 0.12, unavailable: 0.08 }, seed: 11, retryAfterSeconds: 0 };

/** Each suite runs twice: as it is, and with THROTTLED on top (title suffix, faults). */
export const FAULT_VARIANTS: Array<[string, FaultPlan | undefined]> = [
    ["", undefined],
    [" (429/503 injected)", THROTTLED],
];

export const SUCCESS: EdgeAgentReaction = { report: "success" };
export const OFFLINE: EdgeAgentReaction = { report: "nothing" };
export const ERROR_500: EdgeAgentReaction = {
    report: "error",
    code: 500,
    description: "module scoring: container create failed: invalid mount",
};
export const BACKOFF: EdgeAgentReaction = { report: "backoff", module: "scoring" };

/** A device that reacts with `reaction` to a manifest running `image` in its scoring module, and succeeds on any other. */
export function on(image: string, reaction: EdgeAgentReaction): EdgeAgentRule {
    return ({ images }) => (images.scoring === image ? reaction : SUCCESS);
}

export interface RolloutHub {
    hub: IotHubEmulator;
    provider: EdgeDeploymentProvider;
    /** Every manifest a device received, in order: which device, which scoring image. */
    received: Array<{ deviceId: string; image: string }>;
    /** Replaces one device's rule (the emulator's setEdgeAgent), recording what it receives. */
    setAgent(deviceId: string, rule: EdgeAgentRule): void;
    /** Runs the test's own checks with fault injection paused (they do not retry), then resumes it. */
    inspect<T>(check: () => Promise<T>): Promise<T>;
    /** Exactly `configurations` in the hub, and every device of `deviceIds` on `image` (see assertEveryDeviceOn). */
    expectSettled(configurations: string[], deviceIds: string[], image: string, offline?: string[]): Promise<void>;
    stop(): Promise<void>;
}

/**
 * Registers `devices` (id -> tags) as edge devices, each following its rule (default success); injects `faults` once
 * they are registered. Verification waits on a simulated clock; hub retries are fast and real.
 */
export async function startRolloutHub(
    hubName: string,
    devices: Record<string, Record<string, string>>,
    rules: Record<string, EdgeAgentRule> = {},
    faults?: FaultPlan,
    retry: RetryPolicy = FAST_RETRY,
): Promise<RolloutHub> {
    const received: RolloutHub["received"] = [];
    // A rule is asked again at every change while its device has not reported (offline): record each version once.
    const seen = new Map<string, number>();
    const recording =
        (rule: EdgeAgentRule): EdgeAgentRule =>
        (deployment) => {
            if (seen.get(deployment.deviceId) !== deployment.desiredVersion)
                received.push({ deviceId: deployment.deviceId, image: deployment.images.scoring });
            seen.set(deployment.deviceId, deployment.desiredVersion);
            return typeof rule === "function" ? rule(deployment) : rule;
        };
    const hub = await startIotHubEmulator({
        hubName,
        edgeAgents: {
            default: recording(SUCCESS),
            devices: Object.fromEntries(Object.entries(rules).map(([id, rule]) => [id, recording(rule)])),
        },
    });
    for (const [deviceId, tags] of Object.entries(devices)) {
        await hub.registry().create({ deviceId, status: "enabled", capabilities: { iotEdge: true } });
        await hub.registry().updateTwin(deviceId, { tags }, "*");
    }
    let simulated = Date.now();
    const clock = { now: () => simulated, sleep: async (ms: number) => void (simulated += ms) };
    if (faults) hub.faults.configure(faults);
    const inspect = async <T>(check: () => Promise<T>): Promise<T> => {
        hub.faults.clear();
        try {
            return await check();
        } finally {
            if (faults) hub.faults.configure({ ...faults, seed: (faults.seed ?? 1) + received.length });
        }
    };
    return {
        hub,
        provider: new EdgeDeploymentProvider(hub.registryFactory, retry, clock),
        received,
        setAgent: (deviceId, rule) => hub.setEdgeAgent(deviceId, recording(rule)),
        inspect,
        expectSettled: (configurations, deviceIds, image, offline = []) =>
            inspect(async () => {
                await assertConfigurations(hub, configurations);
                await assertEveryDeviceOn(hub, deviceIds, image, offline);
            }),
        stop: async () => {
            hub.faults.clear();
            assert.deepStrictEqual(hub.violations, []);
            await hub.stop();
        },
    };
}

interface AgentTwin {
    properties: { desired: { $version: number; modules: Record<string, { settings: { image: string } }> }; reported: Record<string, any> };
}

async function agentTwin(hub: IotHubEmulator, deviceId: string): Promise<AgentTwin> {
    return (await hub.registry().getModuleTwin(deviceId, "$edgeAgent")).responseBody as unknown as AgentTwin;
}

/**
 * Each device's desired manifest runs `image`; each device not listed as offline has reported it: the desired
 * version, status 200 and the scoring module running that image.
 */
export async function assertEveryDeviceOn(hub: IotHubEmulator, deviceIds: string[], image: string, offline: string[] = []): Promise<void> {
    for (const deviceId of deviceIds) {
        const twin = await agentTwin(hub, deviceId);
        assert.strictEqual(twin.properties.desired.modules.scoring.settings.image, image, `${deviceId}: desired image`);
        if (offline.includes(deviceId)) continue;
        const reported = twin.properties.reported;
        assert.strictEqual(reported.lastDesiredVersion, twin.properties.desired.$version, `${deviceId}: reported the desired version`);
        assert.deepStrictEqual(reported.lastDesiredStatus, { code: 200 }, `${deviceId}: status`);
        assert.deepStrictEqual(
            [reported.modules.scoring.runtimeStatus, reported.modules.scoring.settings.image],
            ["running", image],
            `${deviceId}: scoring`,
        );
    }
}

/** Exactly these configurations exist, none of them left labelled as under verification. */
export async function assertConfigurations(hub: IotHubEmulator, ids: string[]): Promise<void> {
    const configurations = (await hub.registry().getConfigurations()).responseBody as unknown as Array<{
        id: string;
        labels?: Record<string, string>;
    }>;
    assert.deepStrictEqual(configurations.map((c) => c.id).sort(), [...ids].sort(), "configurations in the hub");
    for (const configuration of configurations)
        assert.strictEqual(configuration.labels?.[ROLLOUT_LABEL], undefined, `${configuration.id} is labelled ${ROLLOUT_LABEL}`);
}

/** The rejection's message, failing the test if the promise resolves. */
export async function failureOf(promise: Promise<unknown>): Promise<string> {
    try {
        await promise;
    } catch (error) {
        return (error as Error).message;
    }
    assert.fail("expected the rollout to fail");
}

export function escaped(text: string): string {
    return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
