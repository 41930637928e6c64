import * as assert from "assert";
import { randomBytes } from "crypto";
import { Registry } from "azure-iothub";
import * as sdkErrors from "azure-iothub/dist/common-core/errors";
import { IotHubEmulator, JsonObject, SDK_API_VERSION, SPEC_API_VERSION, startIotHubEmulator } from "../offline/iothub-emulator";
import { IOTHUB_SWAGGER } from "../offline/reference-data";
import { needsReference } from "./support/references";

/** What the SDK rejects with: `response` is the HTTP response when there was one, `code` the socket error otherwise. */
interface SdkError extends Error {
    response?: { statusCode: number; headers: Record<string, string | undefined> };
    responseBody?: string;
    code?: string;
}

async function rejection(promise: Promise<unknown>): Promise<SdkError> {
    try {
        await promise;
    } catch (error) {
        return error as SdkError;
    }
    return assert.fail("expected the call to fail");
}

/** "ok", the HTTP status of the failure, or "connection" when no response came back. */
async function outcome(promise: Promise<unknown>): Promise<string> {
    try {
        await promise;
        return "ok";
    } catch (error) {
        const { response } = error as SdkError;
        return response ? String(response.statusCode) : "connection";
    }
}

let idCounter = 0;
const uniqueId = (prefix: string): string => `${prefix}-${++idCounter}`;

function edgeDeployment(scorerImage: string): JsonObject {
    return {
        $edgeAgent: {
            "properties.desired": {
                schemaVersion: "1.1",
                runtime: { type: "docker", settings: {} },
                systemModules: {
                    edgeAgent: { type: "docker", settings: { image: "mcr.microsoft.com/azureiotedge-agent:1.5" } },
                    edgeHub: {
                        type: "docker",
                        status: "running",
                        restartPolicy: "always",
                        settings: { image: "mcr.microsoft.com/azureiotedge-hub:1.5" },
                    },
                },
                modules: {
                    scorer: {
                        version: "1.0",
                        type: "docker",
                        status: "running",
                        restartPolicy: "always",
                        settings: { image: scorerImage },
                    },
                },
            },
        },
        $edgeHub: { "properties.desired": { schemaVersion: "1.2", routes: { up: "FROM /messages/* INTO $upstream" } } },
        scorer: { "properties.desired": { threshold: 0.5 } },
    };
}

async function createEdgeDevice(registry: Registry, tags?: JsonObject): Promise<string> {
    const deviceId = uniqueId("edge");
    await registry.create({ deviceId, capabilities: { iotEdge: true } });
    if (tags) await registry.updateTwin(deviceId, { tags }, "*");
    return deviceId;
}

describe("IoT Hub emulator, driven through the real azure-iothub Registry", () => {
    needsReference(IOTHUB_SWAGGER);
    let hub: IotHubEmulator;
    let registry: Registry;

    before(async () => {
        hub = await startIotHubEmulator({ hubName: "test-hub" });
        registry = hub.registry();
    });
    // `?.`: after hooks run also when the suite was skipped, and there is no hub then.
    after(() => hub?.stop());
    afterEach(() => hub.faults.clear());

    it("exposes an owner connection string for <hubName>.azure-devices.net with a generated base64 key", () => {
        const match = /^HostName=test-hub\.azure-devices\.net;SharedAccessKeyName=iothubowner;SharedAccessKey=(.+)$/.exec(
            hub.connectionString,
        );
        assert.ok(match, hub.connectionString);
        assert.strictEqual(Buffer.from(match[1], "base64").length, 32);
    });

    describe("device identities", () => {
        it("creates a device with hub-generated SAS keys and reads it back", async () => {
            const deviceId = uniqueId("leaf");
            const { responseBody: created, httpResponse } = await registry.create({ deviceId });
            assert.strictEqual(httpResponse.statusCode, 200);
            const keys = created.authentication?.symmetricKey;
            assert.strictEqual(Buffer.from(keys?.primaryKey ?? "", "base64").length, 32);
            assert.strictEqual(Buffer.from(keys?.secondaryKey ?? "", "base64").length, 32);
            assert.notStrictEqual(keys?.primaryKey, keys?.secondaryKey);

            const { responseBody: read } = await registry.get(deviceId);
            assert.strictEqual(read.etag, created.etag);
            assert.strictEqual(read.generationId, created.generationId);
            assert.strictEqual(read.authentication?.symmetricKey?.primaryKey, keys?.primaryKey);
            assert.strictEqual(read.capabilities?.iotEdge, false);
            const { responseBody: all } = await registry.list();
            assert.ok(all.some((device) => device.deviceId === deviceId));
        });

        it("gives an IoT Edge device $edgeAgent and $edgeHub module twins from the start", async () => {
            const deviceId = await createEdgeDevice(registry);
            const { responseBody: device } = await registry.get(deviceId);
            assert.strictEqual(device.capabilities?.iotEdge, true);
            for (const moduleId of ["$edgeAgent", "$edgeHub"]) {
                const { responseBody: twin } = await registry.getModuleTwin(deviceId, moduleId);
                assert.strictEqual(twin.moduleId, moduleId);
                assert.deepStrictEqual(twin.properties.desired, { $version: 1 });
            }
        });

        it("answers 409 DeviceAlreadyExists when creating an id that exists", async () => {
            const deviceId = uniqueId("leaf");
            await registry.create({ deviceId });
            const error = await rejection(registry.create({ deviceId }));
            assert.ok(error instanceof sdkErrors.DeviceAlreadyExistsError, error.message);
            assert.strictEqual(error.response?.statusCode, 409);
        });

        it("answers 404 DeviceNotFound for a missing device on get and delete", async () => {
            for (const call of [registry.get("no-such-device"), registry.delete("no-such-device")]) {
                const error = await rejection(call);
                assert.ok(error instanceof sdkErrors.DeviceNotFoundError, error.message);
                assert.strictEqual(error.response?.statusCode, 404);
            }
        });

        it("changes the etag but not the generationId on update, keeping the keys sent back", async () => {
            const deviceId = uniqueId("leaf");
            const { responseBody: created } = await registry.create({ deviceId });
            const { responseBody: updated } = await registry.update({ ...created, status: "disabled" });
            assert.strictEqual(updated.status, "disabled");
            assert.notStrictEqual(updated.etag, created.etag);
            assert.strictEqual(updated.generationId, created.generationId);
            assert.strictEqual(updated.authentication?.symmetricKey?.primaryKey, created.authentication?.symmetricKey?.primaryKey);
        });

        it("rotates the keys when an update leaves them out (empty keys mean 'generate')", async () => {
            const deviceId = uniqueId("leaf");
            const { responseBody: created } = await registry.create({ deviceId });
            const { responseBody: updated } = await registry.update({ deviceId, status: "enabled" });
            assert.notStrictEqual(updated.authentication?.symmetricKey?.primaryKey, created.authentication?.symmetricKey?.primaryKey);
        });

        it("honours If-Match on a device PUT: a stale etag gets 412 and changes nothing, the current one passes", async () => {
            const deviceId = uniqueId("leaf");
            const { responseBody: created } = await registry.create({ deviceId });
            const put = (ifMatch: string) =>
                hub.rawRequest({
                    method: "PUT",
                    path: `/devices/${deviceId}?api-version=${SDK_API_VERSION}`,
                    headers: { "Content-Type": "application/json; charset=utf-8", "If-Match": ifMatch },
                    body: JSON.stringify({ deviceId, status: "disabled", authentication: created.authentication }),
                });

            assert.strictEqual((await put('"c3RhbGU="')).status, 412);
            assert.strictEqual((await registry.get(deviceId)).responseBody.status, "enabled");
            const accepted = await put(`"${created.etag}"`);
            assert.strictEqual(accepted.status, 200);
            assert.strictEqual((await registry.get(deviceId)).responseBody.status, "disabled");
        });

        it("answers 404 to a PUT with If-Match for a device that does not exist", async () => {
            const deviceId = uniqueId("leaf");
            const response = await hub.rawRequest({
                method: "PUT",
                path: `/devices/${deviceId}?api-version=${SDK_API_VERSION}`,
                headers: { "Content-Type": "application/json", "If-Match": "*" },
                body: JSON.stringify({ deviceId }),
            });
            assert.strictEqual(response.status, 404);
            assert.match(response.body, /ErrorCode:DeviceNotFound;/);
        });

        it("bulk-adds devices and reports a per-device failure for an existing id", async () => {
            const [first, second, third] = [uniqueId("bulk"), uniqueId("bulk"), uniqueId("bulk")];
            const { responseBody: result } = await registry.addDevices([{ deviceId: first }, { deviceId: second }]);
            assert.deepStrictEqual(result, { isSuccessful: true, errors: [], warnings: [] });

            const error = await rejection(registry.addDevices([{ deviceId: first }, { deviceId: third }]));
            assert.strictEqual(error.response?.statusCode, 400);
            const body = JSON.parse(error.responseBody ?? "{}") as {
                isSuccessful: boolean;
                errors: { deviceId: string; errorCode: string }[];
            };
            assert.strictEqual(body.isSuccessful, false);
            assert.deepStrictEqual(
                body.errors.map((e) => [e.deviceId, e.errorCode]),
                [[first, "DeviceAlreadyExists"]],
            );
            await registry.get(third);

            const duplicate = uniqueId("bulk");
            const duplicateError = await rejection(registry.addDevices([{ deviceId: duplicate }, { deviceId: duplicate }]));
            assert.match(duplicateError.message, /appears more than once/);
            assert.ok((await rejection(registry.get(duplicate))) instanceof sdkErrors.DeviceNotFoundError);
        });

        it("bulk-updates and bulk-removes only when the etag matches (forceUpdate/forceRemove false)", async () => {
            const deviceId = uniqueId("bulk");
            const { responseBody: created } = await registry.create({ deviceId });
            const stale = { ...created, eTag: "c3RhbGU=", status: "disabled" };

            const updateError = await rejection(registry.updateDevices([stale], false));
            assert.match(updateError.responseBody ?? "", /"errorCode":"PreconditionFailed"/);
            const removeError = await rejection(registry.removeDevices([stale], false));
            assert.match(removeError.responseBody ?? "", /"errorCode":"PreconditionFailed"/);
            assert.strictEqual((await registry.get(deviceId)).responseBody.status, "enabled");

            await registry.updateDevices([{ ...created, eTag: created.etag, status: "disabled" }], false);
            const { responseBody: disabled } = await registry.get(deviceId);
            assert.strictEqual(disabled.status, "disabled");
            await registry.removeDevices([{ deviceId, eTag: disabled.etag }], false);
            assert.ok((await rejection(registry.get(deviceId))) instanceof sdkErrors.DeviceNotFoundError);
        });
    });

    describe("device twins", () => {
        it("merges tag patches (null removes a tag) and rejects a stale twin etag with 412", async () => {
            const deviceId = uniqueId("leaf");
            await registry.create({ deviceId });
            const { responseBody: initial } = await registry.getTwin(deviceId);

            const { responseBody: first } = await registry.updateTwin(
                deviceId,
                { tags: { environment: "prod", site: { name: "plant-1" } } },
                initial.etag,
            );
            const { responseBody: second } = await registry.updateTwin(
                deviceId,
                { tags: { environment: null, site: { line: 3 } } },
                first.etag,
            );
            assert.deepStrictEqual(second.tags, { site: { name: "plant-1", line: 3 } });
            assert.notStrictEqual(second.etag, first.etag);

            const error = await rejection(registry.updateTwin(deviceId, { tags: { environment: "dev" } }, first.etag));
            assert.ok(error instanceof sdkErrors.InvalidEtagError, error.message);
            assert.strictEqual(error.response?.statusCode, 412);
            assert.deepStrictEqual((await registry.getTwin(deviceId)).responseBody.tags, { site: { name: "plant-1", line: 3 } });
        });

        it("refuses a service-side patch of reported properties, which belong to the device", async () => {
            const deviceId = uniqueId("leaf");
            await registry.create({ deviceId });
            const error = await rejection(registry.updateTwin(deviceId, { properties: { reported: { firmware: "2.0" } } }, "*"));
            assert.ok(error instanceof sdkErrors.ArgumentError, error.message);
            assert.deepStrictEqual((await registry.getTwin(deviceId)).responseBody.properties.reported, { $version: 1 });
        });

        it("merges a module twin's desired-property patch and bumps its desired $version", async () => {
            const deviceId = await createEdgeDevice(registry);
            await registry.applyConfigurationContentOnDevice(deviceId, { modulesContent: edgeDeployment("registry.example/scorer:1") });
            const { responseBody: before } = await registry.getModuleTwin(deviceId, "scorer");
            const { responseBody: after } = await registry.updateModuleTwin(
                deviceId,
                "scorer",
                { properties: { desired: { window: 10 } } },
                before.etag,
            );
            assert.deepStrictEqual(after.properties.desired, {
                threshold: 0.5,
                window: 10,
                $version: before.properties.desired.$version + 1,
            });
            const stale = await rejection(
                registry.updateModuleTwin(deviceId, "scorer", { properties: { desired: { window: 20 } } }, before.etag),
            );
            assert.strictEqual(stale.response?.statusCode, 412);
        });
    });

    describe("applyConfigurationContent", () => {
        it("sets each module twin's desired properties and bumps the desired $version", async () => {
            const deviceId = await createEdgeDevice(registry);
            const content = edgeDeployment("registry.example/scorer:1");
            await registry.applyConfigurationContentOnDevice(deviceId, { modulesContent: content });

            const { responseBody: agent } = await registry.getModuleTwin(deviceId, "$edgeAgent");
            const { responseBody: scorer } = await registry.getModuleTwin(deviceId, "scorer");
            const desired = (moduleId: string) => (content[moduleId] as JsonObject)["properties.desired"] as JsonObject;
            assert.deepStrictEqual(agent.properties.desired, { ...desired("$edgeAgent"), $version: 2 });
            assert.deepStrictEqual(scorer.properties.desired, { ...desired("scorer"), $version: 2 });

            await registry.applyConfigurationContentOnDevice(deviceId, { modulesContent: edgeDeployment("registry.example/scorer:2") });
            const { responseBody: agentAgain } = await registry.getModuleTwin(deviceId, "$edgeAgent");
            assert.strictEqual(agentAgain.properties.desired.$version, 3);
            assert.strictEqual(agentAgain.properties.desired.modules.scorer.settings.image, "registry.example/scorer:2");
        });

        it("refuses content for a device that is not an IoT Edge device, or that lacks $edgeHub", async () => {
            const leafId = uniqueId("leaf");
            await registry.create({ deviceId: leafId });
            const leafError = await rejection(
                registry.applyConfigurationContentOnDevice(leafId, { modulesContent: edgeDeployment("x:1") }),
            );
            assert.ok(leafError instanceof sdkErrors.ArgumentError, leafError.message);

            const edgeId = await createEdgeDevice(registry);
            const { $edgeHub: _edgeHub, ...withoutEdgeHub } = edgeDeployment("x:1");
            const contentError = await rejection(registry.applyConfigurationContentOnDevice(edgeId, { modulesContent: withoutEdgeHub }));
            assert.match(contentError.message, /missing \$edgeHub/);
            assert.deepStrictEqual((await registry.getModuleTwin(edgeId, "$edgeAgent")).responseBody.properties.desired, { $version: 1 });
        });
    });

    describe("configurations (deployments)", () => {
        it("creates, gets, lists, updates (priority, labels, metrics) and deletes a deployment", async () => {
            const id = uniqueId("deploy");
            const added = await registry.addConfiguration({
                id,
                schemaVersion: "1.0",
                labels: { app: "scorer" },
                content: { modulesContent: edgeDeployment("registry.example/scorer:1") },
                targetCondition: `tags.environment='${id}'`,
                priority: 10,
            });
            assert.strictEqual(added.httpResponse.statusCode, 201);

            const { responseBody: read } = await registry.getConfiguration(id);
            assert.deepStrictEqual(read.content?.modulesContent, edgeDeployment("registry.example/scorer:1"));
            assert.strictEqual(read.targetCondition, `tags.environment='${id}'`);
            assert.ok((await registry.getConfigurations()).responseBody.some((configuration) => configuration.id === id));

            const runningQuery =
                "SELECT deviceId FROM devices.modules WHERE moduleId='$edgeAgent' AND properties.reported.modules.scorer.runtimeStatus='running'";
            const update = { ...read, priority: 20, labels: { app: "scorer", ring: "2" }, metrics: { queries: { running: runningQuery } } };
            const { responseBody: updated } = await registry.updateConfiguration(update);
            assert.strictEqual(updated.priority, 20);
            assert.deepStrictEqual(updated.labels, { app: "scorer", ring: "2" });
            assert.deepStrictEqual(updated.metrics, { queries: { running: runningQuery }, results: { running: 0 } });
            assert.notStrictEqual(updated.etag, read.etag);

            await registry.removeConfiguration(id);
            assert.strictEqual((await rejection(registry.getConfiguration(id))).response?.statusCode, 404);
        });

        it("rejects a change of content on update with 400 and keeps the original content", async () => {
            const id = uniqueId("deploy");
            const { responseBody: created } = await registry.addConfiguration({
                id,
                schemaVersion: "1.0",
                content: { modulesContent: edgeDeployment("registry.example/scorer:1") },
                targetCondition: "tags.environment='nowhere'",
            });
            const changed = { ...created, content: { modulesContent: edgeDeployment("registry.example/scorer:2") } };
            const error = await rejection(registry.updateConfiguration(changed));
            assert.ok(error instanceof sdkErrors.ArgumentError, error.message);
            assert.strictEqual(error.response?.statusCode, 400);
            assert.match(error.responseBody ?? "", /CannotModifyImmutableConfigurationContent/);
            assert.deepStrictEqual(
                (await registry.getConfiguration(id)).responseBody.content?.modulesContent,
                edgeDeployment("registry.example/scorer:1"),
            );
        });

        it("answers 409 to a duplicate create and 412 to an update with a stale etag", async () => {
            const id = uniqueId("deploy");
            const configuration = {
                id,
                schemaVersion: "1.0",
                content: { modulesContent: edgeDeployment("x:1") },
                targetCondition: "tags.a='b'",
            };
            const { responseBody: created } = await registry.addConfiguration(configuration);
            assert.strictEqual((await rejection(registry.addConfiguration(configuration))).response?.statusCode, 409);

            await registry.updateConfiguration({ ...created, priority: 3 });
            const error = await rejection(registry.updateConfiguration({ ...created, priority: 4 }));
            assert.ok(error instanceof sdkErrors.InvalidEtagError, error.message);
            assert.strictEqual((await registry.getConfiguration(id)).responseBody.priority, 3);
        });

        it("rejects ids the service would reject and target conditions the emulator cannot evaluate, with 400", async () => {
            const content = { modulesContent: edgeDeployment("x:1") };
            const upperCase = await rejection(
                registry.addConfiguration({ id: "Scorer-Rollout", schemaVersion: "1.0", content, targetCondition: "tags.a='b'" }),
            );
            assert.match(upperCase.message, /invalid configuration id/);
            const id = uniqueId("deploy");
            const unsupported = await rejection(
                registry.addConfiguration({ id, schemaVersion: "1.0", content, targetCondition: "tags.ring IN ['a', 'b']" }),
            );
            assert.match(unsupported.responseBody ?? "", /InvalidConfigurationTargetCondition/);
            assert.strictEqual((await rejection(registry.getConfiguration(id))).response?.statusCode, 404);
        });

        it("computes systemMetrics from target tags and the edgeAgent reports of targeted devices", async () => {
            const environment = uniqueId("env");
            const [edgeA, edgeB] = [await createEdgeDevice(registry, { environment }), await createEdgeDevice(registry, { environment })];
            await createEdgeDevice(registry, { environment: "elsewhere" });
            const leafId = uniqueId("leaf");
            await registry.create({ deviceId: leafId });
            await registry.updateTwin(leafId, { tags: { environment } }, "*");

            const id = uniqueId("deploy");
            await registry.addConfiguration({
                id,
                schemaVersion: "1.0",
                content: { modulesContent: edgeDeployment("registry.example/scorer:1") },
                targetCondition: `tags.environment='${environment}'`,
                priority: 1,
            });
            const results = async () => (await registry.getConfiguration(id)).responseBody.systemMetrics?.results;
            assert.deepStrictEqual(await results(), {
                targetedCount: 2,
                appliedCount: 2,
                reportedSuccessfulCount: 0,
                reportedFailedCount: 0,
            });
            const agentTwin = (await registry.getModuleTwin(edgeA, "$edgeAgent")).responseBody;
            assert.strictEqual(agentTwin.properties.desired.modules.scorer.settings.image, "registry.example/scorer:1");

            hub.reportEdgeAgent(edgeA, {
                lastDesiredStatus: { code: 200, description: "" },
                modules: { scorer: { runtimeStatus: "running", settings: { image: "registry.example/scorer:1" } } },
            });
            // A report about an older desired version does not count for this deployment.
            hub.reportEdgeAgent(edgeB, { lastDesiredVersion: 1, lastDesiredStatus: { code: 200 } });
            assert.deepStrictEqual(await results(), {
                targetedCount: 2,
                appliedCount: 2,
                reportedSuccessfulCount: 1,
                reportedFailedCount: 0,
            });

            hub.reportEdgeAgent(edgeB, { lastDesiredStatus: { code: 400, description: "image pull failed" } });
            const lateDevice = await createEdgeDevice(registry, { environment });
            assert.deepStrictEqual(await results(), {
                targetedCount: 3,
                appliedCount: 3,
                reportedSuccessfulCount: 1,
                reportedFailedCount: 1,
            });
            // The SDK's Twin type does not declare `configurations`, but the service (and emulator) send it.
            const lateAgent = (await registry.getModuleTwin(lateDevice, "$edgeAgent")).responseBody as { configurations?: unknown };
            assert.deepStrictEqual(lateAgent.configurations, { [id]: { status: "Applied" } });
        });

        it("applies the highest-priority deployment to a device two deployments target, and falls back when it is removed", async () => {
            const environment = uniqueId("env");
            const deviceId = await createEdgeDevice(registry, { environment });
            const [low, high] = [uniqueId("deploy-low"), uniqueId("deploy-high")];
            const deploy = (id: string, priority: number, image: string) =>
                registry.addConfiguration({
                    id,
                    schemaVersion: "1.0",
                    content: { modulesContent: edgeDeployment(image) },
                    targetCondition: `tags.environment='${environment}'`,
                    priority,
                });
            await deploy(high, 5, "registry.example/scorer:high");
            await deploy(low, 1, "registry.example/scorer:low");

            const scorerImage = async () =>
                (await registry.getModuleTwin(deviceId, "$edgeAgent")).responseBody.properties.desired.modules.scorer.settings.image;
            const appliedCount = async (id: string) =>
                (await registry.getConfiguration(id)).responseBody.systemMetrics?.results?.appliedCount;
            assert.strictEqual(await scorerImage(), "registry.example/scorer:high");
            assert.deepStrictEqual([await appliedCount(high), await appliedCount(low)], [1, 0]);

            await registry.removeConfiguration(high);
            assert.strictEqual(await scorerImage(), "registry.example/scorer:low");
            assert.strictEqual(await appliedCount(low), 1);
        });
    });

    describe("twin queries", () => {
        it("finds a device's $edgeAgent module twin with its reported status", async () => {
            const deviceId = await createEdgeDevice(registry);
            await registry.applyConfigurationContentOnDevice(deviceId, { modulesContent: edgeDeployment("registry.example/scorer:1") });
            hub.reportEdgeAgent(deviceId, { lastDesiredStatus: { code: 200 }, modules: { scorer: { runtimeStatus: "running" } } });

            const query = registry.createQuery(`SELECT * FROM devices.modules WHERE moduleId='$edgeAgent' AND deviceId='${deviceId}'`);
            const { result: twins } = await query.nextAsTwin();
            assert.strictEqual(twins.length, 1);
            assert.strictEqual(twins[0].properties.reported?.lastDesiredVersion, twins[0].properties.desired.$version);
            assert.deepStrictEqual(twins[0].properties.reported?.lastDesiredStatus, { code: 200 });
            assert.strictEqual(query.hasMoreResults, false);
        });

        it("pages results with the SDK's page size and continuation token", async () => {
            const batch = uniqueId("batch");
            const ids = [
                await createEdgeDevice(registry, { batch }),
                await createEdgeDevice(registry, { batch }),
                await createEdgeDevice(registry, { batch }),
            ];
            const query = registry.createQuery(`SELECT deviceId FROM devices WHERE tags.batch = '${batch}'`, 2);
            const first = await query.next();
            assert.strictEqual(query.hasMoreResults, true);
            // Promise-style next() ignores the token the Query stored, so it has to be passed back explicitly.
            const second = await query.next(query.continuationToken);
            assert.strictEqual(query.hasMoreResults, false);
            assert.deepStrictEqual(
                [...first.result, ...second.result],
                ids.map((deviceId) => ({ deviceId })),
            );
        });
    });

    describe("authentication", () => {
        it("rejects a Registry built with the wrong key with 401 and changes nothing", async () => {
            const wrongKey = hub.connectionString.replace(/SharedAccessKey=.*$/, `SharedAccessKey=${randomBytes(32).toString("base64")}`);
            const deviceId = uniqueId("leaf");
            const error = await rejection(hub.registryFactory(wrongKey).create({ deviceId }));
            assert.ok(error instanceof sdkErrors.UnauthorizedError, error.message);
            assert.strictEqual(error.response?.statusCode, 401);
            assert.ok((await rejection(registry.get(deviceId))) instanceof sdkErrors.DeviceNotFoundError);
        });

        it("refuses to bind a Registry to a connection string for another hub", () => {
            assert.throws(() => hub.registryFactory(hub.connectionString.replace("test-hub", "other-hub")), /other-hub/);
        });
    });

    describe("fault injection", () => {
        it("throttle: the SDK sees 429 with Retry-After, and nothing changed", async () => {
            hub.faults.configure({ script: ["throttle"], retryAfterSeconds: 7 });
            const deviceId = uniqueId("leaf");
            const error = await rejection(registry.create({ deviceId }));
            assert.ok(error instanceof sdkErrors.ThrottlingError, error.message);
            assert.strictEqual(error.response?.statusCode, 429);
            assert.strictEqual(error.response?.headers["retry-after"], "7");
            assert.ok((await rejection(registry.get(deviceId))) instanceof sdkErrors.DeviceNotFoundError);
            await registry.create({ deviceId });
        });

        it("unavailable: the SDK sees 503, and nothing changed", async () => {
            const deviceId = uniqueId("leaf");
            await registry.create({ deviceId });
            hub.faults.configure({ script: ["unavailable"] });
            const error = await rejection(registry.delete(deviceId));
            assert.ok(error instanceof sdkErrors.ServiceUnavailableError, error.message);
            assert.strictEqual(error.response?.statusCode, 503);
            await registry.get(deviceId);
        });

        it("drop: the SDK sees a connection error without a response, and nothing changed", async () => {
            hub.faults.configure({ script: ["drop"] });
            const deviceId = uniqueId("leaf");
            const error = await rejection(registry.create({ deviceId }));
            assert.strictEqual(error.response, undefined);
            assert.strictEqual(error.code, "ECONNRESET");
            assert.ok((await rejection(registry.get(deviceId))) instanceof sdkErrors.DeviceNotFoundError);
        });

        it("dropAfterCommit: the SDK sees a connection error, but the change happened", async () => {
            hub.faults.configure({ script: ["dropAfterCommit"] });
            const deviceId = uniqueId("leaf");
            const error = await rejection(registry.create({ deviceId }));
            assert.strictEqual(error.response, undefined);
            assert.strictEqual(error.code, "ECONNRESET");
            await registry.get(deviceId);
            assert.strictEqual((await rejection(registry.create({ deviceId }))).response?.statusCode, 409);
        });

        it("injects rate-based faults reproducibly: same seed, same faults; another seed, other faults", async () => {
            const deviceId = uniqueId("leaf");
            await registry.create({ deviceId });
            const run = async (seed: number): Promise<string[]> => {
                hub.faults.configure({ seed, rates: { throttle: 0.2, unavailable: 0.15, drop: 0.15 } });
                const outcomes: string[] = [];
                for (let i = 0; i < 30; i++) outcomes.push(await outcome(registry.get(deviceId)));
                return outcomes;
            };
            const first = await run(42);
            assert.deepStrictEqual(await run(42), first);
            assert.notDeepStrictEqual(await run(43), first);
            assert.deepStrictEqual(new Set(first), new Set(["ok", "429", "503", "connection"]));
        });

        it("faults only the operations it is told to", async () => {
            const deviceId = uniqueId("leaf");
            await registry.create({ deviceId });
            hub.faults.configure({ script: ["unavailable"], operations: ["Devices_DeleteIdentity"] });
            await registry.get(deviceId);
            assert.strictEqual((await rejection(registry.delete(deviceId))).response?.statusCode, 503);
            await registry.delete(deviceId);
        });
    });

    describe("spec conformance of the SDK", () => {
        it("made every request above match the service swagger", () => {
            assert.deepStrictEqual(hub.violations, []);
            const exercised = Object.keys(hub.stats.requestsPerOperation).sort();
            assert.deepStrictEqual(exercised, [
                "BulkRegistry_UpdateRegistry",
                "Configuration_ApplyOnEdgeDevice",
                "Configuration_CreateOrUpdate",
                "Configuration_Delete",
                "Configuration_Get",
                "Configuration_GetConfigurations",
                "Devices_CreateOrUpdateIdentity",
                "Devices_DeleteIdentity",
                "Devices_GetDevices",
                "Devices_GetIdentity",
                "Devices_GetTwin",
                "Devices_UpdateTwin",
                "Modules_GetTwin",
                "Modules_UpdateTwin",
                "Query_GetTwins",
            ]);
        });
    });
});

describe("IoT Hub emulator request counters", () => {
    needsReference(IOTHUB_SWAGGER);
    let hub: IotHubEmulator;

    before(async () => {
        hub = await startIotHubEmulator({ latencyMs: 40 });
    });
    after(() => hub?.stop());

    it("counts requests per operation, injected faults and the most requests in flight at once", async () => {
        const registry = hub.registry();
        await registry.get("warm-up").catch(() => undefined);
        hub.resetRecords();

        hub.faults.configure({ script: ["throttle"] });
        assert.strictEqual(await outcome(registry.create({ deviceId: "counted" })), "429");
        await registry.create({ deviceId: "counted" });
        await Promise.all(Array.from({ length: 6 }, () => registry.get("counted")));

        const stats = hub.stats;
        assert.strictEqual(stats.totalRequests, 8);
        assert.deepStrictEqual(stats.requestsPerOperation, { Devices_CreateOrUpdateIdentity: 2, Devices_GetIdentity: 6 });
        assert.deepStrictEqual(stats.faultsInjected, { throttle: 1, unavailable: 0, drop: 0, dropAfterCommit: 0 });
        assert.strictEqual(stats.maxInFlight, 6);
        assert.strictEqual(stats.inFlight, 0);
        assert.deepStrictEqual(
            hub.requestLog.map((entry) => entry.status),
            [429, 200, 200, 200, 200, 200, 200, 200],
        );
        assert.strictEqual(hub.requestLog[0].fault, "throttle");
        assert.ok(hub.requestLog.every((entry) => (entry.durationMs ?? 0) >= 35));
    });
});

describe("IoT Hub emulator swagger validation of raw requests", () => {
    needsReference(IOTHUB_SWAGGER);
    let hub: IotHubEmulator;

    before(async () => {
        hub = await startIotHubEmulator();
    });
    after(() => hub?.stop());
    afterEach(() => hub.resetRecords());

    const json = { "Content-Type": "application/json; charset=utf-8" };

    async function expectViolation(response: Promise<{ status: number; body: string }>, message: RegExp): Promise<void> {
        const { status, body } = await response;
        assert.strictEqual(status, 400);
        assert.match(body, message);
        assert.strictEqual(hub.violations.length, 1);
        assert.match(hub.violations[0].message, message);
    }

    it("accepts the spec's api-version as well as the SDK's", async () => {
        for (const version of [SPEC_API_VERSION, SDK_API_VERSION]) {
            const response = await hub.rawRequest({ method: "GET", path: `/configurations?api-version=${version}` });
            assert.strictEqual(response.status, 200);
        }
        assert.deepStrictEqual(hub.violations, []);
    });

    it("rejects a request without api-version", async () => {
        await expectViolation(hub.rawRequest({ method: "GET", path: "/devices/d1" }), /missing required query parameter 'api-version'/);
    });

    it("rejects a device body of the wrong shape, naming the offending field", async () => {
        const response = hub.rawRequest({
            method: "PUT",
            path: `/devices/d1?api-version=${SDK_API_VERSION}`,
            headers: json,
            body: JSON.stringify({ deviceId: "d1", capabilities: { iotEdge: "yes" } }),
        });
        await expectViolation(response, /Devices_CreateOrUpdateIdentity.*\/capabilities\/iotEdge must be boolean/);
        assert.strictEqual((await hub.rawRequest({ method: "GET", path: `/devices/d1?api-version=${SDK_API_VERSION}` })).status, 404);
    });

    it("rejects deployment content whose modules are not objects", async () => {
        const response = hub.rawRequest({
            method: "PUT",
            path: `/configurations/bad?api-version=${SDK_API_VERSION}`,
            headers: json,
            body: JSON.stringify({ id: "bad", content: { modulesContent: { $edgeAgent: "not an object" } } }),
        });
        await expectViolation(response, /\/content\/modulesContent\/\$edgeAgent must be object/);
    });

    it("rejects a path the spec does not define", async () => {
        await expectViolation(
            hub.rawRequest({ method: "GET", path: `/deployments?api-version=${SDK_API_VERSION}` }),
            /no operation in the spec matches path \/deployments/,
        );
    });

    it("rejects a method the spec does not define for the path", async () => {
        await expectViolation(
            hub.rawRequest({ method: "PATCH", path: `/devices/d1?api-version=${SDK_API_VERSION}`, headers: json, body: "{}" }),
            /method PATCH is not defined/,
        );
    });

    it("rejects a JSON body sent as text/plain and a body that is not JSON", async () => {
        const path = `/devices/query?api-version=${SDK_API_VERSION}`;
        await expectViolation(
            hub.rawRequest({ method: "POST", path, headers: { "Content-Type": "text/plain" }, body: '{"query":"SELECT * FROM devices"}' }),
            /content-type 'text\/plain'/,
        );
        hub.resetRecords();
        await expectViolation(hub.rawRequest({ method: "POST", path, headers: json, body: "{query:" }), /not valid JSON/);
    });

    it("checks the signature only after the spec: an unsigned valid request is 401, not a violation", async () => {
        const response = await hub.rawRequest({ method: "GET", path: `/devices/d1?api-version=${SDK_API_VERSION}`, authorize: false });
        assert.strictEqual(response.status, 401);
        assert.deepStrictEqual(hub.violations, []);
    });
});
