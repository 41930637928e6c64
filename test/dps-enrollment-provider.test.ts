// The EnrollmentGroup provider's CRUD, called directly against the DPS emulator through the real
// ProvisioningServiceClient (every request checked against the DPS service swagger), its devices registering with
// Microsoft's device SDK into a linked IoT Hub emulator; and its check and diff as a preview calls them.
import * as assert from "assert";
import { randomBytes } from "crypto";
import type { EnrollmentGroup } from "azure-iot-provisioning-service/dist/interfaces";
import {
    describeEnrollmentGroupChanges,
    EnrollmentGroupProvider,
    type EnrollmentGroupInputs,
    type EnrollmentGroupOutputs,
} from "../components/dps/enrollmentGroupProvider";
import type { ProvisioningClientFactory } from "../components/dps/dpsClient";
import { UNKNOWN_VALUE } from "../components/shared/unknown";
import { DpsEmulator, startDpsEmulator } from "../offline/dps-emulator";
import { IotHubEmulator, startIotHubEmulator } from "../offline/iothub-emulator";
import { DPS_SWAGGER, IOTHUB_SWAGGER } from "../offline/reference-data";
import { FAST_RETRY } from "./support/fast-retry";
import { deviceKey, registerDevice as register } from "./support/dps-devices";
import { GROUP_INPUTS, GROUP_OUTPUTS } from "./support/enrollment-group-fixtures";
import { needsReference } from "./support/references";

const bytesOf = (key: string) => Buffer.from(key, "base64").length;

describe("EnrollmentGroup provider (against the DPS emulator)", () => {
    needsReference(DPS_SWAGGER, IOTHUB_SWAGGER);
    let hub: IotHubEmulator;
    let dps: DpsEmulator;
    let provider: EnrollmentGroupProvider;
    /** The groups the provider's PUTs carried, in order (what the SDK serialized into each request body). */
    let written: EnrollmentGroup[];

    const inputs = (overrides: Partial<EnrollmentGroupInputs> = {}): EnrollmentGroupInputs => ({
        serviceConnectionString: dps.connectionString,
        enrollmentGroupId: "plant-edge",
        iotHubHostName: hub.hostName,
        tags: { environment: "dev", site: "plant-1" },
        iotEdge: true,
        keyRotation: 0,
        ...overrides,
    });

    /** The emulator's factory, recording every group the provider writes. */
    function recording(): ProvisioningClientFactory {
        return (connectionString) => {
            const client = dps.serviceClientFactory(connectionString);
            const put = client.createOrUpdateEnrollmentGroup.bind(client) as (group: EnrollmentGroup) => Promise<unknown>;
            client.createOrUpdateEnrollmentGroup = ((group: EnrollmentGroup) => {
                written.push(structuredClone(group));
                return put(group);
            }) as typeof client.createOrUpdateEnrollmentGroup;
            return client;
        };
    }

    beforeEach(async () => {
        hub = await startIotHubEmulator({ hubName: "provider-hub" });
        dps = await startDpsEmulator({ name: "provider-dps", linkedHubs: [hub] });
        written = [];
        provider = new EnrollmentGroupProvider(recording(), FAST_RETRY);
    });
    afterEach(async () => {
        if (dps) assert.deepStrictEqual(dps.violations, [], "every request the provider sent matches the DPS service swagger");
        await dps?.stop();
        await hub?.stop();
    });

    it("creates an enabled IoT Edge group with two generated keys, and its devices land in the hub with the tags", async () => {
        const { id, outs } = await provider.create(inputs());
        assert.strictEqual(id, "plant-edge");
        const group = dps.enrollmentGroup("plant-edge")!;
        assert.deepStrictEqual([group.primaryKey, group.secondaryKey], [outs.primaryKey, outs.secondaryKey]);
        assert.strictEqual(bytesOf(outs.primaryKey), 32);
        assert.strictEqual(bytesOf(outs.secondaryKey), 32);
        assert.notStrictEqual(outs.primaryKey, outs.secondaryKey);
        assert.strictEqual(outs.etag, group.etag);
        assert.strictEqual(outs.dpsHostName, "provider-dps.azure-devices-provisioning.net");
        assert.deepStrictEqual(
            { hub: group.iotHubHostName, edge: group.iotEdge, status: group.provisioningStatus, tags: group.tags },
            {
                hub: "provider-hub.azure-devices.net",
                edge: true,
                status: "enabled",
                tags: { environment: "dev", site: "plant-1" },
            },
        );
        assert.strictEqual(written[0].etag, undefined, "a create sends no If-Match");

        const result = await register(dps, "plant-1-001", deviceKey(outs.primaryKey, "plant-1-001"));
        assert.strictEqual(result.assignedHub, hub.hostName);
        assert.strictEqual((await hub.registry().get("plant-1-001")).responseBody.capabilities?.iotEdge, true);
        assert.deepStrictEqual((await hub.registry().getTwin("plant-1-001")).responseBody.tags, { environment: "dev", site: "plant-1" });
    });

    it("uses given keys instead of generating them", async () => {
        const given = { primaryKey: randomBytes(64).toString("base64"), secondaryKey: randomBytes(64).toString("base64") };
        const { outs } = await provider.create(inputs(given));
        assert.deepStrictEqual([outs.primaryKey, outs.secondaryKey, outs.keysGiven], [given.primaryKey, given.secondaryKey, true]);
        assert.strictEqual(dps.enrollmentGroup("plant-edge")!.primaryKey, given.primaryKey);
    });

    it("refuses to take over a group that exists already, and leaves it as it was", async () => {
        await dps.serviceClient().createOrUpdateEnrollmentGroup({
            enrollmentGroupId: "plant-edge",
            attestation: { type: "symmetricKey", symmetricKey: { primaryKey: "", secondaryKey: "" } },
        } as unknown as EnrollmentGroup);
        const before = dps.enrollmentGroup("plant-edge")!;
        await assert.rejects(
            provider.create(inputs()),
            /enrollment group plant-edge already exists in provider-dps\.azure-devices-provisioning\.net, and edgeml does not take over a group it did not create: choose another edgeml:enrollmentGroupId/,
        );
        assert.deepStrictEqual(dps.enrollmentGroup("plant-edge"), before);
    });

    it("diffs tags, hub and capability as an update naming them, a new group id or instance as a replacement", async () => {
        const { outs } = await provider.create(inputs());
        assert.deepStrictEqual(await provider.diff("plant-edge", outs, inputs()), {
            changes: false,
            replaces: [],
            deleteBeforeReplace: false,
        });
        const changed = inputs({
            tags: { environment: "dev", site: "plant-2" },
            iotEdge: false,
            iotHubHostName: "other-hub.azure-devices.net",
        });
        assert.deepStrictEqual(await provider.diff("plant-edge", outs, changed), {
            changes: true,
            replaces: [],
            deleteBeforeReplace: false,
        });
        assert.deepStrictEqual(describeEnrollmentGroupChanges(outs, changed), [
            'tags: {"environment":"dev","site":"plant-1"} -> {"environment":"dev","site":"plant-2"}',
            'IoT hub: "provider-hub.azure-devices.net" -> "other-hub.azure-devices.net"',
            "IoT Edge capability: true -> false",
        ]);
        assert.deepStrictEqual(describeEnrollmentGroupChanges(outs, inputs({ keyRotation: 1 })), [
            "key rotation: 0 -> 1 (a new primary key; the old one is revoked)",
        ]);
        assert.deepStrictEqual((await provider.diff("plant-edge", outs, inputs({ enrollmentGroupId: "plant-edge-2" }))).replaces, [
            "enrollmentGroupId",
        ]);
        // DPS compares group ids case-insensitively: the same group.
        assert.strictEqual((await provider.diff("plant-edge", outs, inputs({ enrollmentGroupId: "Plant-Edge" }))).replaces!.length, 0);
        const otherDps = dps.connectionString.replace("provider-dps", "other-dps");
        assert.deepStrictEqual((await provider.diff("plant-edge", outs, inputs({ serviceConnectionString: otherDps }))).replaces, [
            "serviceConnectionString",
        ]);
        // A regenerated service key is a change (the state takes the new connection string), not another group.
        const regenerated = dps.connectionString.replace(/SharedAccessKey=.*$/, "SharedAccessKey=" + randomBytes(32).toString("base64"));
        assert.deepStrictEqual(await provider.diff("plant-edge", outs, inputs({ serviceConnectionString: regenerated })), {
            changes: true,
            replaces: [],
            deleteBeforeReplace: false,
        });
    });

    it("updates tags in place with If-Match on the stored etag, keeping the keys", async () => {
        const { outs } = await provider.create(inputs());
        const { outs: updated } = await provider.update("plant-edge", outs, inputs({ tags: { environment: "dev", site: "plant-2" } }));
        assert.strictEqual(written[1].etag, outs.etag, "the update carried the stored etag (the SDK sends it as If-Match)");
        const group = dps.enrollmentGroup("plant-edge")!;
        assert.deepStrictEqual(group.tags, { environment: "dev", site: "plant-2" });
        assert.strictEqual(updated.etag, group.etag);
        assert.notStrictEqual(updated.etag, outs.etag);
        assert.deepStrictEqual([group.primaryKey, group.secondaryKey], [outs.primaryKey, outs.secondaryKey]);
        assert.deepStrictEqual([updated.primaryKey, updated.secondaryKey], [outs.primaryKey, outs.secondaryKey]);
    });

    it("says clearly when the group was changed outside the stack (412), then converges after a refresh", async () => {
        const { outs } = await provider.create(inputs());
        // Someone disables the group and retags it in the portal.
        const client = dps.serviceClient();
        const { responseBody: current } = await client.getEnrollmentGroup("plant-edge");
        await client.createOrUpdateEnrollmentGroup({
            ...current,
            provisioningStatus: "disabled",
            initialTwin: { tags: { site: "quarantine" } },
        } as never);
        const news = inputs({ tags: { environment: "dev", site: "plant-2" } });
        await assert.rejects(provider.update("plant-edge", outs, news), (error: Error) => {
            assert.match(
                error.message,
                /^enrollment group plant-edge in provider-dps\.azure-devices-provisioning\.net was changed outside the stack since it last wrote it \(etag \S+, now \S+\): /,
            );
            assert.match(error.message, /provisioningStatus "enabled" -> "disabled"/);
            assert.match(error.message, /initialTwin\.tags \{"environment":"dev","site":"plant-1"\} -> \{"site":"quarantine"\}/);
            assert.match(
                error.message,
                /`pulumi refresh` takes in what it holds now; `pulumi up` after it writes the stack's settings back$/,
            );
            for (const secret of [outs.primaryKey, outs.secondaryKey, dps.serviceKey])
                assert.ok(!error.message.includes(secret), "no key in the message");
            return true;
        });
        assert.strictEqual(dps.enrollmentGroup("plant-edge")!.provisioningStatus, "disabled", "nothing written over");

        // pulumi refresh: the state takes the group as it is; the next up writes the stack's settings back.
        const refreshed = (await provider.read("plant-edge", outs)).props as EnrollmentGroupOutputs;
        assert.deepStrictEqual(
            [refreshed.provisioningStatus, refreshed.tags, refreshed.primaryKey],
            ["disabled", { site: "quarantine" }, outs.primaryKey],
        );
        assert.ok(describeEnrollmentGroupChanges(refreshed, news).includes('provisioning status: "disabled" -> "enabled"'));
        await provider.update("plant-edge", refreshed, news);
        const group = dps.enrollmentGroup("plant-edge")!;
        assert.deepStrictEqual([group.provisioningStatus, group.tags], ["enabled", { environment: "dev", site: "plant-2" }]);
    });

    it("puts a group deleted outside the stack back with the keys its devices hold", async () => {
        const { outs } = await provider.create(inputs());
        await dps.serviceClient().deleteEnrollmentGroup("plant-edge");
        assert.deepStrictEqual((await provider.read("plant-edge", outs)).props, undefined, "a refresh finds it gone");
        await provider.update("plant-edge", outs, inputs({ tags: { environment: "dev" } }));
        assert.strictEqual(dps.enrollmentGroup("plant-edge")!.primaryKey, outs.primaryKey);
    });

    it("rotates: the new key into the other slot first, the old key revoked last, devices deriving from the primary", async () => {
        const { outs } = await provider.create(inputs());
        const old = outs.primaryKey;
        assert.strictEqual((await register(dps, "edge-a", deviceKey(old, "edge-a"))).status, "assigned");

        const { outs: rotated } = await provider.update("plant-edge", outs, inputs({ keyRotation: 1 }));
        const fresh = rotated.primaryKey;
        assert.notStrictEqual(fresh, old);
        assert.strictEqual(bytesOf(fresh), 32);
        const [, step1, step2] = written.map((group) => group.attestation.symmetricKey!);
        // 1. the new key in the secondary slot, the old one still primary: DPS accepts both.
        assert.deepStrictEqual(step1, { primaryKey: old, secondaryKey: fresh });
        // 2. the new key primary, a fresh spare in the secondary slot: the old key is gone.
        assert.strictEqual(step2.primaryKey, fresh);
        assert.ok(![old, fresh, outs.secondaryKey].includes(step2.secondaryKey));
        // Each step is conditional on the etag of the one before (the SDK sends a group's etag as If-Match).
        assert.strictEqual(written[1].etag, outs.etag);
        assert.ok(written[2].etag && written[2].etag !== outs.etag, "step 2 carried the etag step 1 returned");
        assert.strictEqual(rotated.secondaryKey, step2.secondaryKey);
        assert.strictEqual(rotated.etag, dps.enrollmentGroup("plant-edge")!.etag);

        await assert.rejects(register(dps, "edge-b", deviceKey(old, "edge-b")), (error: Error) => error.name === "UnauthorizedError");
        assert.strictEqual((await register(dps, "edge-b", deviceKey(fresh, "edge-b"))).status, "assigned");
        // A device provisioned before keeps its hub identity.
        assert.strictEqual((await hub.registry().get("edge-a")).responseBody.deviceId, "edge-a");
    });

    it("finishes an interrupted rotation on the next run: the group's etag moved, only the spare slot differs", async () => {
        const { outs } = await provider.create(inputs());
        // Step 1 commits, step 2 keeps failing until the (short) retry gives up.
        dps.faults.configure({ operations: ["EnrollmentGroup_CreateOrUpdate"], script: ["pass", ...Array(50).fill("unavailable")] });
        const impatient = new EnrollmentGroupProvider(recording(), { ...FAST_RETRY, deadlineMs: 50 });
        await assert.rejects(impatient.update("plant-edge", outs, inputs({ keyRotation: 1 })), (error: Error) => {
            assert.match(
                error.message,
                /^revoke the old key \(rotation step 2 of 2\): enrollment group plant-edge in provider-dps\.azure-devices-provisioning\.net failed: /,
            );
            assert.match(error.message, /Device Provisioning Service still failing after \d+ attempts \(HTTP 503/);
            return true;
        });
        const between = dps.enrollmentGroup("plant-edge")!;
        assert.strictEqual(between.primaryKey, outs.primaryKey, "the old key still works");
        assert.notStrictEqual(between.secondaryKey, outs.secondaryKey, "the new key was added");
        dps.faults.clear();
        // Pulumi kept the old state: the same update runs again, against a group whose etag has moved.
        const { outs: rotated } = await provider.update("plant-edge", outs, inputs({ keyRotation: 1 }));
        const group = dps.enrollmentGroup("plant-edge")!;
        assert.strictEqual(group.primaryKey, rotated.primaryKey);
        assert.ok(![outs.primaryKey, between.secondaryKey].includes(group.primaryKey));
        await assert.rejects(
            register(dps, "edge-c", deviceKey(outs.primaryKey, "edge-c")),
            (error: Error) => error.name === "UnauthorizedError",
        );
    });

    it("retries throttling (Retry-After), unavailability and dropped connections, and a PUT whose answer was lost", async () => {
        dps.faults.configure({ script: ["throttle", "unavailable", "drop"], retryAfterSeconds: 0 });
        const { outs } = await provider.create(inputs());
        assert.deepStrictEqual(dps.stats.faultsInjected, { throttle: 1, unavailable: 1, drop: 1, dropAfterCommit: 0 });
        // The update commits, its answer is lost; the retried PUT carries the old etag (412) and finds its own write.
        dps.faults.configure({ operations: ["EnrollmentGroup_CreateOrUpdate"], script: ["dropAfterCommit"] });
        const { outs: updated } = await provider.update("plant-edge", outs, inputs({ tags: { environment: "prod" } }));
        assert.strictEqual(updated.etag, dps.enrollmentGroup("plant-edge")!.etag);
        assert.deepStrictEqual(dps.enrollmentGroup("plant-edge")!.tags, { environment: "prod" });
    });

    it("deletes the group with the stack; deleting a group already gone succeeds", async () => {
        const { outs } = await provider.create(inputs());
        await provider.delete("plant-edge", outs);
        assert.strictEqual(dps.enrollmentGroup("plant-edge"), undefined);
        await provider.delete("plant-edge", outs);
        dps.faults.configure({ operations: ["EnrollmentGroup_Delete"], script: ["dropAfterCommit"] });
        const again = await provider.create(inputs());
        await provider.delete("plant-edge", again.outs);
        assert.strictEqual(dps.enrollmentGroup("plant-edge"), undefined);
    });

    it("keeps keys and signatures out of its errors", async () => {
        const { outs } = await provider.create(inputs());
        const wrongKey = randomBytes(32).toString("base64");
        const refused = dps.connectionString.replace(/SharedAccessKey=.*$/, `SharedAccessKey=${wrongKey}`);
        for (const attempt of [
            () => provider.create(inputs({ serviceConnectionString: refused, enrollmentGroupId: "other" })),
            () =>
                provider.update(
                    "plant-edge",
                    { ...outs, serviceConnectionString: refused },
                    inputs({ serviceConnectionString: refused, tags: {} }),
                ),
            () => provider.delete("plant-edge", { ...outs, serviceConnectionString: refused }),
        ]) {
            await assert.rejects(attempt(), (error: Error) => {
                assert.match(
                    error.message,
                    /HTTP 401: Unauthorized: bad signature \(error 401002\); the service connection string was refused/,
                );
                for (const secret of [wrongKey, dps.serviceKey, outs.primaryKey, outs.secondaryKey])
                    assert.ok(!error.message.includes(secret), error.message);
                assert.ok(!/sig=(?!\[redacted\])/.test(error.message));
                return true;
            });
        }
        await assert.rejects(
            provider.create(inputs({ enrollmentGroupId: "elsewhere", iotHubHostName: "elsewhere.azure-devices.net" })),
            (error: Error) => {
                assert.match(
                    error.message,
                    /^creating enrollment group elsewhere in provider-dps\.azure-devices-provisioning\.net failed: HTTP 400: IoT hub elsewhere\.azure-devices\.net is not linked/,
                );
                assert.ok(!error.message.includes(dps.serviceKey));
                return true;
            },
        );
    });
});

describe("EnrollmentGroup provider: check, and a preview's unknown inputs", () => {
    const known = GROUP_INPUTS;
    const olds = GROUP_OUTPUTS;

    it("refuses what DPS would, naming the property and never quoting a secret", async () => {
        const provider = new EnrollmentGroupProvider();
        assert.deepStrictEqual((await provider.check(undefined, known)).failures, []);
        const broken = {
            ...known,
            serviceConnectionString: "HostName=d.azure-devices-provisioning.net;SharedAccessKey=secret-value",
            enrollmentGroupId: "-plant edge",
            iotHubHostName: "not a host",
            tags: { environment: 1 as unknown as string },
            iotEdge: "yes" as unknown as boolean,
            keyRotation: -1,
            primaryKey: "not-base64!",
        };
        const failures = (await provider.check(undefined, broken)).failures!;
        assert.deepStrictEqual(
            failures.map((failure) => failure.property),
            [
                "enrollmentGroupId",
                "serviceConnectionString",
                "iotHubHostName",
                "tags.environment",
                "iotEdge",
                "keyRotation",
                "primaryKey",
                "secondaryKey",
            ],
        );
        assert.ok(!JSON.stringify(failures).includes("secret-value"));
        assert.match(failures[0].reason, /DPS's enrollment group name rule/);
    });

    it("takes an unknown in any input: no failure, a change to look at, replacement only from known values", async () => {
        const provider = new EnrollmentGroupProvider();
        for (const key of Object.keys(known) as (keyof EnrollmentGroupInputs)[]) {
            const news = { ...known, [key]: UNKNOWN_VALUE };
            assert.deepStrictEqual((await provider.check(undefined, news)).failures, [], key);
            const diff = await provider.diff("plant-edge", olds, news as EnrollmentGroupInputs);
            assert.strictEqual(diff.changes, true, `${key} unknown: a change to look at`);
            assert.deepStrictEqual(diff.replaces, [], `${key} unknown: no replacement decided from it`);
        }
        // Inside the tags too, and the keys when they come from another resource.
        const nested = { ...known, tags: { environment: UNKNOWN_VALUE } };
        assert.deepStrictEqual((await provider.check(undefined, nested)).failures, []);
        assert.deepStrictEqual(describeEnrollmentGroupChanges(olds, nested), ["tags: known after apply"]);
        const keys = { ...known, primaryKey: UNKNOWN_VALUE, secondaryKey: UNKNOWN_VALUE };
        assert.deepStrictEqual((await provider.check(undefined, keys)).failures, []);
        assert.deepStrictEqual(describeEnrollmentGroupChanges(olds, keys), ["keys: known after apply"]);
        assert.deepStrictEqual(describeEnrollmentGroupChanges(olds, { ...known, keyRotation: UNKNOWN_VALUE as never }), [
            "key rotation: known after apply",
        ]);
        // Known values still decide.
        assert.strictEqual((await provider.diff("plant-edge", olds, known)).changes, false);
        assert.deepStrictEqual((await provider.diff("plant-edge", olds, { ...known, enrollmentGroupId: "other" })).replaces, [
            "enrollmentGroupId",
        ]);
    });
});
