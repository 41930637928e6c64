// `npm run bench:rollout`: the EdgeDeployment provider against the local IoT Hub emulator. Device mode rolls out
// to many devices with injected throttling (429 + Retry-After), then rolls out a manifest one device fails and
// rolls it back on all of them; fleet mode counts requests per rollout as the fleet grows (target: constant), and
// times a canary + fleet rollout (a ring of 5% first) and one whose fleet stage fails and is rolled back. Prints
// figures; asserts nothing.
import { EdgeDeploymentProvider, type EdgeDeploymentOutputs } from "../components/iot";
import { DEFAULT_RETRY_POLICY } from "../components/shared";
import { deploymentInputs, IMAGE_A, IMAGE_B, manifestFor } from "../offline/sample-deployment";
import { IotHubEmulator, startIotHubEmulator } from "../offline/iothub-emulator";
import { parseArgs } from "./args";

const IMAGE_C = `testacr.azurecr.io/edgeml/scoring@sha256:${"c".repeat(64)}`;
const args = parseArgs(process.argv.slice(2), {
    devices: "1000",
    throttle: "0.1",
    concurrency: "8",
    "retry-after": "1",
    "rollback-retry-after": "0",
});

/** Verification polls wait on this clock: the simulated devices report at once, so no poll interval is spent. */
function simulatedClock() {
    let now = Date.now();
    return { now: () => now, sleep: async (ms: number) => void (now += ms) };
}

async function addDevices(hub: IotHubEmulator, count: number, tags: (index: number) => Record<string, string>): Promise<string[]> {
    const ids = Array.from({ length: count }, (_, i) => `bench-${String(i).padStart(5, "0")}`);
    const registry = hub.registry();
    for (let i = 0; i < ids.length; i += 100) {
        await registry.addDevices(
            ids.slice(i, i + 100).map((deviceId) => ({ deviceId, status: "enabled", capabilities: { iotEdge: true } })),
        );
    }
    const queue = ids.map((id, index) => [id, index] as const);
    const worker = async () => {
        for (let next = queue.shift(); next; next = queue.shift()) await registry.updateTwin(next[0], { tags: tags(next[1]) }, "*");
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    return ids;
}

/** Says how far a long run is every 5 s (requests answered, on stderr). */
function progress(hub: IotHubEmulator, started: number): () => void {
    const timer = setInterval(() => {
        const { totalRequests, faultsInjected } = hub.stats;
        console.error(
            `  ... ${((Date.now() - started) / 1000).toFixed(0)} s: ${totalRequests} requests answered, ${faultsInjected.throttle} throttled`,
        );
    }, 5000);
    return () => clearInterval(timer);
}

async function deviceMode(): Promise<void> {
    const count = Number(args.devices);
    const concurrency = Number(args.concurrency);
    // One device fails the second image (edgeAgent status 500); every device runs the first.
    const failing = `bench-${String(Math.floor(count / 2)).padStart(5, "0")}`;
    const hub = await startIotHubEmulator({
        hubName: "bench-hub",
        latencyMs: 2,
        edgeAgents: {
            devices: {
                [failing]: ({ images }) =>
                    images.scoring === IMAGE_B
                        ? { report: "error", code: 500, description: "module scoring: image pull failed" }
                        : { report: "success" },
            },
        },
    });
    try {
        console.log(`device mode: registering ${count} devices in the emulator...`);
        const deviceIds = await addDevices(hub, count, () => ({ environment: "bench" }));
        hub.resetRecords();
        hub.faults.configure({ rates: { throttle: Number(args.throttle) }, seed: 42, retryAfterSeconds: Number(args["retry-after"]) });
        const provider = new EdgeDeploymentProvider(hub.registryFactory, DEFAULT_RETRY_POLICY, simulatedClock());
        let started = Date.now();
        console.log(`device mode: rolling out to ${count} devices...`);
        let stop = progress(hub, started);
        let olds: EdgeDeploymentOutputs;
        try {
            olds = (await provider.create(deploymentInputs(hub.connectionString, { deviceIds, concurrency })))
                .outs as EdgeDeploymentOutputs;
        } finally {
            stop();
        }
        let seconds = (Date.now() - started) / 1000;
        let stats = hub.stats;
        console.log(
            `device mode: ${count} devices, ${(Number(args.throttle) * 100).toFixed(0)}% of requests throttled (Retry-After ${args["retry-after"]} s), concurrency ${concurrency}`,
        );
        console.log(
            `  wall time ${seconds.toFixed(1)} s, requests sent ${stats.totalRequests}, throttled ${stats.faultsInjected.throttle}, most in flight ${stats.maxInFlight}`,
        );

        // A verified rollout of the second image, which one device fails: sent to all, verified, rolled back on all.
        hub.resetRecords();
        hub.faults.configure({
            rates: { throttle: Number(args.throttle) },
            seed: 43,
            retryAfterSeconds: Number(args["rollback-retry-after"]),
        });
        const verify = (image: string) => ({ enabled: true, timeoutSeconds: 600, pollSeconds: 10, moduleName: "scoring", image });
        olds = { ...olds, verify: verify(IMAGE_A) };
        console.log(`device mode: rolling out a manifest ${failing} fails, then back to the previous one on all ${count} devices...`);
        started = Date.now();
        stop = progress(hub, started);
        let outcome = "succeeded (unexpected)";
        try {
            await provider.update(
                olds.name,
                olds,
                deploymentInputs(hub.connectionString, { deviceIds, concurrency, content: manifestFor(IMAGE_B), verify: verify(IMAGE_B) }),
            );
        } catch (error) {
            const message = (error as Error).message;
            outcome = message.includes("rolled back to")
                ? `rolled back (${message.slice(0, message.indexOf(";"))})`
                : `failed: ${message.slice(0, 200)}`;
        } finally {
            stop();
        }
        seconds = (Date.now() - started) / 1000;
        stats = hub.stats;
        const perOperation = Object.entries(stats.requestsPerOperation)
            .map(([operation, n]) => `${operation} ${n}`)
            .join(", ");
        console.log(
            `device rollback: ${count} devices, ${(Number(args.throttle) * 100).toFixed(0)}% throttled (Retry-After ${args["rollback-retry-after"]} s): ${outcome}`,
        );
        console.log(
            `  wall time ${seconds.toFixed(1)} s (rollout, verification, rollback and its verification), requests sent ${stats.totalRequests}, throttled ${stats.faultsInjected.throttle}`,
        );
        console.log(`  by operation: ${perOperation}`);
        console.log(`  swagger violations: ${hub.violations.length}`);
    } finally {
        await hub.stop();
    }
}

async function fleetMode(): Promise<void> {
    console.log("fleet mode: requests per rollout (target: constant in the fleet size)");
    const canary = { condition: "tags.ring='canary'", priority: 11, timeoutSeconds: 600, minSuccessCount: 1 };
    const verify = (image: string) => ({ enabled: true, timeoutSeconds: 600, pollSeconds: 10, moduleName: "scoring", image });
    for (const count of [10, 100, 1000]) {
        const hub = await startIotHubEmulator({ hubName: "bench-hub", edgeAgents: "report-applied" });
        try {
            // Every twentieth device is in the canary ring.
            await addDevices(hub, count, (i): Record<string, string> =>
                i % 20 === 0 ? { environment: "test", ring: "canary" } : { environment: "test" },
            );
            hub.resetRecords();
            const provider = new EdgeDeploymentProvider(hub.registryFactory, DEFAULT_RETRY_POLICY, simulatedClock());
            const plain = (await provider.create(deploymentInputs(hub.connectionString, { mode: "fleet", deviceIds: [] })))
                .outs as EdgeDeploymentOutputs;
            const created = hub.stats.totalRequests;
            await provider.delete(plain.configurationId, plain);
            // A verified canary + fleet rollout: A, then B replacing it (ring first, then the fleet, then A deleted).
            const ringed = (image: string) =>
                deploymentInputs(hub.connectionString, {
                    mode: "fleet",
                    deviceIds: [],
                    content: manifestFor(image),
                    verify: verify(image),
                    canary,
                });
            const olds = (await provider.create(ringed(IMAGE_A))).outs as EdgeDeploymentOutputs;
            hub.resetRecords();
            const started = Date.now();
            await provider.create(ringed(IMAGE_B));
            await provider.delete(olds.configurationId, olds);
            const milliseconds = Date.now() - started;
            const requests = hub.stats.totalRequests;
            // A third image one device outside the ring fails: the ring verifies, the fleet stage fails, both roll back.
            hub.setEdgeAgent("bench-00001", ({ images }) =>
                images.scoring === IMAGE_C ? { report: "error", code: 500, description: "simulated" } : { report: "success" },
            );
            hub.resetRecords();
            const failedAt = Date.now();
            const rolledBack = await provider.create(ringed(IMAGE_C)).then(
                () => false,
                (error: Error) => error.message.includes("rolled back to"),
            );
            const ring = Math.ceil(count / 20);
            console.log(
                `  ${String(count).padStart(5)} devices: create ${created} request(s); verified canary (${ring} device(s)) + fleet rollout and old deletion ` +
                    `${requests} request(s), ${milliseconds} ms; fleet stage failing and ${rolledBack ? "rolled back" : "NOT rolled back"}: ` +
                    `${hub.stats.totalRequests} request(s), ${Date.now() - failedAt} ms`,
            );
        } finally {
            await hub.stop();
        }
    }
}

deviceMode()
    .then(fleetMode)
    .catch((error) => {
        console.error(error);
        process.exit(1);
    });
