// The IoT Hub emulator's simulated edgeAgents with per-device rules, and fleet configurations' systemMetrics
// following what the devices report, as IoT Hub's do.
import * as assert from "assert";
import { type IotHubEmulator, startIotHubEmulator } from "../offline/iothub-emulator";
import { IOTHUB_SWAGGER } from "../offline/reference-data";
import { IMAGE_A, IMAGE_B, manifestFor } from "../offline/sample-deployment";
import { needsReference } from "./support/references";

describe("IoT Hub emulator: simulated edgeAgents per device", () => {
    needsReference(IOTHUB_SWAGGER);
    let hub: IotHubEmulator;
    afterEach(async () => {
        assert.deepStrictEqual(hub.violations, []);
        await hub.stop();
    });

    const reported = async (deviceId: string) =>
        ((await hub.registry().getModuleTwin(deviceId, "$edgeAgent")).responseBody as any).properties;
    const metricsOf = async (id: string) => ((await hub.registry().getConfiguration(id)).responseBody as any).systemMetrics.results;
    const deploy = (id: string, image: string, priority: number) =>
        hub.registry().addConfiguration({
            id,
            content: { modulesContent: manifestFor(image).modulesContent },
            targetCondition: "tags.environment='test'",
            priority,
        } as never);

    it("report success, an error, a module in backoff, or nothing; the systemMetrics count them as IoT Hub does", async () => {
        hub = await startIotHubEmulator({
            hubName: "agents-hub",
            edgeAgents: {
                devices: {
                    "edge-error": { report: "error", code: 500, description: "image pull failed" },
                    "edge-backoff": { report: "backoff", module: "scoring" },
                    "edge-offline": { report: "nothing" },
                },
            },
        });
        for (const deviceId of ["edge-ok", "edge-error", "edge-backoff", "edge-offline"]) {
            await hub.registry().create({ deviceId, capabilities: { iotEdge: true } });
            await hub.registry().updateTwin(deviceId, { tags: { environment: "test" } }, "*");
        }
        await deploy("fleet-a", IMAGE_A, 10);
        const ok = await reported("edge-ok");
        assert.deepStrictEqual([ok.reported.lastDesiredVersion, ok.reported.lastDesiredStatus], [ok.desired.$version, { code: 200 }]);
        assert.deepStrictEqual(ok.reported.modules.scoring, { runtimeStatus: "running", settings: { image: IMAGE_A } });
        const error = await reported("edge-error");
        assert.deepStrictEqual(error.reported.lastDesiredStatus, { code: 500, description: "image pull failed" });
        const backoff = (await reported("edge-backoff")).reported;
        assert.deepStrictEqual(
            [backoff.lastDesiredStatus, backoff.modules.scoring.runtimeStatus, backoff.modules.scoring.exitCode],
            [{ code: 200 }, "backoff", 1],
        );
        assert.strictEqual(backoff.modules.SimulatedTemperatureSensor.runtimeStatus, "running", "only the named module crashes");
        assert.strictEqual((await reported("edge-offline")).reported.lastDesiredVersion, undefined);
        // A module in backoff still counts as reporting successfully: the deployment itself was applied.
        assert.deepStrictEqual(await metricsOf("fleet-a"), {
            targetedCount: 4,
            appliedCount: 4,
            reportedSuccessfulCount: 2,
            reportedFailedCount: 1,
        });

        // A device fixed, one coming online: each reacts to what it was last sent, and the metrics follow.
        hub.setEdgeAgent("edge-error", { report: "success" });
        hub.setEdgeAgent("edge-offline", { report: "success" });
        assert.deepStrictEqual(
            await metricsOf("fleet-a"),
            { targetedCount: 4, appliedCount: 4, reportedSuccessfulCount: 3, reportedFailedCount: 1 },
            "the fixed device has already reported this version",
        );
        await deploy("fleet-b", IMAGE_B, 10);
        assert.deepStrictEqual(await metricsOf("fleet-b"), {
            targetedCount: 4,
            appliedCount: 4,
            reportedSuccessfulCount: 4,
            reportedFailedCount: 0,
        });
        assert.deepStrictEqual(await metricsOf("fleet-a"), {
            targetedCount: 4,
            appliedCount: 0,
            reportedSuccessfulCount: 0,
            reportedFailedCount: 0,
        });
        const healed = (await reported("edge-error")).reported;
        assert.deepStrictEqual(healed.lastDesiredStatus, { code: 200 }, "the earlier failure's description is gone");
        // Removing the newer deployment: the devices return to the older one and report it again (the crashing module fixed).
        hub.setEdgeAgent("edge-backoff", { report: "success" });
        await hub.registry().removeConfiguration("fleet-b");
        assert.deepStrictEqual(await metricsOf("fleet-a"), {
            targetedCount: 4,
            appliedCount: 4,
            reportedSuccessfulCount: 4,
            reportedFailedCount: 0,
        });
        assert.deepStrictEqual(
            (await reported("edge-backoff")).reported.modules.scoring,
            { runtimeStatus: "running", settings: { image: IMAGE_A } },
            "exit code and description cleared",
        );
    });

    it("rules may depend on the deployment received; a bad option or rule is refused", async () => {
        hub = await startIotHubEmulator({
            hubName: "rules-hub",
            edgeAgents: { default: ({ images }) => (images.scoring === IMAGE_B ? { report: "error" } : { report: "success" }) },
        });
        await hub.registry().create({ deviceId: "edge-1", capabilities: { iotEdge: true } });
        await hub.registry().applyConfigurationContentOnDevice("edge-1", manifestFor(IMAGE_A) as never);
        assert.deepStrictEqual((await reported("edge-1")).reported.lastDesiredStatus, { code: 200 });
        await hub.registry().applyConfigurationContentOnDevice("edge-1", manifestFor(IMAGE_B) as never);
        assert.strictEqual((await reported("edge-1")).reported.lastDesiredStatus.code, 500);
        await assert.rejects(
            startIotHubEmulator({ edgeAgents: { devices: { x: { report: "maybe" } as never } } }),
            /an edgeAgent rule must be a function or \{ report: success \| error \| backoff \| nothing \}/,
        );
        assert.throws(() => hub.setEdgeAgent("edge-1", "yes" as never), /an edgeAgent rule must be/);
    });

    it("stand-in devices for a target condition: tagged to match, only for the shortfall", async () => {
        hub = await startIotHubEmulator({ hubName: "stand-in-hub", edgeAgents: "report-applied" });
        await hub.registry().create({ deviceId: "edge-1", capabilities: { iotEdge: true } });
        await hub.registry().updateTwin("edge-1", { tags: { ring: "canary", site: { name: "a" } } }, "*");
        assert.deepStrictEqual(hub.addDevicesMatching("tags.ring='canary' AND tags.site.name='a'", 3, "ring"), ["ring-1", "ring-2"]);
        assert.deepStrictEqual((await hub.registry().getTwin("ring-2")).responseBody.tags, { ring: "canary", site: { name: "a" } });
        assert.deepStrictEqual(hub.addDevicesMatching("tags.ring='canary'", 3), []);
        assert.throws(() => hub.addDevicesMatching("tags.ring='canary' OR tags.ring='beta'", 1), /no stand-in device can satisfy/);
    });
});
