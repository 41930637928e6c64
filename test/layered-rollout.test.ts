// Layered deployments rolled out against the IoT Hub emulator, whose devices stand in for edgeAgent and carry a base
// deployment someone else owns (the emulator's stand-in base at basePriority): the layer verified on top of it, a
// content change replacing the layer only after the new one is verified, a failing layer removed (the devices keep
// the base, or the previous layer), a canary ring of layers, the hub's deployment limit, and a layer IoT Hub does not
// merge (a base above it) failing verification by name. Every path runs twice, the second time with 429s and 503s
// injected. Also: the offline plan and diff of a layered stack.
import * as assert from "assert";
import {
    canaryConfigurationId,
    type CanarySettings,
    type EdgeDeploymentInputs,
    type EdgeDeploymentOutputs,
    fleetConfigurationId,
} from "../components/iot";
import { contentHash } from "../components/iot/deploymentContent";
import { layerOf } from "../components/iot/manifest";
import { runOffline } from "../offline";
import type { EdgeAgentRule } from "../offline/iothub-emulator";
import { addStandInBase, STAND_IN_BASE_ID } from "../offline/iothub-emulator/stand-ins";
import { IOTHUB_SWAGGER } from "../offline/reference-data";
import { deploymentInputs, IMAGE_A, IMAGE_B, manifestFor } from "../offline/sample-deployment";
import { diffPlans } from "../scripts/plan-diff";
import { formatPlanDiff } from "../scripts/plan-diff-format";
import { formatPlan } from "../scripts/plan-format";
import { needsReference } from "./support/references";
import {
    assertConfigurations,
    ERROR_500,
    escaped,
    failureOf,
    FAULT_VARIANTS,
    on,
    type RolloutHub,
    startRolloutHub,
} from "./support/rollout-hub";

const RING = ["ring-1"];
const REST = ["edge-1", "edge-2", "edge-3"];
const ALL = [...RING, ...REST];
const DEVICES = {
    "ring-1": { environment: "test", ring: "canary" },
    ...Object.fromEntries(REST.map((id) => [id, { environment: "test" }])),
};
const CANARY: CanarySettings = { condition: "tags.ring='canary'", priority: 11, timeoutSeconds: 60, minSuccessCount: 1 };

interface AgentTwin {
    configurations?: Record<string, { status: string }>;
    properties: { desired: Record<string, any>; reported: Record<string, any> };
}

for (const [variant, faults] of FAULT_VARIANTS) {
    describe(`layered deployments on a base deployment${variant}`, () => {
        needsReference(IOTHUB_SWAGGER);
        let r: RolloutHub;
        /** The hub with its devices and someone else's base deployment (at `basePriority`) under them. */
        const start = async (rules: Record<string, EdgeAgentRule> = {}, basePriority = 5) => {
            r = await startRolloutHub("layered-hub", DEVICES, rules, faults);
            await r.inspect(() => addStandInBase(r.hub.registry(), "tags.environment='test'", basePriority));
        };
        afterEach(async () => r && (await r.stop()));

        const layer = (image: string, overrides: Partial<EdgeDeploymentInputs> = {}) =>
            deploymentInputs(r.hub.connectionString, {
                mode: "fleet",
                deviceIds: [],
                deploymentLayer: "layered",
                basePriority: 5,
                content: layerOf(manifestFor(image)),
                verify: { enabled: true, timeoutSeconds: 30, pollSeconds: 5, moduleName: "scoring", image },
                ...overrides,
            });
        const hashOf = (inputs: EdgeDeploymentInputs) => contentHash(inputs.content, inputs.registryPassword);
        const layerId = (inputs: EdgeDeploymentInputs) => fleetConfigurationId(inputs.name, hashOf(inputs));
        const agent = async (deviceId: string) =>
            (await r.hub.registry().getModuleTwin(deviceId, "$edgeAgent")).responseBody as unknown as AgentTwin;
        /** Each device's $edgeAgent: the configurations IoT Hub records on it, and whether it runs `image` (none: no scoring module). */
        const onDevices = (deviceIds: string[], image: string | undefined, configurations: (deviceId: string) => string[]) =>
            r.inspect(async () => {
                for (const deviceId of deviceIds) {
                    const twin = await agent(deviceId);
                    const { desired, reported } = twin.properties;
                    const expected = Object.fromEntries(configurations(deviceId).map((id) => [id, { status: "Applied" }]));
                    assert.deepStrictEqual(twin.configurations, expected, `${deviceId}: configurations`);
                    // The base's runtime stays under the layer's modules.
                    assert.deepStrictEqual(
                        [desired.schemaVersion, Object.keys(desired.systemModules).sort()],
                        ["1.1", ["edgeAgent", "edgeHub"]],
                    );
                    assert.strictEqual(desired.modules.scoring?.settings.image, image, `${deviceId}: desired scoring image`);
                    assert.deepStrictEqual(
                        [reported.lastDesiredVersion, reported.lastDesiredStatus],
                        [desired.$version, { code: 200 }],
                        deviceId,
                    );
                    assert.strictEqual(reported.modules.scoring?.settings.image, image, `${deviceId}: reported scoring image`);
                }
            });

        /** A ringed layer settled: the base and both layers in the hub; the ring's devices carry both layers, the rest the fleet's. */
        const settledRinged = async (outs: EdgeDeploymentOutputs, image: string) => {
            const fleet = [STAND_IN_BASE_ID, outs.configurationId];
            await r.inspect(() => assertConfigurations(r.hub, [...fleet, outs.canaryConfigurationId!]));
            await onDevices(ALL, image, (id) => (RING.includes(id) ? [...fleet, outs.canaryConfigurationId!] : fleet));
        };

        it("a layer rolls out on top of the base: verified, every device running the base's runtime and the layer's modules, both Applied", async () => {
            await start();
            const inputs = layer(IMAGE_A);
            const outs = (await r.provider.create(inputs)).outs as EdgeDeploymentOutputs;
            assert.strictEqual(outs.configurationId, layerId(inputs));
            await onDevices(ALL, IMAGE_A, () => [STAND_IN_BASE_ID, outs.configurationId]);
            await r.inspect(async () => {
                await assertConfigurations(r.hub, [STAND_IN_BASE_ID, outs.configurationId]);
                const stored = (await r.hub.registry().getConfiguration(outs.configurationId)).responseBody as unknown as {
                    priority: number;
                    content: { modulesContent: Record<string, Record<string, unknown>> };
                    systemMetrics: { results: Record<string, number> };
                };
                assert.strictEqual(stored.priority, 10);
                assert.ok("properties.desired.modules.scoring" in stored.content.modulesContent.$edgeAgent);
                assert.ok(!("properties.desired" in stored.content.modulesContent.$edgeAgent), "a layer, not a base");
                assert.deepStrictEqual(stored.systemMetrics.results, {
                    targetedCount: 4,
                    appliedCount: 4,
                    reportedSuccessfulCount: 4,
                    reportedFailedCount: 0,
                });
            });
        });

        it("new content is a new layer, verified while the old one is still in the hub; the old one goes after, and no device is without the module in between", async () => {
            await start();
            const olds = (await r.provider.create(layer(IMAGE_A))).outs as EdgeDeploymentOutputs;
            const news = layer(IMAGE_B);
            assert.deepStrictEqual((await r.provider.diff(olds.configurationId, olds, news)).replaces, ["content"]);
            const since = r.received.length;
            const outs = (await r.provider.create(news)).outs as EdgeDeploymentOutputs;
            assert.notStrictEqual(outs.configurationId, olds.configurationId);
            // Verified (its label cleared) with the old layer still there: at the same priority, the newer one wins.
            await r.inspect(() => assertConfigurations(r.hub, [STAND_IN_BASE_ID, olds.configurationId, outs.configurationId]));
            await onDevices(ALL, IMAGE_B, () => [STAND_IN_BASE_ID, olds.configurationId, outs.configurationId]);
            await r.provider.delete(olds.configurationId, olds);
            await r.inspect(() => assertConfigurations(r.hub, [STAND_IN_BASE_ID, outs.configurationId]));
            await onDevices(ALL, IMAGE_B, () => [STAND_IN_BASE_ID, outs.configurationId]);
            const received = r.received.slice(since);
            assert.ok(received.length >= ALL.length);
            assert.deepStrictEqual(
                received.filter((x) => x.image !== IMAGE_B),
                [],
                "every manifest sent since runs the new image",
            );
        });

        it("a failing layer is removed, and the devices keep their base deployment alone", async () => {
            await start({ "edge-2": on(IMAGE_A, ERROR_500) });
            const inputs = layer(IMAGE_A);
            const message = await failureOf(r.provider.create(inputs));
            assert.match(
                message,
                new RegExp(
                    `^deployment ${layerId(inputs)}: 1 of 4 device\\(s\\) report failure: edge-2 \\(edgeAgent status 500: "module scoring`,
                ),
            );
            assert.match(
                message,
                new RegExp(
                    `; removed ${layerId(inputs)}\\. No earlier layer of this stack targets the devices: they return to their base deployment alone\\.$`,
                ),
            );
            await r.inspect(() => assertConfigurations(r.hub, [STAND_IN_BASE_ID]));
            await onDevices(ALL, undefined, () => [STAND_IN_BASE_ID]);
        });

        it("a failing new layer is removed, and the devices report the previous layer again", async () => {
            await start({ "edge-2": on(IMAGE_B, ERROR_500) });
            const olds = (await r.provider.create(layer(IMAGE_A))).outs as EdgeDeploymentOutputs;
            const news = layer(IMAGE_B);
            const message = await failureOf(r.provider.create(news));
            assert.match(message, new RegExp(`^deployment ${layerId(news)}: 1 of 4 device\\(s\\) report failure: edge-2`));
            assert.match(
                message,
                new RegExp(
                    `rolled back to ${escaped(IMAGE_A)}: removed ${layerId(news)}, and 4 device\\(s\\) report the previous deployment ${olds.configurationId} again`,
                ),
            );
            await r.inspect(() => assertConfigurations(r.hub, [STAND_IN_BASE_ID, olds.configurationId]));
            await onDevices(ALL, IMAGE_A, () => [STAND_IN_BASE_ID, olds.configurationId]);
        });

        it("a canary ring of layers: the ring's layer first, then the fleet's; on the ring both merge, the ring's on top", async () => {
            await start();
            const ringed = (image: string) => layer(image, { canary: CANARY });
            const olds = (await r.provider.create(ringed(IMAGE_A))).outs as EdgeDeploymentOutputs;
            assert.strictEqual(olds.canaryConfigurationId, canaryConfigurationId(olds.name, olds.contentHash));
            await settledRinged(olds, IMAGE_A);
            const since = r.received.length;
            const outs = (await r.provider.create(ringed(IMAGE_B))).outs as EdgeDeploymentOutputs;
            // Each device's first manifest with the new image (the ring's gets another when the fleet's layer merges too).
            const order = [
                ...new Set(
                    r.received
                        .slice(since)
                        .filter((x) => x.image === IMAGE_B)
                        .map((x) => x.deviceId),
                ),
            ];
            assert.deepStrictEqual(order[0], "ring-1", `ring first: ${order.join(", ")}`);
            assert.deepStrictEqual(order.slice(1).sort(), REST);
            await r.provider.delete(olds.configurationId, olds);
            await settledRinged(outs, IMAGE_B);
        });

        it("a failing canary layer: removed, and the fleet never sees the new content", async () => {
            await start({ "ring-1": on(IMAGE_B, ERROR_500) });
            const olds = (await r.provider.create(layer(IMAGE_A, { canary: CANARY }))).outs as EdgeDeploymentOutputs;
            const since = r.received.length;
            const news = layer(IMAGE_B, { canary: CANARY });
            const message = await failureOf(r.provider.create(news));
            assert.match(
                message,
                new RegExp(
                    `^canary stage: deployment ${canaryConfigurationId(news.name, hashOf(news))}: 1 of 1 device\\(s\\) report failure: ring-1`,
                ),
            );
            assert.match(
                message,
                new RegExp(`rolled back to ${escaped(IMAGE_A)}: removed ${canaryConfigurationId(news.name, hashOf(news))}, and`),
            );
            assert.deepStrictEqual(
                r.received.slice(since).filter((x) => x.image === IMAGE_B && REST.includes(x.deviceId)),
                [],
                "no device outside the ring received it",
            );
            await settledRinged(olds, IMAGE_A);
        });

        it("more deployments than a free hub allows (10, counting the base, other teams' and ours) are refused before any is created", async () => {
            await start();
            const others = Array.from({ length: 8 }, (_, n) => `other-team-${n + 1}`);
            await r.inspect(async () => {
                for (const [n, id] of others.entries()) {
                    const content = {
                        modulesContent: { $edgeAgent: { [`properties.desired.modules.other${n}`]: { type: "docker" } }, $edgeHub: {} },
                    };
                    await r.hub
                        .registry()
                        .addConfiguration({ id, content, targetCondition: "tags.team='other'", priority: 20 + n } as never);
                }
            });
            const held = [STAND_IN_BASE_ID, ...others];
            const ringed = layer(IMAGE_A, { canary: CANARY, hubDeploymentLimit: 10 });
            const message = await failureOf(r.provider.create(ringed));
            assert.match(
                message,
                new RegExp(
                    `^the hub layered-hub holds 9 deployment\\(s\\) \\(${escaped(held.join("; "))}\\) and this rollout adds ${canaryConfigurationId(ringed.name, hashOf(ringed))}, ${layerId(ringed)} ` +
                        "while the previous ones stay until it is verified: 11, above the 10 the free tier \\(iotHubSku F1\\) allows\\. Nothing was created",
                ),
            );
            await r.inspect(() => assertConfigurations(r.hub, held));
            // Without the ring the layer fits (10); its next content would not (the old layer stays until the new one is verified).
            const outs = (await r.provider.create(layer(IMAGE_A, { hubDeploymentLimit: 10 }))).outs as EdgeDeploymentOutputs;
            const next = layer(IMAGE_B, { hubDeploymentLimit: 10 });
            assert.match(await failureOf(r.provider.create(next)), new RegExp(`adds ${layerId(next)} while .*: 11, above the 10`));
            await r.inspect(() => assertConfigurations(r.hub, [...held, outs.configurationId]));
        });

        it("a layer IoT Hub does not merge (the base is above it, basePriority out of date) fails verification naming the devices", async () => {
            await start({}, 20);
            const inputs = layer(IMAGE_A);
            const message = await failureOf(r.provider.create(inputs));
            assert.match(
                message,
                new RegExp(
                    `^deployment ${layerId(inputs)} not confirmed within 30s \\(targeted 4, applied 0, reporting success 0, failure 0\\): ` +
                        "(ring-1|edge-\\d) \\(targeted, not applied: no base deployment there, or one at the layer's priority or above\\)",
                ),
            );
            assert.match(message, /No earlier layer of this stack targets the devices: they return to their base deployment alone\.$/);
            await r.inspect(() => assertConfigurations(r.hub, [STAND_IN_BASE_ID]));
            await onDevices(ALL, undefined, () => [STAND_IN_BASE_ID]);
        });

        it("an in-place priority change that takes the layer under its base fails verification, naming the devices", async () => {
            await start({}, 20);
            const olds = (await r.provider.create(layer(IMAGE_A, { priority: 30 }))).outs as EdgeDeploymentOutputs;
            const lower = layer(IMAGE_A, { priority: 15 });
            assert.deepStrictEqual((await r.provider.diff(olds.configurationId, olds, lower)).replaces, []);
            const message = await failureOf(r.provider.update(olds.configurationId, olds, lower));
            assert.match(
                message,
                new RegExp(
                    `^deployment ${olds.configurationId} not confirmed within 30s \\(targeted 4, applied 0, .*\\(targeted, not applied: `,
                ),
            );
        });
    });
}

describe("the offline plan and diff of a layered stack", function () {
    this.timeout(60_000);

    it("show the layer, what it adds to the base, and its stages", async () => {
        // prod does not verify rollouts, so its layer needs no base deployment in the offline hub.
        const overrides = { deploymentLayer: "layered", basePriority: 5 };
        const before = (await runOffline({ stack: "prod" })).plan;
        const after = (await runOffline({ stack: "prod", overrides })).plan;
        const stages = [
            "stage 1: fleet layer edgeml-prod-<content hash>, target tags.environment='prod' AND tags.fleet='anomaly-detection', priority 20 (above the base deployment's 5), not verified (verifyRollout false)",
            /^adds to the base deployment: module\(s\) scoring \(edgemlprodacr\.azurecr\.io\/edgeml\/scoring@sha256:[0-9a-f]{64}\); route\(s\) leafDevicesToScoring, scoringToUpstream; registry credentials for edgemlprodacr\.azurecr\.io$/,
            "then: the previous layer is deleted",
        ];
        const plan = formatPlan(after, false, { wide: true });
        const rollout = plan.split("\n").findIndex((line) => line.trim() === "rollout:");
        const lines = plan
            .split("\n")
            .slice(rollout + 1, rollout + 1 + stages.length)
            .map((line) => line.trim());
        for (const [n, stage] of stages.entries()) {
            if (typeof stage === "string") assert.strictEqual(lines[n], stage, plan);
            else assert.match(lines[n], stage, plan);
        }
        assert.match(plan, /manifest\.layer=on top of the base deployment at priority 5/);
        const diff = formatPlanDiff(await diffPlans(before, after), { stack: "prod", source: "the prod stack as a base deployment" });
        assert.match(diff, /^ {2}runtime \(system modules, edgeHub settings\): left to the base deployment$/m);
        assert.match(diff, /^ {2}layer: "base" -> "layered"$/m);
        assert.match(diff, /^ {2}base priority: 0 -> 5$/m);
        assert.match(diff, /^ {2}stage 1: fleet layer edgeml-prod-<content hash>/m);
        assert.doesNotMatch(diff, /module edgeHub: removed/);
    });
});
