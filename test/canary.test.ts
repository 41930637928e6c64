// Canary rings in fleet mode, against the IoT Hub emulator whose devices stand in for edgeAgent: the ring
// (canaryCondition) gets new content first, as a configuration at a higher priority than the fleet's, and is verified
// with its own timeout and success count; only then does the fleet's configuration move. A failed canary rolls back
// and the fleet never sees the new content. Every path runs twice, the second time with 429s and 503s injected.
// Also: the config keys, and the offline plan and diff showing the stages in order.
import * as assert from "assert";
import { loadConfig } from "../components/config/loader";
import {
    canaryConfigurationId,
    type CanarySettings,
    describeDeploymentChanges,
    type EdgeDeploymentInputs,
    type EdgeDeploymentOutputs,
    fleetConfigurationId,
} from "../components/iot";
import { contentHash } from "../components/iot/deploymentContent";
import { offlineHubs, runOffline } from "../offline";
import type { EdgeAgentRule } from "../offline/iothub-emulator";
import { IOTHUB_SWAGGER } from "../offline/reference-data";
import { deploymentInputs, IMAGE_A, IMAGE_B, manifestFor } from "../offline/sample-deployment";
import { diffPlans } from "../scripts/plan-diff";
import { formatPlanDiff } from "../scripts/plan-diff-format";
import { formatPlan } from "../scripts/plan-format";
import { configRejection, devConfigWith } from "./support/config-fixtures";
import {
    assertConfigurations,
    assertEveryDeviceOn,
    BACKOFF,
    ERROR_500,
    escaped,
    failureOf,
    OFFLINE,
    on,
    RolloutHub,
    startRolloutHub,
    FAULT_VARIANTS,
} from "./support/rollout-hub";
import { needsReference } from "./support/references";

const RING = ["ring-1", "ring-2"];
const REST = ["edge-1", "edge-2", "edge-3"];
const ALL = [...RING, ...REST];
const DEVICES = {
    ...Object.fromEntries(RING.map((id) => [id, { environment: "test", ring: "canary" }])),
    ...Object.fromEntries(REST.map((id) => [id, { environment: "test" }])),
};
const CANARY: CanarySettings = { condition: "tags.ring='canary'", priority: 11, timeoutSeconds: 60, minSuccessCount: 2 };

for (const [variant, faults] of FAULT_VARIANTS) {
    describe(`canary rings in fleet mode${variant}`, () => {
        needsReference(IOTHUB_SWAGGER);
        let r: RolloutHub;
        const start = async (rules: Record<string, EdgeAgentRule> = {}) =>
            (r = await startRolloutHub("canary-hub", DEVICES, rules, faults));
        afterEach(async () => r && (await r.stop()));

        const fleet = (image: string, overrides: Partial<EdgeDeploymentInputs> = {}) =>
            deploymentInputs(r.hub.connectionString, {
                mode: "fleet",
                deviceIds: [],
                content: manifestFor(image),
                verify: { enabled: true, timeoutSeconds: 30, pollSeconds: 5, moduleName: "scoring", image },
                canary: CANARY,
                ...overrides,
            });
        const hashOf = (inputs: EdgeDeploymentInputs) => contentHash(inputs.content, inputs.registryPassword);
        const fleetId = (inputs: EdgeDeploymentInputs) => fleetConfigurationId(inputs.name, hashOf(inputs));
        const canaryId = (inputs: EdgeDeploymentInputs) => canaryConfigurationId(inputs.name, hashOf(inputs));
        /** Sequence numbers of the successful creates of a configuration (PUT without a conflict). */
        const created = (id: string) =>
            r.hub.requestLog
                .filter((e) => e.method === "PUT" && e.path.startsWith(`/configurations/${id}?`) && e.status === 201)
                .map((e) => e.sequence);
        const configuration = async (id: string) =>
            (await r.hub.registry().getConfiguration(id)).responseBody as unknown as { priority: number; targetCondition: string };
        /** Which configuration each device's $edgeAgent twin records as applied. */
        const appliedTo = async (deviceId: string) => {
            const twin = (await r.hub.registry().getModuleTwin(deviceId, "$edgeAgent")).responseBody as unknown as {
                configurations?: Record<string, { status: string }>;
            };
            return Object.entries(twin.configurations ?? {}).find(([, c]) => c.status === "Applied")?.[0];
        };
        /** create(A) with the ring; B's inputs, a replacement. */
        const firstThen = async (image: string, overrides: Partial<EdgeDeploymentInputs> = {}) => {
            const olds = (await r.provider.create(fleet(IMAGE_A, overrides))).outs as EdgeDeploymentOutputs;
            const news = fleet(image, overrides);
            assert.deepStrictEqual((await r.provider.diff(olds.configurationId, olds, news)).replaces, ["content"]);
            return { olds, news, since: r.received.length };
        };

        it("the ring gets the new content first, at a higher priority, and the fleet's configuration moves only once the ring is verified", async () => {
            await start();
            const { olds, news, since } = await firstThen(IMAGE_B);
            assert.strictEqual(olds.canaryConfigurationId, canaryId(fleet(IMAGE_A)));
            await r.inspect(async () => {
                assert.deepStrictEqual(await configuration(olds.canaryConfigurationId!).then((c) => [c.priority, c.targetCondition]), [
                    11,
                    "tags.ring='canary'",
                ]);
                for (const id of RING) assert.strictEqual(await appliedTo(id), olds.canaryConfigurationId);
                for (const id of REST) assert.strictEqual(await appliedTo(id), olds.configurationId);
            });
            const outs = (await r.provider.create(news)).outs as EdgeDeploymentOutputs;
            // Stage 1 before stage 2, in the hub's own log, and on the devices: the whole ring before any other device.
            assert.ok(
                Math.max(...created(canaryId(news))) < Math.min(...created(fleetId(news))),
                "the canary configuration is created first",
            );
            const order = r.received
                .slice(since)
                .filter((x) => x.image === IMAGE_B)
                .map((x) => x.deviceId);
            assert.deepStrictEqual(order.slice(0, 2).sort(), RING, `ring first: ${order.join(", ")}`);
            assert.deepStrictEqual(order.slice(2).sort(), REST);
            await r.provider.delete(olds.configurationId, olds);
            await r.expectSettled([outs.canaryConfigurationId!, outs.configurationId], ALL, IMAGE_B);
        });

        it("a failed canary rolls back to the previous deployment and the fleet never sees the new content", async () => {
            await start({ "ring-1": on(IMAGE_B, ERROR_500) });
            const { olds, news, since } = await firstThen(IMAGE_B);
            const message = await failureOf(r.provider.create(news));
            assert.match(
                message,
                new RegExp(
                    `^canary stage: deployment ${canaryId(news)}: 1 of 2 device\\(s\\) report failure: ring-1 \\(edgeAgent status 500: "module scoring`,
                ),
            );
            assert.match(
                message,
                new RegExp(
                    `rolled back to ${escaped(IMAGE_A)}: removed ${canaryId(news)}, and 5 device\\(s\\) report the previous deployment ${olds.canaryConfigurationId}, ${olds.configurationId} again`,
                ),
            );
            assert.deepStrictEqual(created(fleetId(news)), [], "the fleet's configuration was never created");
            assert.deepStrictEqual(
                r.received.slice(since).filter((x) => x.image === IMAGE_B && REST.includes(x.deviceId)),
                [],
                "no device outside the ring received it",
            );
            await r.expectSettled([olds.canaryConfigurationId!, olds.configurationId], ALL, IMAGE_A);
        });

        it("the ring verified but the fleet failing: both new configurations are removed, every device back on the previous content", async () => {
            await start({ "edge-2": on(IMAGE_B, ERROR_500) });
            const { olds, news } = await firstThen(IMAGE_B);
            const message = await failureOf(r.provider.create(news));
            assert.match(
                message,
                new RegExp(
                    `^fleet stage: deployment ${fleetId(news)}: 1 of 3 device\\(s\\) report failure: edge-2 \\(edgeAgent status 500`,
                ),
            );
            assert.match(
                message,
                new RegExp(`rolled back to ${escaped(IMAGE_A)}: removed ${canaryId(news)}, ${fleetId(news)}, and 5 device\\(s\\) report`),
            );
            await r.expectSettled([olds.canaryConfigurationId!, olds.configurationId], ALL, IMAGE_A);
        });

        it("a ring short of canaryMinSuccessCount (a device offline) times out after canaryTimeoutSeconds and rolls back", async () => {
            await start();
            const { olds, news } = await firstThen(IMAGE_B);
            r.setAgent("ring-2", OFFLINE);
            const message = await failureOf(r.provider.create(news));
            assert.match(
                message,
                new RegExp(
                    `^canary stage: deployment ${canaryId(news)} not confirmed within 60s \\(targeted 2, applied 2, reporting success 1, failure 0, needs 2 reporting success\\): ring-2 \\(edgeAgent has not reported`,
                ),
            );
            assert.match(message, /rolled back to .*not waited for: 1 device\(s\) that never reported on the new deployment \(ring-2\)/);
            assert.deepStrictEqual(created(fleetId(news)), []);
            await r.expectSettled([olds.canaryConfigurationId!, olds.configurationId], ALL, IMAGE_A, ["ring-2"]);
        });

        it("the scoring module stuck in backoff on the ring: the canary times out naming it, and rolls back", async () => {
            await start({ "ring-2": on(IMAGE_B, BACKOFF) });
            const { olds, news } = await firstThen(IMAGE_B);
            const message = await failureOf(r.provider.create(news));
            assert.match(
                message,
                new RegExp(`^canary stage: deployment ${canaryId(news)} not confirmed within 60s .*: ring-2 \\(module scoring is backoff`),
            );
            await r.expectSettled([olds.canaryConfigurationId!, olds.configurationId], ALL, IMAGE_A);
        });

        it("the first rollout's canary failing: nothing earlier to return to, and nothing left behind", async () => {
            await start({ "ring-2": on(IMAGE_A, ERROR_500) });
            const message = await failureOf(r.provider.create(fleet(IMAGE_A)));
            assert.match(
                message,
                /^canary stage: .*; removed edgeml-test-[0-9a-f]{12}-canary\. No earlier deployment of this stack targets the devices/,
            );
            await r.inspect(() => assertConfigurations(r.hub, []));
        });

        it("in place: a ring added to a running fleet is verified on the current content; its priority changes in place; removed, its configuration goes", async () => {
            await start();
            const plain = fleet(IMAGE_A, { canary: undefined });
            const olds = (await r.provider.create(plain)).outs as EdgeDeploymentOutputs;
            const withRing = fleet(IMAGE_A);
            const diff = await r.provider.diff(olds.configurationId, olds, withRing);
            assert.deepStrictEqual([diff.changes, diff.replaces], [true, []]);
            assert.deepStrictEqual(describeDeploymentChanges(olds, withRing), [
                "canary: none -> tags.ring='canary' at priority 11, 2 device(s) within 60s",
            ]);
            const ringed = (await r.provider.update(olds.configurationId, olds, withRing)).outs as EdgeDeploymentOutputs;
            assert.strictEqual(ringed.canaryConfigurationId, canaryId(withRing));
            await r.inspect(async () => {
                await assertConfigurations(r.hub, [ringed.canaryConfigurationId!, olds.configurationId]);
                for (const id of RING) assert.strictEqual(await appliedTo(id), ringed.canaryConfigurationId);
            });
            const higher = fleet(IMAGE_A, { canary: { ...CANARY, priority: 15 } });
            const moved = (await r.provider.update(olds.configurationId, ringed, higher)).outs as EdgeDeploymentOutputs;
            await r.inspect(async () => {
                assert.strictEqual((await configuration(moved.canaryConfigurationId!)).priority, 15);
                await assertConfigurations(r.hub, [moved.canaryConfigurationId!, olds.configurationId]);
            });
            const removed = (await r.provider.update(olds.configurationId, moved, plain)).outs as EdgeDeploymentOutputs;
            assert.strictEqual(removed.canaryConfigurationId, "");
            await r.inspect(async () => {
                await assertConfigurations(r.hub, [olds.configurationId]);
                for (const id of ALL) assert.strictEqual(await appliedTo(id), olds.configurationId);
                await assertEveryDeviceOn(r.hub, ALL, IMAGE_A);
            });
            // Destroying a ringed deployment removes both configurations.
            const again = (await r.provider.update(olds.configurationId, removed, withRing)).outs as EdgeDeploymentOutputs;
            await r.provider.delete(again.configurationId, again);
            await r.inspect(() => assertConfigurations(r.hub, []));
        });
    });
}

describe("canary and rollback configuration keys", () => {
    const rejection = (overrides: Record<string, unknown>): string => configRejection(overrides).message;

    it("defaults: rollback on, no canary; a canary's priority is the fleet's plus one unless chosen", () => {
        const dev = loadConfig(devConfigWith({})).deployment;
        assert.deepStrictEqual([dev.rollbackOnFailure, dev.canary], [true, undefined]);
        assert.strictEqual(loadConfig(devConfigWith({ rollbackOnFailure: false })).deployment.rollbackOnFailure, false);
        const ringed = loadConfig(
            devConfigWith({ deploymentMode: "fleet", deploymentPriority: 20, canaryCondition: "tags.ring='canary'" }),
        ).deployment;
        assert.deepStrictEqual(ringed.canary, { condition: "tags.ring='canary'", priority: 21, timeoutSeconds: 600, minSuccessCount: 1 });
        const chosen = loadConfig(
            devConfigWith({
                deploymentMode: "fleet",
                canaryCondition: "tags.ring='canary'",
                canaryPriority: 50,
                canaryTimeoutSeconds: 120,
                canaryMinSuccessCount: 3,
            }),
        ).deployment;
        assert.deepStrictEqual(chosen.canary, { condition: "tags.ring='canary'", priority: 50, timeoutSeconds: 120, minSuccessCount: 3 });
    });

    it("a canary key in device mode is an error naming both keys", () => {
        const message = rejection({ canaryCondition: "tags.ring='canary'" });
        assert.match(
            message,
            /edgeml:canaryCondition = "tags.ring='canary'" is invalid: a canary stage needs fleet mode, but edgeml:deploymentMode is "device"/,
        );
        assert.match(
            rejection({ canaryMinSuccessCount: 2 }),
            /edgeml:canaryMinSuccessCount = "2" is invalid: a canary stage needs fleet mode, but edgeml:deploymentMode is "device"/,
        );
    });

    it("a canary priority not above the fleet's, a canary setting without a condition, and out-of-range values are errors naming the keys", () => {
        const fleet = { deploymentMode: "fleet", deploymentPriority: 20, canaryCondition: "tags.ring='canary'" };
        assert.match(
            rejection({ ...fleet, canaryPriority: 20 }),
            /edgeml:canaryPriority = "20" is invalid: must exceed edgeml:deploymentPriority \(20\)/,
        );
        assert.match(
            rejection({ deploymentMode: "fleet", canaryTimeoutSeconds: 120 }),
            /edgeml:canaryTimeoutSeconds = "120" is invalid: configures the canary stage, which edgeml:canaryCondition turns on/,
        );
        assert.match(
            rejection({ ...fleet, canaryMinSuccessCount: 0 }),
            /edgeml:canaryMinSuccessCount = "0" is invalid: must be a whole number from 1 to/,
        );
        assert.match(
            rejection({ ...fleet, canaryTimeoutSeconds: 5 }),
            /edgeml:canaryTimeoutSeconds = "5" is invalid: must be a whole number from 10 to 3600/,
        );
        assert.match(
            rejection({ rollbackOnFailure: "sometimes" }),
            /edgeml:rollbackOnFailure = "sometimes" is invalid: must be true or false/,
        );
    });
});

describe("the offline plan and diff of a canary rollout", function () {
    this.timeout(60_000);

    it("list the stages in order with their target conditions; the offline hub gets stand-ins for the ring", async () => {
        const overrides = { canaryCondition: "tags.ring='canary'", canaryMinSuccessCount: 2, verifyRollout: true };
        const before = (await runOffline({ stack: "prod" })).plan;
        const after = (await runOffline({ stack: "prod", overrides })).plan;
        const stages = [
            "stage 1: canary deployment edgeml-prod-<content hash>-canary, target tags.ring='canary', priority 21, must verify 2 device(s) within 600s",
            "stage 2: fleet deployment edgeml-prod-<content hash>, target tags.environment='prod' AND tags.fleet='anomaly-detection', priority 20, must verify every targeted device within 600s",
            "then: the previous deployment is deleted",
            "on failure: the new deployment(s) are removed, the devices return to the previous one by priority, then the up fails",
        ];
        const plan = formatPlan(after);
        assert.ok(plan.includes(["      rollout:", ...stages.map((s) => `        ${s}`)].join("\n")), plan);
        const diff = formatPlanDiff(await diffPlans(before, after), { stack: "prod", source: "the prod stack without a ring" });
        assert.ok(diff.includes(["Rollout stages, in order:", ...stages.map((s) => `  ${s}`)].join("\n")), diff);
        assert.match(diff, /^ {2}canary: none -> tags.ring='canary' at priority 21, 2 device\(s\) within 600s$/m);
        const hub = offlineHubs().get("edgeml-prod-hub.azure-devices.net")!;
        const ids = ((await hub.registry().getConfigurations()).responseBody as Array<{ id: string }>).map((c) => c.id).sort();
        assert.deepStrictEqual(ids.length, 2);
        assert.match(ids[0], /^edgeml-prod-[0-9a-f]{12}$/);
        assert.strictEqual(ids[1], `${ids[0]}-canary`);
        const standIns = ((await hub.registry().list()).responseBody as Array<{ deviceId: string }>)
            .map((d) => d.deviceId)
            .filter((id) => id.startsWith("canary-stand-in"));
        assert.deepStrictEqual(standIns.sort(), ["canary-stand-in-1", "canary-stand-in-2"]);
    });
});
