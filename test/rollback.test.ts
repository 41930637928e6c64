// Automatic rollback when rollout verification fails, against the IoT Hub emulator whose devices stand in for
// edgeAgent: success, an error (500 with a description), the scoring module stuck in backoff, or nothing (offline).
// The provider's methods are called in the order the Pulumi engine calls them: an update that throws leaves the
// previous state (olds) in place, and a replacement's create that throws is never followed by the old one's delete.
// Every path runs twice, the second time with 429s and 503s injected, and ends with every device on a verified
// manifest and no duplicated or leftover configuration.
import * as assert from "assert";
import { type EdgeDeploymentInputs, type EdgeDeploymentOutputs, fleetConfigurationId } from "../components/iot";
import { contentHash } from "../components/iot/deploymentContent";
import { deploymentInputs, IMAGE_A, IMAGE_B, manifestFor } from "../offline/sample-deployment";
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
    SUCCESS,
    FAULT_VARIANTS,
} from "./support/rollout-hub";
import type { EdgeAgentRule } from "../offline/iothub-emulator";
import { IOTHUB_SWAGGER } from "../offline/reference-data";
import { needsReference } from "./support/references";

const IMAGE_C = `testacr.azurecr.io/edgeml/scoring@sha256:${"c".repeat(64)}`;
const DEVICES = ["edge-1", "edge-2", "edge-3"];
const TAGGED = Object.fromEntries(DEVICES.map((id) => [id, { environment: "test" }]));
/** Without faults, hub calls that keep failing give up in a moment (the failed-rollback paths). */
const SHORT_RETRY = { baseDelayMs: 1, maxDelayMs: 5, deadlineMs: 200 };

for (const [variant, faults] of FAULT_VARIANTS) {
    describe(`rollback when verification fails${variant}`, () => {
        needsReference(IOTHUB_SWAGGER);
        let r: RolloutHub;
        const start = async (rules: Record<string, EdgeAgentRule> = {}, retry?: typeof SHORT_RETRY) => {
            r = await startRolloutHub("rollback-hub", TAGGED, rules, faults, retry);
            return r;
        };
        afterEach(async () => r && (await r.stop()));

        const verified = (image: string, overrides: Partial<EdgeDeploymentInputs> = {}) =>
            deploymentInputs(r.hub.connectionString, {
                content: manifestFor(image),
                verify: { enabled: true, timeoutSeconds: 30, pollSeconds: 5, moduleName: "scoring", image },
                ...overrides,
            });

        describe("device mode", () => {
            /** create(A), then the engine's update(olds, B): returns olds and B's inputs. */
            const firstThen = async (image: string, overrides: Partial<EdgeDeploymentInputs> = {}) => {
                const olds = (await r.provider.create(verified(IMAGE_A, overrides))).outs as EdgeDeploymentOutputs;
                const news = verified(image, overrides);
                assert.deepStrictEqual((await r.provider.diff("d", olds, news)).replaces, [], "an update in place");
                return { olds, news };
            };

            it("rolls forward when every edgeAgent reports success", async () => {
                await start();
                const { olds, news } = await firstThen(IMAGE_B);
                await r.provider.update("d", olds, news);
                await r.inspect(() => assertEveryDeviceOn(r.hub, DEVICES, IMAGE_B));
            });

            it("an edgeAgent error: the previous manifest goes back to every device, the up fails naming the device, and the next up after a fix rolls forward", async () => {
                await start({ "edge-2": on(IMAGE_B, ERROR_500) });
                const { olds, news } = await firstThen(IMAGE_B);
                const message = await failureOf(r.provider.update("d", olds, news));
                assert.match(
                    message,
                    new RegExp(
                        `^rollout failed on edge-2 \\(edgeAgent status 500: ${escaped(JSON.stringify(ERROR_500.report === "error" && ERROR_500.description))}\\)`,
                    ),
                );
                assert.match(
                    message,
                    new RegExp(
                        `rolled back to ${escaped(IMAGE_A)}: the previous manifest was re-applied to 3 device\\(s\\) and 3 report it running`,
                    ),
                );
                await r.inspect(() => assertEveryDeviceOn(r.hub, DEVICES, IMAGE_A));
                // The update threw, so the engine keeps olds: the same program is still a change to roll out.
                assert.strictEqual((await r.provider.diff("d", olds, news)).changes, true);
                // Going back to the previous manifest is no change at all: the devices run it already.
                assert.strictEqual((await r.provider.diff("d", olds, verified(IMAGE_A))).changes, false);
                r.setAgent("edge-2", SUCCESS);
                const outs = (await r.provider.update("d", olds, news)).outs as EdgeDeploymentOutputs;
                assert.strictEqual(outs.verify.image, IMAGE_B);
                await r.inspect(() => assertEveryDeviceOn(r.hub, DEVICES, IMAGE_B));
            });

            it("the scoring module stuck in backoff: times out naming it, and rolls back", async () => {
                await start({ "edge-3": on(IMAGE_B, BACKOFF) });
                const { olds, news } = await firstThen(IMAGE_B);
                const message = await failureOf(r.provider.update("d", olds, news));
                assert.match(
                    message,
                    /^rollout not confirmed within 30s on 1 device\(s\): edge-3 \(module scoring is backoff \("module exited with code 1/,
                );
                assert.match(message, new RegExp(`rolled back to ${escaped(IMAGE_A)}`));
                await r.inspect(() => assertEveryDeviceOn(r.hub, DEVICES, IMAGE_A));
            });

            it("a device that reports nothing (offline): rolls back without waiting for it; it takes the previous manifest when it connects", async () => {
                await start();
                const { olds, news } = await firstThen(IMAGE_B);
                r.setAgent("edge-3", OFFLINE);
                const message = await failureOf(r.provider.update("d", olds, news));
                assert.match(
                    message,
                    /^rollout not confirmed within 30s on 1 device\(s\): edge-3 \(edgeAgent has not reported desired version/,
                );
                assert.match(
                    message,
                    new RegExp(
                        `rolled back to ${escaped(IMAGE_A)}: .* and 2 report it running; 1 device\\(s\\) never reported and get it when they connect: edge-3`,
                    ),
                );
                await r.inspect(() => assertEveryDeviceOn(r.hub, DEVICES, IMAGE_A, ["edge-3"]));
                r.setAgent("edge-3", SUCCESS);
                await r.inspect(() => assertEveryDeviceOn(r.hub, DEVICES, IMAGE_A));
                assert.deepStrictEqual(
                    r.received.filter((x) => x.deviceId === "edge-3").map((x) => x.image),
                    [IMAGE_A, IMAGE_B, IMAGE_A],
                    "edge-3 saw B while offline only as desired state, and acted on the rollback once online",
                );
            });

            it("rollbackOnFailure false: the devices keep the new manifest", async () => {
                await start({ "edge-2": on(IMAGE_B, ERROR_500) });
                const { olds, news } = await firstThen(IMAGE_B, { rollbackOnFailure: false });
                assert.match(
                    await failureOf(r.provider.update("d", olds, news)),
                    /^rollout failed on edge-2 .*rollbackOnFailure is off: the devices keep the new manifest/,
                );
                await r.inspect(() => assertEveryDeviceOn(r.hub, ["edge-1", "edge-3"], IMAGE_B));
            });

            it("a rollback that fails (the device fails the previous manifest too) says so; after a fix the next up rolls forward", async () => {
                await start();
                const { olds, news } = await firstThen(IMAGE_B);
                r.setAgent("edge-2", ERROR_500);
                const message = await failureOf(r.provider.update("d", olds, news));
                assert.match(
                    message,
                    new RegExp(`^rollout failed on edge-2 .*; rollback to ${escaped(IMAGE_A)} failed on edge-2 \\(edgeAgent status 500`),
                );
                assert.match(message, /`pulumi up` again rolls out \(and, failing, rolls back\) once more, and after a fix rolls forward/);
                await r.inspect(() => assertEveryDeviceOn(r.hub, ["edge-1", "edge-3"], IMAGE_A));
                r.setAgent("edge-2", SUCCESS);
                await r.provider.update("d", olds, news);
                await r.inspect(() => assertEveryDeviceOn(r.hub, DEVICES, IMAGE_B));
            });

            it("the previous manifest goes back with the password it was verified with, also when the new one rotated it", async () => {
                await start({ "edge-1": on(IMAGE_B, ERROR_500) });
                const olds = (await r.provider.create(verified(IMAGE_A))).outs as EdgeDeploymentOutputs;
                const credentials = async () =>
                    r.inspect(
                        async () =>
                            ((await r.hub.registry().getModuleTwin("edge-1", "$edgeAgent")).responseBody as any).properties.desired.runtime
                                .settings.registryCredentials,
                    );
                // A rotation sends the token's other password; this stack revokes the old one only after that verified.
                assert.match(
                    await failureOf(r.provider.update("d", olds, verified(IMAGE_B, { registryPassword: "rotated" }))),
                    /rolled back to /,
                );
                assert.strictEqual((await credentials()).testacr.password, "test-registry-password");
                // Another registry (or pull token): the previous manifest's own credential, as it was.
                const elsewhere = JSON.parse(JSON.stringify(manifestFor(IMAGE_B)).replace(/testacr/g, "otheracr"));
                await failureOf(
                    r.provider.update("d", olds, { ...verified(IMAGE_B), content: elsewhere, registryPassword: "other-password" }),
                );
                assert.deepStrictEqual(Object.keys(await credentials()), ["testacr"]);
                assert.strictEqual((await credentials()).testacr.password, "test-registry-password");
            });

            if (!faults) {
                it("a rollback the hub refuses (503 until the retries give up) says so; a re-run rolls back, and after a fix rolls forward", async () => {
                    await start({ "edge-2": on(IMAGE_B, ERROR_500) }, SHORT_RETRY);
                    const { olds, news } = await firstThen(IMAGE_B);
                    // The three sends of B pass; every send after them (the rollback's) is refused.
                    r.hub.faults.configure({
                        operations: ["Configuration_ApplyOnEdgeDevice"],
                        script: ["pass", "pass", "pass"],
                        rates: { unavailable: 1 },
                    });
                    const message = await failureOf(r.provider.update("d", olds, news));
                    assert.match(
                        message,
                        new RegExp(`rollback to ${escaped(IMAGE_A)} failed: the deployment reached 0 of 3 devices; failed: edge-1 \\(`),
                    );
                    assert.match(message, /The devices it did not reach keep the new manifest; the stack still records the previous one/);
                    r.hub.faults.clear();
                    await assertEveryDeviceOn(r.hub, ["edge-1", "edge-3"], IMAGE_B);
                    // A re-run of the same program: rolls out, fails, and this time rolls back.
                    assert.match(await failureOf(r.provider.update("d", olds, news)), /rolled back to /);
                    await assertEveryDeviceOn(r.hub, DEVICES, IMAGE_A);
                    r.setAgent("edge-2", SUCCESS);
                    await r.provider.update("d", olds, news);
                    await assertEveryDeviceOn(r.hub, DEVICES, IMAGE_B);
                });
            }
        });

        describe("fleet mode", () => {
            const fleet = (image: string, overrides: Partial<EdgeDeploymentInputs> = {}) =>
                verified(image, { mode: "fleet", deviceIds: [], ...overrides });
            const idOf = (inputs: EdgeDeploymentInputs) =>
                fleetConfigurationId(inputs.name, contentHash(inputs.content, inputs.registryPassword));
            /** create(A); B's inputs, which the engine's diff replaces (create B, then delete A once B is created). */
            const firstThen = async (image: string, overrides: Partial<EdgeDeploymentInputs> = {}) => {
                const olds = (await r.provider.create(fleet(IMAGE_A, overrides))).outs as EdgeDeploymentOutputs;
                const news = fleet(image, overrides);
                const diff = await r.provider.diff(olds.configurationId, olds, news);
                assert.deepStrictEqual([diff.replaces, diff.deleteBeforeReplace], [["content"], false]);
                return { olds, news };
            };

            it("rolls forward: the new deployment verified, then the old one deleted", async () => {
                await start();
                const { olds, news } = await firstThen(IMAGE_B);
                await r.provider.create(news);
                await r.inspect(() => assertConfigurations(r.hub, [olds.configurationId, idOf(news)]));
                await r.provider.delete(olds.configurationId, olds);
                await r.expectSettled([idOf(news)], DEVICES, IMAGE_B);
            });

            it("an edgeAgent error: removes the new deployment, the devices report the old one again, the up fails naming the device; after a fix it rolls forward", async () => {
                await start({ "edge-2": on(IMAGE_B, ERROR_500) });
                const { olds, news } = await firstThen(IMAGE_B);
                const message = await failureOf(r.provider.create(news));
                assert.match(
                    message,
                    new RegExp(
                        `^deployment ${idOf(news)}: 1 of 3 device\\(s\\) report failure: edge-2 \\(edgeAgent status 500: "module scoring: container create failed`,
                    ),
                );
                assert.match(
                    message,
                    new RegExp(
                        `rolled back to ${escaped(IMAGE_A)}: removed ${idOf(news)}, and 3 device\\(s\\) report the previous deployment ${olds.configurationId} again`,
                    ),
                );
                // The create threw: the engine records nothing new and does not delete the old deployment.
                await r.expectSettled([olds.configurationId], DEVICES, IMAGE_A);
                assert.deepStrictEqual(
                    (await r.provider.diff(olds.configurationId, olds, news)).replaces,
                    ["content"],
                    "the next up tries again",
                );
                r.setAgent("edge-2", SUCCESS);
                await r.provider.create(news);
                await r.provider.delete(olds.configurationId, olds);
                await r.expectSettled([idOf(news)], DEVICES, IMAGE_B);
            });

            it("the scoring module stuck in backoff (which IoT Hub counts as success): times out naming it, and rolls back", async () => {
                await start({ "edge-3": on(IMAGE_B, BACKOFF) });
                const { olds, news } = await firstThen(IMAGE_B);
                const message = await failureOf(r.provider.create(news));
                assert.match(
                    message,
                    new RegExp(
                        `^deployment ${idOf(news)} not confirmed within 30s \\(targeted 3, applied 3, reporting success 3, failure 0\\): edge-3 \\(module scoring is backoff`,
                    ),
                );
                assert.match(message, new RegExp(`rolled back to ${escaped(IMAGE_A)}`));
                await r.expectSettled([olds.configurationId], DEVICES, IMAGE_A);
            });

            it("a device that reports nothing (offline): rolls back without waiting for it; it reports the old deployment when it connects", async () => {
                await start();
                const { olds, news } = await firstThen(IMAGE_B);
                r.setAgent("edge-3", OFFLINE);
                const message = await failureOf(r.provider.create(news));
                assert.match(
                    message,
                    /not confirmed within 30s \(targeted 3, applied 3, reporting success 2, failure 0\): edge-3 \(edgeAgent has not reported desired version/,
                );
                assert.match(
                    message,
                    new RegExp(
                        `rolled back to ${escaped(IMAGE_A)}: .*; not waited for: 1 device\\(s\\) that never reported on the new deployment \\(edge-3\\)`,
                    ),
                );
                await r.expectSettled([olds.configurationId], DEVICES, IMAGE_A, ["edge-3"]);
                r.setAgent("edge-3", SUCCESS);
                await r.inspect(() => assertEveryDeviceOn(r.hub, DEVICES, IMAGE_A));
            });

            it("the first rollout failing: its deployment is removed, with nothing earlier to return to", async () => {
                await start({ "edge-1": on(IMAGE_A, ERROR_500) });
                const message = await failureOf(r.provider.create(fleet(IMAGE_A)));
                assert.match(message, /removed edgeml-test-[0-9a-f]{12}\. No earlier deployment of this stack targets the devices/);
                await r.inspect(() => assertConfigurations(r.hub, []));
            });

            it("rollbackOnFailure false: the new deployment stays; the next rollout removes it before its own", async () => {
                await start({ "edge-2": on(IMAGE_B, ERROR_500) });
                const { olds, news } = await firstThen(IMAGE_B, { rollbackOnFailure: false });
                assert.match(
                    await failureOf(r.provider.create(news)),
                    /rollbackOnFailure is off: edgeml-test-[0-9a-f]{12} stay in the hub, outside the stack's state/,
                );
                await r.inspect(() => assertEveryDeviceOn(r.hub, ["edge-1", "edge-3"], IMAGE_B));
                const next = fleet(IMAGE_C, { rollbackOnFailure: false });
                await r.provider.create(next);
                await r.provider.delete(olds.configurationId, olds);
                await r.expectSettled([idOf(next)], DEVICES, IMAGE_C);
            });

            if (!faults) {
                it("a rollback that cannot remove the new deployment says so; a re-run removes it, and after a fix rolls forward", async () => {
                    await start({ "edge-2": on(IMAGE_B, ERROR_500) }, SHORT_RETRY);
                    const { olds, news } = await firstThen(IMAGE_B);
                    r.hub.faults.configure({ operations: ["Configuration_Delete"], rates: { unavailable: 1 } });
                    const message = await failureOf(r.provider.create(news));
                    assert.match(
                        message,
                        new RegExp(
                            `rollback failed: could not remove ${idOf(news)} \\(.*labelled edgemlRollout=verifying\\): \`pulumi up\` again removes it`,
                        ),
                    );
                    r.hub.faults.clear();
                    const ids = ((await r.hub.registry().getConfigurations()).responseBody as Array<{ id: string }>)
                        .map((c) => c.id)
                        .sort();
                    assert.deepStrictEqual(ids, [olds.configurationId, idOf(news)].sort());
                    // A re-run of the same program: the leftover is the one it creates again, fails again, and is removed.
                    assert.match(await failureOf(r.provider.create(news)), /rolled back to /);
                    await assertConfigurations(r.hub, [olds.configurationId]);
                    await assertEveryDeviceOn(r.hub, DEVICES, IMAGE_A);
                    // Once more without a fix, and the removal refused: then a fixed program's rollout removes the leftover first.
                    r.hub.faults.configure({ operations: ["Configuration_Delete"], rates: { unavailable: 1 } });
                    await failureOf(r.provider.create(news));
                    r.hub.faults.clear();
                    const fixed = fleet(IMAGE_C);
                    await r.provider.create(fixed);
                    await r.provider.delete(olds.configurationId, olds);
                    await assertConfigurations(r.hub, [idOf(fixed)]);
                    await assertEveryDeviceOn(r.hub, DEVICES, IMAGE_C);
                });
            }
        });
    });
}
