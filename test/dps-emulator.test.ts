// The Device Provisioning Service emulator, driven through Microsoft's own SDKs: the service API with
// azure-iot-provisioning-service's ProvisioningServiceClient (every request checked against the DPS service swagger),
// the device API with azure-iot-provisioning-device, its HTTP transport and the symmetric key security client,
// devices landing in a linked IoT Hub emulator. Device keys are derived here with node:crypto, as a fleet's tooling
// would, not with the emulator's own function.
import * as assert from "assert";
import { randomBytes } from "crypto";
import * as fs from "fs";
import type { EnrollmentGroup } from "azure-iot-provisioning-service/dist/interfaces";
import { DpsEmulator, SERVICE_ROUTES, defaultDpsSwaggerPath, startDpsEmulator } from "../offline/dps-emulator";
import { IotHubEmulator, startIotHubEmulator } from "../offline/iothub-emulator";
import { DPS_SWAGGER, IOTHUB_SWAGGER } from "../offline/reference-data";
import { deviceKey, registerDevice as register } from "./support/dps-devices";
import { needsReference, requireReference } from "./support/references";

const key = (): string => randomBytes(32).toString("base64");

function group(id: string, hub: IotHubEmulator, overrides: Partial<EnrollmentGroup> = {}): EnrollmentGroup {
    return {
        enrollmentGroupId: id,
        attestation: { type: "symmetricKey", symmetricKey: { primaryKey: key(), secondaryKey: key() } },
        capabilities: { iotEdge: true },
        iotHubHostName: hub.hostName,
        initialTwin: { tags: { environment: "fleet", site: "plant-7" } } as never,
        provisioningStatus: "enabled",
        ...overrides,
    } as EnrollmentGroup;
}

/** The HTTP status of a service SDK error. */
const statusOf = (error: unknown) => (error as { response?: { statusCode?: number } }).response?.statusCode;

describe("DPS emulator, driven through Microsoft's DPS SDKs", () => {
    needsReference(DPS_SWAGGER, IOTHUB_SWAGGER);
    let hub: IotHubEmulator;
    let dps: DpsEmulator;

    beforeEach(async () => {
        hub = await startIotHubEmulator({ hubName: "fleet-hub" });
        dps = await startDpsEmulator({ name: "fleet-dps", linkedHubs: [hub] });
    });
    afterEach(async () => {
        // `?.`: after hooks run also when the suite was skipped.
        if (dps) assert.deepStrictEqual(dps.violations, [], "every service request matches the DPS service swagger");
        if (hub) assert.deepStrictEqual(hub.violations, [], "every request DPS sent its hub matches the IoT Hub swagger");
        await dps?.stop();
        await hub?.stop();
    });

    describe("service API (ProvisioningServiceClient)", () => {
        it("exposes a provisioningserviceowner connection string for <name>.azure-devices-provisioning.net", () => {
            assert.match(
                dps.connectionString,
                /^HostName=fleet-dps\.azure-devices-provisioning\.net;SharedAccessKeyName=provisioningserviceowner;SharedAccessKey=[A-Za-z0-9+/]+=*$/,
            );
            assert.match(dps.idScope, /^0ne[0-9A-F]{8}$/);
            assert.strictEqual(dps.globalEndpoint, "global.azure-devices-provisioning.net");
            assert.strictEqual(dps.validating, true);
        });

        it("creates, reads, updates with the etag, refuses a stale etag (412), deletes, then 404", async () => {
            const client = dps.serviceClient();
            const written = group("fleet", hub);
            const { responseBody: created } = await client.createOrUpdateEnrollmentGroup(written);
            assert.ok(created.etag);
            assert.deepStrictEqual(created.initialTwin, written.initialTwin);
            const { responseBody: read } = await client.getEnrollmentGroup("fleet");
            assert.strictEqual(read.etag, created.etag);
            assert.strictEqual(read.iotHubHostName, "fleet-hub.azure-devices.net");
            assert.deepStrictEqual(read.capabilities, { iotEdge: true });

            // The SDK sends the group's etag as If-Match.
            const retagged = { ...written, etag: created.etag, initialTwin: { tags: { environment: "staging" } } as never };
            const { responseBody: updated } = await client.createOrUpdateEnrollmentGroup(retagged);
            assert.notStrictEqual(updated.etag, created.etag);
            assert.deepStrictEqual((updated.initialTwin as { tags: object }).tags, { environment: "staging" });
            assert.ok(dps.requestLog.some((entry) => entry.operationId === "EnrollmentGroup_CreateOrUpdate" && entry.status === 200));

            const stale = await client.createOrUpdateEnrollmentGroup({ ...retagged, etag: created.etag }).catch((error: unknown) => error);
            assert.strictEqual(statusOf(stale), 412);
            assert.strictEqual((stale as Error).name, "InvalidEtagError");
            await assert.rejects(client.deleteEnrollmentGroup("fleet", String(created.etag)), (error) => statusOf(error) === 412);

            await client.deleteEnrollmentGroup("fleet", String(updated.etag));
            await assert.rejects(client.getEnrollmentGroup("fleet"), (error) => statusOf(error) === 404);
            await assert.rejects(client.deleteEnrollmentGroup("fleet"), (error) => statusOf(error) === 404);
            // The error is the service's ProvisioningServiceErrorDetails.
            const missing = await client
                .getEnrollmentGroup("fleet")
                .catch((error: { responseBody: string }) => JSON.parse(error.responseBody));
            assert.strictEqual(missing.errorCode, 404201);
            assert.match(missing.message, /Enrollment group fleet not found/);
        });

        it("keeps the keys out of a group as read; the attestation mechanism returns them; a PUT without keys keeps them", async () => {
            const client = dps.serviceClient();
            const written = group("fleet", hub);
            await client.createOrUpdateEnrollmentGroup(written);
            const { responseBody: read } = await client.getEnrollmentGroup("fleet");
            assert.deepStrictEqual(read.attestation, { type: "symmetricKey", symmetricKey: { primaryKey: null, secondaryKey: null } });
            // The SDK's getEnrollmentGroupAttestationMechanism posts to /enrollmentgroups/ (lower case), as the service accepts.
            const { responseBody: attestation } = await client.getEnrollmentGroupAttestationMechanism("fleet");
            assert.deepStrictEqual(attestation, written.attestation);
            // Writing back what was read (keys null) leaves the keys as they were.
            await client.createOrUpdateEnrollmentGroup(read);
            assert.deepStrictEqual((await client.getEnrollmentGroupAttestationMechanism("fleet")).responseBody, written.attestation);
        });

        it("authenticates the connection string: a wrong key is 401, another instance's host is refused", async () => {
            const wrong = dps.connectionString.replace(/SharedAccessKey=.*$/, `SharedAccessKey=${key()}`);
            await assert.rejects(dps.serviceClientFactory(wrong).getEnrollmentGroup("fleet"), (error) => {
                assert.strictEqual(statusOf(error), 401);
                assert.strictEqual((error as Error).name, "UnauthorizedError");
                return true;
            });
            assert.throws(
                () => dps.serviceClientFactory(dps.connectionString.replace("fleet-dps", "other-dps")),
                /emulator serves fleet-dps/,
            );
        });

        it("refuses a group that names a hub not linked to the instance", async () => {
            const other = { hostName: "elsewhere.azure-devices.net" } as IotHubEmulator;
            await assert.rejects(dps.serviceClient().createOrUpdateEnrollmentGroup(group("fleet", other)), (error) => {
                assert.strictEqual(statusOf(error), 400);
                assert.match((error as Error).message, /elsewhere\.azure-devices\.net is not linked/);
                return true;
            });
        });

        it("checks requests against the swagger: a body it does not allow is a 400 and a recorded violation", async () => {
            const broken = { ...group("fleet", hub), provisioningStatus: "paused" } as unknown as EnrollmentGroup;
            await assert.rejects(dps.serviceClient().createOrUpdateEnrollmentGroup(broken), (error) => statusOf(error) === 400);
            const noAttestation = { enrollmentGroupId: "fleet", iotHubHostName: hub.hostName } as EnrollmentGroup;
            await assert.rejects(dps.serviceClient().createOrUpdateEnrollmentGroup(noAttestation), (error) => statusOf(error) === 400);
            assert.deepStrictEqual(
                dps.violations.map((violation) => violation.operationId),
                ["EnrollmentGroup_CreateOrUpdate", "EnrollmentGroup_CreateOrUpdate"],
            );
            assert.match(dps.violations[0].message, /provisioningStatus must be one of enabled, disabled/);
            assert.match(dps.violations[1].message, /must have required property 'attestation'/);
            assert.strictEqual(dps.enrollmentGroup("fleet"), undefined, "nothing was written");
            dps.resetRecords();
        });
    });

    describe("device API (azure-iot-provisioning-device over HTTP, symmetric key)", () => {
        it("five devices register with keys derived from the group key and land in the hub as edge devices with the group's tags", async () => {
            const written = group("fleet", hub);
            await dps.serviceClient().createOrUpdateEnrollmentGroup(written);
            const groupKey = written.attestation.symmetricKey!.primaryKey;
            const ids = ["edge-01", "edge-02", "line-3.cell_4", "A1", "edge-05"];
            const results = await Promise.all(ids.map((id) => register(dps, id, deviceKey(groupKey, id))));
            for (const [index, result] of results.entries()) {
                assert.strictEqual(result.status, "assigned");
                assert.strictEqual(result.assignedHub, "fleet-hub.azure-devices.net");
                assert.strictEqual(result.deviceId, ids[index]);
                assert.strictEqual(result.registrationId, ids[index]);
                assert.strictEqual(result.substatus, "initialAssignment");
            }
            const registry = hub.registry();
            for (const id of ids) {
                const { responseBody: device } = await registry.get(id);
                assert.strictEqual(device.capabilities?.iotEdge, true, `${id} is an IoT Edge device`);
                // The device authenticates to the hub with the same derived key.
                assert.strictEqual(device.authentication?.symmetricKey?.primaryKey, deviceKey(groupKey, id));
                assert.deepStrictEqual((await registry.getTwin(id)).responseBody.tags, { environment: "fleet", site: "plant-7" });
            }
            // The SDK's own sequence: a register, then the status poll.
            const deviceCalls = dps.requestLog.filter((entry) => entry.operationId?.startsWith("RuntimeRegistration_"));
            assert.strictEqual(deviceCalls.filter((entry) => entry.operationId === "RuntimeRegistration_RegisterDevice").length, 5);
            assert.strictEqual(deviceCalls.filter((entry) => entry.operationId === "RuntimeRegistration_OperationStatusLookup").length, 5);
            assert.deepStrictEqual(dps.registrations.map((record) => record.registrationId).sort(), [...ids].sort());
            // The service API sees the registrations.
            const { responseBody: state } = await dps.serviceClient().getDeviceRegistrationState("edge-01");
            assert.strictEqual(state.status, "assigned");
            assert.strictEqual(state.assignedHub, "fleet-hub.azure-devices.net");
        });

        it("takes the key derived from the secondary key too, and a registration again keeps the device and its twin", async () => {
            const written = group("fleet", hub);
            await dps.serviceClient().createOrUpdateEnrollmentGroup(written);
            const secondary = deviceKey(written.attestation.symmetricKey!.secondaryKey, "edge-01");
            assert.strictEqual((await register(dps, "edge-01", secondary)).status, "assigned");
            await hub.registry().updateTwin("edge-01", { tags: { site: "moved" } }, "*");
            const again = await register(dps, "edge-01", deviceKey(written.attestation.symmetricKey!.primaryKey, "edge-01"));
            assert.strictEqual(again.substatus, "reprovisionedToInitialAssignment");
            assert.deepStrictEqual((await hub.registry().getTwin("edge-01")).responseBody.tags, { environment: "fleet", site: "moved" });
        });

        it("refuses a wrong key with 401 and creates nothing", async () => {
            await dps.serviceClient().createOrUpdateEnrollmentGroup(group("fleet", hub));
            // Another group key's derivation, and the group key itself (a device must use its derived key).
            for (const wrong of [deviceKey(key(), "edge-01"), key()]) {
                await assert.rejects(register(dps, "edge-01", wrong), (error) => {
                    assert.strictEqual((error as Error).name, "UnauthorizedError");
                    return true;
                });
            }
            assert.ok(
                dps.requestLog
                    .filter((entry) => entry.operationId === "RuntimeRegistration_RegisterDevice")
                    .every((entry) => entry.status === 401),
            );
            await assert.rejects(hub.registry().get("edge-01"), (error) => statusOf(error) === 404);
            assert.deepStrictEqual(dps.registrations, []);
        });

        it("refuses a device of a disabled group: status disabled, no device in the hub", async () => {
            const written = group("fleet", hub, { provisioningStatus: "disabled" });
            await dps.serviceClient().createOrUpdateEnrollmentGroup(written);
            await assert.rejects(register(dps, "edge-01", deviceKey(written.attestation.symmetricKey!.primaryKey, "edge-01")), (error) => {
                // The SDK fails any final status other than assigned (or failed) this way, the status in its result.
                assert.match((error as Error).message, /status is disabled/);
                assert.strictEqual((error as { result?: { status?: string } }).result?.status, "disabled");
                return true;
            });
            await assert.rejects(hub.registry().get("edge-01"), (error) => statusOf(error) === 404);
        });

        it("refuses registration ids that break DPS's rule with 400, and takes the longest and every allowed character", async () => {
            const written = group("fleet", hub, { capabilities: { iotEdge: false } });
            await dps.serviceClient().createOrUpdateEnrollmentGroup(written);
            const groupKey = written.attestation.symmetricKey!.primaryKey;
            for (const id of ["-edge", "edge.", "_edge", "edge@1", "a".repeat(129)]) {
                await assert.rejects(register(dps, id, deviceKey(groupKey, id)), (error) => {
                    assert.strictEqual((error as Error).name, "ArgumentError", id);
                    return true;
                });
            }
            assert.deepStrictEqual(dps.registrations, []);
            for (const id of ["a".repeat(128), "Edge:01.line_2-x"]) {
                assert.strictEqual((await register(dps, id, deviceKey(groupKey, id))).status, "assigned", id);
                assert.strictEqual((await hub.registry().get(id)).responseBody.capabilities?.iotEdge, false);
            }
        });
    });
});

describe("DPS emulator's routes", () => {
    it("are the swagger's methods, paths and operationIds", function () {
        requireReference(this, DPS_SWAGGER);
        const swagger = JSON.parse(fs.readFileSync(defaultDpsSwaggerPath(), "utf8")) as {
            paths: Record<string, Record<string, { operationId: string }>>;
        };
        for (const [method, template, operationId] of SERVICE_ROUTES) {
            assert.strictEqual(swagger.paths[template]?.[method.toLowerCase()]?.operationId, operationId, `${method} ${template}`);
        }
    });

    it("without the swagger file: required by default, and with swagger: if-present the service API is routed unchecked", async () => {
        const missing = "/nonexistent/dps-service-swagger.json";
        await assert.rejects(startDpsEmulator({ swaggerPath: missing }), /ENOENT/);
        const hub = await startIotHubEmulator({ swagger: "if-present", swaggerPath: "/nonexistent/iothub.json" });
        const dps = await startDpsEmulator({ swaggerPath: missing, swagger: "if-present", linkedHubs: [hub] });
        try {
            assert.strictEqual(dps.validating, false);
            const written = group("fleet", hub);
            await dps.serviceClient().createOrUpdateEnrollmentGroup(written);
            assert.strictEqual((await dps.serviceClient().getEnrollmentGroup("fleet")).responseBody.enrollmentGroupId, "fleet");
            const result = await register(dps, "edge-01", deviceKey(written.attestation.symmetricKey!.primaryKey, "edge-01"));
            assert.strictEqual(result.status, "assigned");
        } finally {
            await dps.stop();
            await hub.stop();
        }
    });
});
