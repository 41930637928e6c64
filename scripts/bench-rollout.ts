// `npm run bench:rollout`: the EdgeDeployment provider against the local IoT Hub emulator. Device mode rolls out
// to many devices with injected throttling (429 + Retry-After); fleet mode counts requests per rollout as the
// fleet grows (target: constant). Prints figures; asserts nothing.
import { EdgeDeploymentProvider } from "../components/iot";
import { DEFAULT_RETRY_POLICY } from "../components/shared";
import { deploymentInputs } from "../offline/sample-deployment";
import { IotHubEmulator, startIotHubEmulator } from "../offline/iothub-emulator";
import { parseArgs } from "./args";

const args = parseArgs(process.argv.slice(2), { devices: "1000", throttle: "0.1", concurrency: "8", "retry-after": "1" });

async function addDevices(hub: IotHubEmulator, count: number, tags: Record<string, string>): Promise<string[]> {
    const ids = Array.from({ length: count }, (_, i) => `bench-${String(i).padStart(5, "0")}`);
    const registry = hub.registry();
    for (let i = 0; i < ids.length; i += 100) {
        await registry.addDevices(ids.slice(i, i + 100).map((deviceId) => ({ deviceId, status: "enabled", capabilities: { iotEdge: true } })));
    }
    for (const id of ids) await registry.updateTwin(id, { tags }, "*");
    return ids;
}

async function deviceMode(): Promise<void> {
    const count = Number(args.devices);
    const hub = await startIotHubEmulator({ hubName: "bench-hub", latencyMs: 2 });
    try {
        console.log(`device mode: registering ${count} devices in the emulator...`);
        const deviceIds = await addDevices(hub, count, { environment: "bench" });
        hub.resetRecords();
        hub.faults.configure({ rates: { throttle: Number(args.throttle) }, seed: 42, retryAfterSeconds: Number(args["retry-after"]) });
        const provider = new EdgeDeploymentProvider(hub.registryFactory, DEFAULT_RETRY_POLICY);
        const started = Date.now();
        console.log(`device mode: rolling out to ${count} devices...`);
        // The rollout takes tens of seconds: say how far it is every 5 s (requests answered, on stderr).
        const progress = setInterval(() => {
            const { totalRequests, faultsInjected } = hub.stats;
            console.error(`  ... ${((Date.now() - started) / 1000).toFixed(0)} s: ${totalRequests} requests answered, ${faultsInjected.throttle} throttled`);
        }, 5000);
        try {
            await provider.create(deploymentInputs(hub.connectionString, { deviceIds, concurrency: Number(args.concurrency) }));
        } finally {
            clearInterval(progress);
        }
        const seconds = (Date.now() - started) / 1000;
        const stats = hub.stats;
        console.log(`device mode: ${count} devices, ${(Number(args.throttle) * 100).toFixed(0)}% of requests throttled (Retry-After ${args["retry-after"]} s), concurrency ${args.concurrency}`);
        console.log(`  wall time ${seconds.toFixed(1)} s, requests sent ${stats.totalRequests}, throttled ${stats.faultsInjected.throttle}, most in flight ${stats.maxInFlight}`);
        console.log(`  swagger violations: ${hub.violations.length}`);
    } finally {
        await hub.stop();
    }
}

async function fleetMode(): Promise<void> {
    console.log("fleet mode: requests per rollout (create the deployment; target: constant in the fleet size)");
    for (const count of [10, 100, 1000]) {
        const hub = await startIotHubEmulator({ hubName: "bench-hub" });
        try {
            await addDevices(hub, count, { environment: "test" });
            hub.resetRecords();
            const provider = new EdgeDeploymentProvider(hub.registryFactory, DEFAULT_RETRY_POLICY);
            await provider.create(deploymentInputs(hub.connectionString, { mode: "fleet", deviceIds: [] }));
            console.log(`  ${String(count).padStart(5)} devices: ${hub.stats.totalRequests} request(s)`);
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
