// `npm run bench:rollout`: the EdgeDeployment provider against the local IoT Hub emulator. Device mode rolls out
// to many devices with injected throttling (429 + Retry-After), then rolls out a manifest one device fails and
// rolls it back on all of them; fleet mode counts requests per rollout as the fleet grows (target: constant), and
// times a canary + fleet rollout (a ring of 5% first) and one whose fleet stage fails and is rolled back; then a fleet
// that enrols itself: --dps-devices devices (10,000) register through the DPS emulator into the hub emulator, at most
// --dps-concurrency at a time, each with Microsoft's device SDK and a key derived from the enrollment group's, and a
// verified fleet rollout reaches them all (10,000 take about 8 minutes on a 2-core machine, most of it the hub emulator
// reconciling every device with the deployments after each registration). Prints figures; asserts nothing.
import { ProvisioningDeviceClient, type RegistrationResult } from "azure-iot-provisioning-device";
import { SymmetricKeySecurityClient } from "azure-iot-security-symmetric-key";
import { deriveDeviceKey, type EnrollmentGroupOutputs, EnrollmentGroupProvider, numberedRegistrationIds } from "../components/dps";
import { EdgeDeploymentProvider, type EdgeDeploymentOutputs } from "../components/iot";
import { DEFAULT_RETRY_POLICY } from "../components/shared";
import { deploymentInputs, IMAGE_A, IMAGE_B, manifestFor } from "../offline/sample-deployment";
import { startDpsEmulator } from "../offline/dps-emulator";
import { IotHubEmulator, startIotHubEmulator } from "../offline/iothub-emulator";
import { parseArgs } from "./args";

const IMAGE_C = `testacr.azurecr.io/edgeml/scoring@sha256:${"c".repeat(64)}`;
const args = parseArgs(process.argv.slice(2), {
    devices: "1000",
    throttle: "0.1",
    concurrency: "8",
    "retry-after": "1",
    "rollback-retry-after": "0",
    "dps-devices": "10000",
    "dps-concurrency": "32",
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

/**
 * A fleet that enrols itself: the enrollment group created by its real provider, then every device registering
 * through the DPS emulator's device API with Microsoft's device SDK (bounded concurrency), landing in the hub with the
 * group's tags; then one verified fleet rollout to all of them.
 */
async function dpsEnrolment(): Promise<void> {
    const count = Number(args["dps-devices"]);
    const concurrency = Number(args["dps-concurrency"]);
    const hub = await startIotHubEmulator({ hubName: "bench-hub", edgeAgents: "report-applied", swagger: "if-present" });
    const dps = await startDpsEmulator({ name: "bench-dps", linkedHubs: [hub], swagger: "if-present" });
    try {
        const group = (
            await new EnrollmentGroupProvider(dps.serviceClientFactory, DEFAULT_RETRY_POLICY).create({
                serviceConnectionString: dps.connectionString,
                enrollmentGroupId: "bench-edge",
                iotHubHostName: hub.hostName,
                tags: { environment: "bench", fleet: "dps" },
                iotEdge: true,
                keyRotation: 0,
            })
        ).outs as EnrollmentGroupOutputs;
        const ids = numberedRegistrationIds("bench-", count);
        hub.resetRecords();
        dps.resetRecords();
        console.log(`DPS: ${count} devices enrolling through the DPS emulator, ${concurrency} at a time...`);
        let started = Date.now();
        const timer = setInterval(
            () =>
                console.error(
                    `  ... ${((Date.now() - started) / 1000).toFixed(0)} s: ${dps.registrations.length} registered, ${dps.stats.totalRequests} DPS and ${hub.stats.totalRequests} hub requests answered`,
                ),
            5000,
        );
        let failed = 0;
        // When each tenth of the fleet had registered: the hub emulator brings every edge device in line with the
        // deployments after each change, so a registration costs more as the hub fills up.
        const tenths: number[] = [];
        let done = 0;
        const queue = [...ids];
        const worker = async () => {
            for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
                // The security client's typings name its own copy of azure-iot-common; the object is what the client expects.
                const security = new SymmetricKeySecurityClient(id, deriveDeviceKey(group.primaryKey, id)) as unknown as Parameters<
                    typeof ProvisioningDeviceClient.create
                >[3];
                const client = ProvisioningDeviceClient.create(dps.globalEndpoint, dps.idScope, dps.deviceTransport(), security);
                const result = await (client.register() as Promise<RegistrationResult>).catch(() => undefined);
                if (result?.status !== "assigned") failed += 1;
                done += 1;
                if (done % Math.max(1, Math.floor(count / 10)) === 0) tenths.push(Date.now());
            }
        };
        try {
            await Promise.all(Array.from({ length: concurrency }, worker));
        } finally {
            clearInterval(timer);
        }
        const enrolSeconds = (Date.now() - started) / 1000;
        const [dpsStats, hubStats] = [dps.stats, hub.stats];
        const registered = (await hub.registry().getTwin(ids[ids.length - 1])).responseBody.tags;
        console.log(
            `DPS enrolment: ${count} devices, concurrency ${concurrency}: wall time ${enrolSeconds.toFixed(1)} s (${(count / enrolSeconds).toFixed(0)} registrations/s), ` +
                `${count - failed} assigned, ${failed} failed; DPS requests ${dpsStats.totalRequests} (${byOperation(dpsStats.requestsPerOperation)}), ` +
                `hub requests ${hubStats.totalRequests} (${byOperation(hubStats.requestsPerOperation)}); last device's tags ${JSON.stringify(registered)}; ` +
                `swagger violations ${dps.violations.length + hub.violations.length}`,
        );
        if (tenths.length >= 10) {
            const seconds = (from: number, to: number) => ((to - from) / 1000).toFixed(1);
            console.log(
                `  the first tenth of the devices registered in ${seconds(started, tenths[0])} s, the last tenth in ${seconds(tenths[8], tenths[9])} s`,
            );
        }

        // One verified fleet rollout on the group's tags: every enrolled device takes it and reports it.
        hub.resetRecords();
        const provider = new EdgeDeploymentProvider(hub.registryFactory, DEFAULT_RETRY_POLICY, simulatedClock());
        started = Date.now();
        const outs = (
            await provider.create(
                deploymentInputs(hub.connectionString, {
                    mode: "fleet",
                    deviceIds: [],
                    targetCondition: "tags.environment='bench' AND tags.fleet='dps'",
                    verify: { enabled: true, timeoutSeconds: 600, pollSeconds: 10, moduleName: "scoring", image: IMAGE_A },
                }),
            )
        ).outs as EdgeDeploymentOutputs;
        const metrics = (
            (await hub.registry().getConfiguration(outs.configurationId)).responseBody as { systemMetrics?: { results?: object } }
        ).systemMetrics?.results;
        console.log(
            `  then a verified fleet rollout to them: ${Date.now() - started} ms, ${hub.stats.totalRequests} hub request(s) ` +
                `(${byOperation(hub.stats.requestsPerOperation)}); ${JSON.stringify(metrics)}`,
        );
    } finally {
        await dps.stop();
        await hub.stop();
    }
}

function byOperation(counts: Record<string, number>): string {
    return Object.entries(counts)
        .map(([operation, n]) => `${operation} ${n}`)
        .join(", ");
}

deviceMode()
    .then(fleetMode)
    .then(dpsEnrolment)
    .catch((error) => {
        console.error(error);
        process.exit(1);
    });
