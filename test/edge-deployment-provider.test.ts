// The EdgeDeployment provider, called directly against the local IoT Hub emulator through the real SDK.
import * as assert from "assert";
import { EdgeDeploymentOutputs, EdgeDeploymentProvider, describeDeploymentChanges } from "../components/iot/edgeDeploymentProvider";
import { IMAGE_A, IMAGE_B, deploymentInputs, manifestFor } from "../offline/sample-deployment";
import { FAST_RETRY } from "./support/fast-retry";
import { IotHubEmulator, startIotHubEmulator } from "../offline/iothub-emulator";
import { IOTHUB_SWAGGER } from "../offline/reference-data";
import { needsReference } from "./support/references";

describe("EdgeDeployment provider (against the IoT Hub emulator)", () => {
    needsReference(IOTHUB_SWAGGER);
    let hub: IotHubEmulator;
    /** Runs while the provider waits between polls: stands in for the devices' edgeAgents. */
    let onPoll: () => void;
    let provider: EdgeDeploymentProvider;

    beforeEach(async () => {
        hub = await startIotHubEmulator({ hubName: "deploy-hub" });
        onPoll = () => undefined;
        let simulated = Date.now();
        // Simulated time: each poll interval passes at once, and the devices act during it.
        const clock = {
            now: () => simulated,
            sleep: async (ms: number) => {
                simulated += ms;
                onPoll();
            },
        };
        provider = new EdgeDeploymentProvider(hub.registryFactory, FAST_RETRY, clock);
        for (const deviceId of ["edge-1", "edge-2", "edge-3"]) {
            await hub.registry().create({ deviceId, status: "enabled", capabilities: { iotEdge: true } });
            await hub.registry().updateTwin(deviceId, { tags: { environment: "test" } }, "*");
        }
    });
    afterEach(async () => {
        assert.deepStrictEqual(hub.violations, []);
        await hub.stop();
    });

    const edgeAgentDesired = async (deviceId: string) =>
        (await hub.registry().getModuleTwin(deviceId, "$edgeAgent")).responseBody.properties.desired as Record<string, any>;
    const reportRunning = (deviceId: string, image: string) =>
        hub.reportEdgeAgent(deviceId, {
            lastDesiredStatus: { code: 200 },
            modules: { scoring: { runtimeStatus: "running", settings: { image } } },
        });

    describe("device mode", () => {
        it("applies the manifest to every device, with the registry password put in only when sent", async () => {
            const { id, outs } = await provider.create(deploymentInputs(hub.connectionString));
            assert.strictEqual(id, "edgeml-test-devices");
            for (const deviceId of ["edge-1", "edge-2", "edge-3"]) {
                const desired = await edgeAgentDesired(deviceId);
                assert.strictEqual(desired.modules.scoring.settings.image, IMAGE_A);
                assert.strictEqual(desired.runtime.settings.registryCredentials.testacr.password, "test-registry-password");
                assert.strictEqual(outs.appliedVersions[deviceId], desired.$version);
            }
            assert.ok(!JSON.stringify(outs.content).includes("test-registry-password"), "the stored content keeps the placeholder");
        });

        it("names the devices that failed, and a re-run converges", async () => {
            const inputs = deploymentInputs(hub.connectionString, { deviceIds: ["edge-1", "edge-missing", "edge-2"] });
            await assert.rejects(provider.create(inputs), /reached 2 of 3 devices; failed: edge-missing \(HTTP 404/);
            assert.strictEqual((await edgeAgentDesired("edge-1")).modules.scoring.settings.image, IMAGE_A);
            await hub.registry().create({ deviceId: "edge-missing", status: "enabled", capabilities: { iotEdge: true } });
            const { outs } = await provider.create(inputs);
            assert.deepStrictEqual(Object.keys(outs.appliedVersions).sort(), ["edge-1", "edge-2", "edge-missing"]);
        });

        it("waits until every edgeAgent reports the new version running", async () => {
            let polls = 0;
            onPoll = () => {
                polls++;
                for (const deviceId of ["edge-1", "edge-2", "edge-3"]) reportRunning(deviceId, IMAGE_A);
            };
            const verify = { enabled: true, timeoutSeconds: 30, pollSeconds: 1, moduleName: "scoring", image: IMAGE_A };
            await provider.create(deploymentInputs(hub.connectionString, { verify }));
            assert.strictEqual(polls, 1, "the first poll found nothing reported; the second found all running");
        });

        it("fails naming the device and quoting edgeAgent's status description", async () => {
            onPoll = () => {
                reportRunning("edge-1", IMAGE_A);
                reportRunning("edge-3", IMAGE_A);
                hub.reportEdgeAgent("edge-2", { lastDesiredStatus: { code: 406, description: "image pull failed: unauthorized" } });
            };
            const verify = { enabled: true, timeoutSeconds: 30, pollSeconds: 1, moduleName: "scoring", image: IMAGE_A };
            await assert.rejects(
                provider.create(deploymentInputs(hub.connectionString, { verify })),
                /rollout failed on edge-2 \(edgeAgent status 406: "image pull failed: unauthorized"\)/,
            );
        });

        it("times out naming the devices that never confirmed", async () => {
            onPoll = () => reportRunning("edge-1", IMAGE_A);
            const verify = { enabled: true, timeoutSeconds: 30, pollSeconds: 5, moduleName: "scoring", image: IMAGE_A };
            await assert.rejects(
                provider.create(deploymentInputs(hub.connectionString, { deviceIds: ["edge-1", "edge-2"], verify })),
                /not confirmed within 30s on 1 device\(s\): edge-2 \(edgeAgent has not reported desired version/,
            );
        });

        it("sees identical content as no change and a new image as one module change", async () => {
            const { outs } = await provider.create(deploymentInputs(hub.connectionString));
            const olds = outs as EdgeDeploymentOutputs;
            assert.strictEqual((await provider.diff("x", olds, deploymentInputs(hub.connectionString))).changes, false);
            const newer = deploymentInputs(hub.connectionString, { content: manifestFor(IMAGE_B) });
            const diff = await provider.diff("x", olds, newer);
            assert.deepStrictEqual(diff, { changes: true, replaces: [], deleteBeforeReplace: false });
            assert.deepStrictEqual(describeDeploymentChanges(olds, newer), [`module scoring: image ${IMAGE_A} -> ${IMAGE_B}`]);
            await provider.update("x", olds, newer);
            assert.strictEqual((await edgeAgentDesired("edge-2")).modules.scoring.settings.image, IMAGE_B);
        });

        it("converges with 20% of requests faulted: every device gets the manifest exactly as sent", async () => {
            const deviceIds = Array.from({ length: 20 }, (_, i) => `fleet-${i}`);
            for (const deviceId of deviceIds) await hub.registry().create({ deviceId, status: "enabled", capabilities: { iotEdge: true } });
            hub.faults.configure({
                rates: { throttle: 0.08, unavailable: 0.05, drop: 0.04, dropAfterCommit: 0.03 },
                seed: 7,
                retryAfterSeconds: 0,
            });
            const { outs } = await provider.create(deploymentInputs(hub.connectionString, { deviceIds, concurrency: 8 }));
            hub.faults.clear();
            const faults = Object.values(hub.stats.faultsInjected).reduce((a, b) => a + b, 0);
            assert.ok(faults >= 5, `faults were injected (${faults})`);
            for (const deviceId of deviceIds) {
                const desired = await edgeAgentDesired(deviceId);
                assert.strictEqual(desired.modules.scoring.settings.image, IMAGE_A, deviceId);
                assert.strictEqual(outs.appliedVersions[deviceId], desired.$version, deviceId);
            }
        });
    });

    describe("fleet mode", () => {
        const fleet = (overrides = {}) => deploymentInputs(hub.connectionString, { mode: "fleet", deviceIds: [], ...overrides });
        const configurationIds = async () =>
            ((await hub.registry().getConfigurations()).responseBody as Array<{ id: string }>).map((c) => c.id).sort();

        it("creates one at-scale deployment whose id carries the content hash", async () => {
            const { id, outs } = await provider.create(fleet());
            assert.match(id, /^edgeml-test-[0-9a-f]{12}$/);
            assert.deepStrictEqual(await configurationIds(), [id]);
            const configuration = (await hub.registry().getConfiguration(id)).responseBody as any;
            assert.strictEqual(configuration.targetCondition, "tags.environment='test'");
            assert.strictEqual(configuration.priority, 10);
            assert.strictEqual(
                configuration.content.modulesContent.$edgeAgent["properties.desired"].runtime.settings.registryCredentials.testacr.password,
                "test-registry-password",
            );
            assert.strictEqual(outs.configurationId, id);
            assert.strictEqual(configuration.systemMetrics.results.targetedCount, 3);
        });

        it("replaces on a content change, creating the new deployment before the old one is deleted", async () => {
            const first = await provider.create(fleet());
            const olds = first.outs as EdgeDeploymentOutputs;
            const newer = fleet({ content: manifestFor(IMAGE_B) });
            const diff = await provider.diff(first.id, olds, newer);
            assert.deepStrictEqual(diff.replaces, ["content"]);
            assert.strictEqual(diff.deleteBeforeReplace, false, "create the replacement first: no gap");
            // The engine's order for a create-before-delete replacement.
            const second = await provider.create(newer);
            assert.deepStrictEqual(await configurationIds(), [first.id, second.id].sort(), "both exist during the switch");
            await provider.delete(first.id, olds);
            assert.deepStrictEqual(await configurationIds(), [second.id]);
        });

        it("updates priority and target condition in place, with no new deployment", async () => {
            const { id, outs } = await provider.create(fleet());
            const changed = fleet({ priority: 30, targetCondition: "tags.environment='test' AND tags.site='a'" });
            const diff = await provider.diff(id, outs as EdgeDeploymentOutputs, changed);
            assert.deepStrictEqual([diff.changes, diff.replaces], [true, []]);
            assert.deepStrictEqual(describeDeploymentChanges(outs as EdgeDeploymentOutputs, changed), [
                `target condition: "tags.environment='test'" -> "tags.environment='test' AND tags.site='a'"`,
                "priority: 10 -> 30",
            ]);
            await provider.update(id, outs as EdgeDeploymentOutputs, changed);
            const configuration = (await hub.registry().getConfiguration(id)).responseBody as any;
            assert.deepStrictEqual(
                [configuration.priority, configuration.targetCondition],
                [30, "tags.environment='test' AND tags.site='a'"],
            );
            assert.deepStrictEqual(await configurationIds(), [id]);
        });

        it("waits for the system metrics to settle, and fails when a device reports failure", async () => {
            const verify = { enabled: true, timeoutSeconds: 30, pollSeconds: 1, moduleName: "scoring", image: IMAGE_A };
            onPoll = () => ["edge-1", "edge-2", "edge-3"].forEach((d) => reportRunning(d, IMAGE_A));
            const { id } = await provider.create(fleet({ verify }));
            const metrics = ((await hub.registry().getConfiguration(id)).responseBody as any).systemMetrics.results;
            assert.deepStrictEqual([metrics.appliedCount, metrics.reportedSuccessfulCount, metrics.reportedFailedCount], [3, 3, 0]);

            onPoll = () => hub.reportEdgeAgent("edge-1", { lastDesiredStatus: { code: 417, description: "invalid createOptions" } });
            await assert.rejects(
                provider.create(fleet({ verify, content: manifestFor(IMAGE_B), priority: 11 })),
                /1 of 3 device\(s\) report failure/,
            );
        });

        it("reads back targeting edited outside Pulumi as drift, and a deleted deployment as gone", async () => {
            const { id, outs } = await provider.create(fleet());
            const edited = (await hub.registry().getConfiguration(id)).responseBody as any;
            await hub.registry().updateConfiguration({ ...edited, priority: 99 });
            const read = await provider.read(id, outs as EdgeDeploymentOutputs);
            assert.strictEqual(read.props.priority, 99);
            assert.strictEqual((await provider.diff(id, read.props, fleet())).changes, true, "the next up puts priority back");
            await hub.registry().removeConfiguration(id);
            assert.deepStrictEqual(await provider.read(id, outs as EdgeDeploymentOutputs), {});
        });

        it("survives faults without duplicating or losing the deployment, and deleting twice succeeds", async () => {
            hub.faults.configure({ script: ["dropAfterCommit", "throttle", "unavailable"], retryAfterSeconds: 0 });
            const { id, outs } = await provider.create(fleet());
            assert.deepStrictEqual(await configurationIds(), [id]);
            await provider.delete(id, outs as EdgeDeploymentOutputs);
            await provider.delete(id, outs as EdgeDeploymentOutputs);
            assert.deepStrictEqual(await configurationIds(), []);
        });
    });
});
