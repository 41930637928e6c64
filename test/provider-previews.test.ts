// What the engine does with the dynamic providers during `pulumi preview` and across a replaced hub:
// - a preview passes the unknown value for every input that depends on something being created or replaced, and
//   check and diff must take it in any input (no throw, `changes` where the outcome depends on it, replacements
//   only from known values), as pulumi-command's resources skip checks of inputs not known yet;
// - a hub replaced under the same name (a new location, say) has new keys and none of the old identities and
//   deployments: the dependents see new credentials, update, and converge (the identity is registered again).
import * as assert from "assert";
import {
    EdgeDeploymentProvider,
    type EdgeDeploymentOutputs,
    EdgeDeviceProvider,
    type EdgeDeviceInputs,
    type EdgeDeviceOutputs,
} from "../components/iot";
import { UNKNOWN_VALUE } from "../components/shared";
import { startIotHubEmulator } from "../offline/iothub-emulator";
import { IOTHUB_SWAGGER } from "../offline/reference-data";
import { deploymentInputs, IMAGE_B, manifestFor } from "../offline/sample-deployment";
import { FAST_RETRY } from "./support/fast-retry";
import { needsReference } from "./support/references";

const CONNECTION = "HostName=h.azure-devices.net;SharedAccessKeyName=iothubowner;SharedAccessKey=AAAA";
const deviceInputs: EdgeDeviceInputs = { serviceConnectionString: CONNECTION, deviceId: "edge-1", tags: { environment: "dev" } };
const deviceOlds: EdgeDeviceOutputs = {
    ...deviceInputs,
    hostName: "h.azure-devices.net",
    connectionString: "c",
    configToml: "t",
    adopted: false,
};

/** The inputs with one of them unknown, for each input in turn. */
function eachUnknown<T extends object>(inputs: T): Array<[string, T]> {
    return Object.keys(inputs).map((key) => [key, { ...inputs, [key]: UNKNOWN_VALUE }]);
}

describe("dynamic providers in a preview: unknown inputs", () => {
    it("EdgeDevice: check and diff take an unknown in any input, and replace only on a known new id or hub", async () => {
        const provider = new EdgeDeviceProvider();
        for (const [key, news] of eachUnknown(deviceInputs)) {
            assert.deepStrictEqual((await provider.check(undefined, news)).failures, [], key);
            const diff = await provider.diff("edge-1", deviceOlds, news);
            assert.strictEqual(diff.changes, true, `${key} unknown: a change to look at`);
            assert.deepStrictEqual(diff.replaces, [], `${key} unknown: no replacement decided from it`);
        }
        // Known values still decide.
        assert.deepStrictEqual((await provider.diff("edge-1", deviceOlds, { ...deviceInputs, deviceId: "edge-2" })).replaces, ["deviceId"]);
        assert.strictEqual((await provider.diff("edge-1", deviceOlds, deviceInputs)).changes, false);
    });

    it("EdgeDeployment: check and diff take an unknown in any input, in both modes", async () => {
        const provider = new EdgeDeploymentProvider();
        for (const mode of ["device", "fleet"] as const) {
            const inputs = deploymentInputs(CONNECTION, { mode });
            const olds: EdgeDeploymentOutputs = {
                ...inputs,
                hostName: "h.azure-devices.net",
                contentHash: "0",
                configurationId: "c",
                appliedVersions: {},
            };
            for (const [key, news] of eachUnknown(inputs)) {
                assert.deepStrictEqual((await provider.check(undefined, news)).failures, [], `${mode} ${key}`);
                const diff = await provider.diff("c", olds, news);
                assert.strictEqual(diff.changes, true, `${mode}: ${key} unknown is a change to look at`);
                // Fleet content that cannot be hashed yet is not a replacement until it is known; olds' hash "0"
                // differs from any real one, so only a known content/password pair replaces here.
                const expected = mode === "fleet" && !["content", "registryPassword", "mode"].includes(key) ? ["content"] : [];
                assert.deepStrictEqual(diff.replaces, expected, `${mode}: ${key} unknown`);
            }
        }
        const fleet = deploymentInputs(CONNECTION, { mode: "fleet" });
        const changed = await provider.diff(
            "c",
            { ...fleet, hostName: "h.azure-devices.net", contentHash: "0", configurationId: "c", appliedVersions: {} },
            {
                ...fleet,
                content: UNKNOWN_VALUE as never,
            },
        );
        assert.ok(changed.changes);
        const { describeDeploymentChanges } = await import("../components/iot");
        assert.deepStrictEqual(describeDeploymentChanges(fleet, { ...fleet, content: UNKNOWN_VALUE as never }), [
            "manifest: known after apply",
        ]);
        assert.ok(
            describeDeploymentChanges(fleet, { ...fleet, content: manifestFor(IMAGE_B) }).some((line) =>
                line.startsWith("module scoring: image"),
            ),
        );
    });
});

describe("dynamic providers in a preview: the canary ring and rollback inputs", () => {
    const canary = { condition: "tags.ring='canary'", priority: 11, timeoutSeconds: 60, minSuccessCount: 1 };

    it("EdgeDeployment: check and diff take an unknown anywhere in the canary settings or rollbackOnFailure", async () => {
        const provider = new EdgeDeploymentProvider();
        const inputs = deploymentInputs(CONNECTION, { mode: "fleet", canary });
        const olds: EdgeDeploymentOutputs = {
            ...inputs,
            hostName: "h.azure-devices.net",
            contentHash: "0",
            configurationId: "c",
            canaryConfigurationId: "c-canary",
            appliedVersions: {},
        };
        const variants: Array<[string, typeof inputs]> = [
            ...eachUnknown(inputs),
            ...eachUnknown(canary).map(([key, partial]): [string, typeof inputs] => [`canary.${key}`, { ...inputs, canary: partial }]),
        ];
        for (const [key, news] of variants) {
            assert.deepStrictEqual((await provider.check(undefined, news)).failures, [], key);
            const diff = await provider.diff("c", olds, news);
            assert.strictEqual(diff.changes, true, `${key} unknown is a change to look at`);
            const expected = !["content", "registryPassword", "mode"].includes(key) ? ["content"] : [];
            assert.deepStrictEqual(diff.replaces, expected, `${key} unknown: replaced only from known content`);
        }
        const { describeDeploymentChanges, describeRolloutStages } = await import("../components/iot");
        const unknownCondition = { ...inputs, canary: { ...canary, condition: UNKNOWN_VALUE } };
        assert.deepStrictEqual(describeDeploymentChanges(inputs, unknownCondition), ["canary: known after apply"]);
        assert.deepStrictEqual(describeDeploymentChanges(inputs, { ...inputs, rollbackOnFailure: UNKNOWN_VALUE as never }), [
            "rollback on failure: known after apply",
        ]);
        assert.match(
            describeRolloutStages(unknownCondition)[0],
            /^stage 1: canary deployment edgeml-test-<content hash>-canary, target \(known after apply\), priority 11/,
        );
        // State written before the keys existed: rollback on, no ring; the same program is no change.
        const { rollbackOnFailure: _rollback, canary: _canary, ...before } = olds;
        assert.deepStrictEqual(describeDeploymentChanges(before, { ...inputs, canary: undefined }), []);
    });

    it("EdgeDeployment: check refuses a ring in device mode and a canary priority not above the fleet's, once known", async () => {
        const provider = new EdgeDeploymentProvider();
        const device = await provider.check(undefined, deploymentInputs(CONNECTION, { mode: "device", canary }));
        assert.deepStrictEqual(device.failures, [{ property: "canary", reason: "a canary stage needs fleet mode" }]);
        const low = await provider.check(undefined, deploymentInputs(CONNECTION, { mode: "fleet", canary: { ...canary, priority: 10 } }));
        assert.deepStrictEqual(low.failures, [{ property: "canary.priority", reason: "10 must exceed the fleet's priority 10" }]);
        const unknownPriority = await provider.check(
            undefined,
            deploymentInputs(CONNECTION, { mode: "fleet", priority: UNKNOWN_VALUE as never, canary: { ...canary, priority: 10 } }),
        );
        assert.deepStrictEqual(unknownPriority.failures, []);
    });
});

describe("a hub replaced under the same name: dependents converge", () => {
    needsReference(IOTHUB_SWAGGER);
    it("EdgeDevice sees new credentials as a change and registers the identity again in the new hub", async () => {
        const before = await startIotHubEmulator({ hubName: "same-name-hub" });
        const after = await startIotHubEmulator({ hubName: "same-name-hub" });
        try {
            const created = await new EdgeDeviceProvider(before.registryFactory, FAST_RETRY).create({
                ...deviceInputs,
                serviceConnectionString: before.connectionString,
            });
            const olds = created.outs as EdgeDeviceOutputs;
            const provider = new EdgeDeviceProvider(after.registryFactory, FAST_RETRY);
            const news = { ...deviceInputs, serviceConnectionString: after.connectionString };
            const diff = await provider.diff("edge-1", olds, news);
            assert.deepStrictEqual([diff.changes, diff.replaces], [true, []], "same host name: an update, not a replacement");
            const updated = (await provider.update("edge-1", olds, news)).outs as EdgeDeviceOutputs;
            const key = (await after.registry().get("edge-1")).responseBody.authentication?.symmetricKey?.primaryKey;
            assert.ok(key && updated.connectionString.endsWith(`SharedAccessKey=${key}`), "the new hub's key for the identity");
            assert.notStrictEqual(updated.connectionString, olds.connectionString);
            assert.deepStrictEqual((await after.registry().getTwin("edge-1")).responseBody.tags, { environment: "dev" });
            assert.deepStrictEqual([...before.violations, ...after.violations], []);
        } finally {
            await Promise.all([before.stop(), after.stop()]);
        }
    });

    it("EdgeDeployment in fleet mode creates its configuration again when the new hub has none", async () => {
        const before = await startIotHubEmulator({ hubName: "same-name-hub" });
        const after = await startIotHubEmulator({ hubName: "same-name-hub" });
        try {
            const inputs = deploymentInputs(before.connectionString, { mode: "fleet" });
            const olds = (await new EdgeDeploymentProvider(before.registryFactory, FAST_RETRY).create(inputs))
                .outs as EdgeDeploymentOutputs;
            const provider = new EdgeDeploymentProvider(after.registryFactory, FAST_RETRY);
            const news = { ...inputs, serviceConnectionString: after.connectionString, priority: 30 };
            assert.strictEqual((await provider.diff(olds.configurationId, olds, news)).changes, true);
            const updated = (await provider.update(olds.configurationId, olds, news)).outs as EdgeDeploymentOutputs;
            const configuration = (await after.registry().getConfiguration(updated.configurationId)).responseBody;
            assert.strictEqual(configuration.priority, 30);
            assert.deepStrictEqual([...before.violations, ...after.violations], []);
        } finally {
            await Promise.all([before.stop(), after.stop()]);
        }
    });
});
