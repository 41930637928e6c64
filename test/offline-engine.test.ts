// The offline engine's IoT Hubs: the real EdgeDevice and EdgeDeployment providers run against a local emulator per
// hub, whose devices act as healthy edgeAgents. What the providers answered is checked against what the hub holds,
// never against values written down here. Then the emulator options the engine relies on, on their own.
import * as assert from "assert";
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import { EdgeDeploymentProvider, EdgeDeviceProvider, EDGE_DEPLOYMENT_TYPE, EDGE_DEVICE_TYPE, IotHub } from "../components/iot";
import { EdgeDeploymentResource } from "../components/iot/edgeDeploymentResource";
import { SECRET_MARKER } from "../components/shared";
import { offlineAcrTokens, offlineHubs, OFFLINE_SUBSCRIPTION_ID } from "../offline/azure-answers";
import { OfflineRun, outputValue, runOffline } from "../offline/engine";
import { configurationOperations } from "../offline/iothub-emulator/api-configurations";
import { deviceOperations } from "../offline/iothub-emulator/api-devices";
import { twinOperations } from "../offline/iothub-emulator/api-twins";
import { DeploymentStore } from "../offline/iothub-emulator/deployment-store";
import { DeviceStore } from "../offline/iothub-emulator/device-store";
import { defaultSwaggerPath, EMULATED_ROUTES, IotHubEmulator, JsonObject, startIotHubEmulator } from "../offline/iothub-emulator";
import { deploymentInputs, IMAGE_A, IMAGE_B, manifestFor } from "../offline/sample-deployment";
import { IOTHUB_SWAGGER } from "../offline/reference-data";
import { FAST_RETRY } from "./support/fast-retry";
import { armIdOf, resourceOfType, resourcesOfType } from "./support/plan-queries";
import { requireReference } from "./support/references";

const value = <T>(run: OfflineRun, name: string) => outputValue(run.exports[name] as pulumi.Output<T>);
const keyOf = (connectionString: string) => /;SharedAccessKey=([^;]+)$/.exec(connectionString)?.[1];

/** The hub a run used, found by the host name the stack exports. */
async function hubOf(run: OfflineRun): Promise<IotHubEmulator> {
    const hub = offlineHubs().get(await value<string>(run, "iotHubHostName"));
    assert.ok(hub, "the run used an offline hub for the stack's host name");
    return hub;
}

const edgeAgentTwin = async (hub: IotHubEmulator, deviceId: string) =>
    (await hub.registry().getModuleTwin(deviceId, "$edgeAgent")).responseBody as any;

/** An IotHub component of its own, for programs that exercise one provider path. */
function testHub(name: string, edgeDevices: string[]): IotHub {
    return new IotHub("iot", {
        resourceGroupName: "rg-test",
        location: "westeurope",
        tags: {},
        subscriptionId: OFFLINE_SUBSCRIPTION_ID,
        hub: { existing: false, name, sku: "S1", units: 1, partitions: 2 },
        edgeDevices,
        deviceTags: {},
        edgeRuntimeVersion: "1.6",
    });
}

describe("the offline engine's IoT Hubs", function () {
    this.timeout(60_000);

    describe("dev (device mode, rollout verified)", () => {
        let run: OfflineRun;
        let hub: IotHubEmulator;
        /** The requests of the run itself, before the checks below add theirs. */
        let requests: Record<string, number>;
        before(async () => {
            run = await runOffline({ stack: "dev" });
            hub = await hubOf(run);
            requests = { ...hub.stats.requestsPerOperation };
        });

        it("connects with the hub's own iothubowner key, and every request matched the service swagger", async function () {
            requireReference(this, IOTHUB_SWAGGER);
            assert.strictEqual(await value(run, "iotHubServiceConnectionString"), hub.connectionString);
            assert.strictEqual(hub.validating, true);
            assert.deepStrictEqual(hub.violations, []);
        });

        it("creates each edge identity in the hub: the device connection string carries the key the hub generated", async () => {
            const connectionStrings = await value<Record<string, string>>(run, "edgeDeviceConnectionStrings");
            const tomls = await value<Record<string, string>>(run, "edgeDeviceConfigTomls");
            const devices = resourcesOfType(run.plan, EDGE_DEVICE_TYPE);
            assert.ok(devices.length > 0);
            const listed = ((await hub.registry().list()).responseBody as { deviceId: string }[]).map((d) => d.deviceId).sort();
            assert.deepStrictEqual(listed, devices.map((d) => String(d.inputs.deviceId)).sort(), "exactly the stack's devices");
            for (const device of devices) {
                const deviceId = String(device.inputs.deviceId);
                const identity = (await hub.registry().get(deviceId)).responseBody;
                assert.strictEqual(identity.capabilities?.iotEdge, true);
                assert.strictEqual(keyOf(connectionStrings[deviceId]), identity.authentication?.symmetricKey?.primaryKey);
                assert.ok(tomls[deviceId].includes(`connection_string = "${connectionStrings[deviceId]}"`));
                assert.deepStrictEqual((await hub.registry().getTwin(deviceId)).responseBody.tags, device.inputs.tags);
                const state = run.states[device.urn];
                assert.deepStrictEqual([state.adopted, state.hostName, state.connectionString], [false, hub.hostName, SECRET_MARKER]);
            }
        });

        it("answers appliedVersions with the desired $version each device's $edgeAgent holds, which its edgeAgent reports applied", async () => {
            const rollout = resourceOfType(run.plan, EDGE_DEPLOYMENT_TYPE);
            const state = run.states[rollout.urn];
            const deviceIds = rollout.inputs.deviceIds as string[];
            // The devices pull with the registry's pull token: its one password, as the offline ARM generated it.
            const token = resourceOfType(run.plan, "azure-native:containerregistry:Token");
            const tokenId = armIdOf(token, `Microsoft.ContainerRegistry/registries/${token.inputs.registryName}/tokens`, "tokenName");
            const [password] = offlineAcrTokens.passwordsOf(tokenId);
            const expected: Record<string, number> = {};
            for (const deviceId of deviceIds) {
                const twin = await edgeAgentTwin(hub, deviceId);
                const desired = twin.properties.desired;
                expected[deviceId] = desired.$version;
                // The manifest as sent: the stack's image, and the token's real password in place of the placeholder.
                assert.strictEqual(desired.modules.scoring.settings.image, run.plan.outputs.scoringImageRef);
                assert.strictEqual(
                    Object.values(desired.runtime.settings.registryCredentials as Record<string, { password: string }>)[0].password,
                    password.value,
                );
                const reported = twin.properties.reported;
                assert.strictEqual(reported.lastDesiredVersion, desired.$version);
                assert.deepStrictEqual(reported.lastDesiredStatus, { code: 200 });
                assert.deepStrictEqual(reported.modules.scoring, {
                    runtimeStatus: "running",
                    settings: { image: run.plan.outputs.scoringImageRef },
                });
            }
            assert.deepStrictEqual(state.appliedVersions, expected);
            assert.deepStrictEqual([state.configurationId, state.hostName], [run.plan.outputs.deploymentConfigurationId, hub.hostName]);
            // Verified without waiting: one read of each $edgeAgent after applying, and one verification poll.
            assert.strictEqual((rollout.inputs.verify as { enabled: boolean }).enabled, true);
            assert.strictEqual(requests.Configuration_ApplyOnEdgeDevice, deviceIds.length);
            assert.strictEqual(requests.Modules_GetTwin, 2 * deviceIds.length);
        });
    });

    describe("prod (fleet mode)", () => {
        let run: OfflineRun;
        let hub: IotHubEmulator;
        before(async () => {
            run = await runOffline({ stack: "prod" });
            hub = await hubOf(run);
        });

        it("creates the configuration the stack outputs, targeting every prod device, each of which reports it applied", async () => {
            const rollout = resourceOfType(run.plan, EDGE_DEPLOYMENT_TYPE);
            const state = run.states[rollout.urn];
            const id = String(run.plan.outputs.deploymentConfigurationId);
            assert.strictEqual(state.configurationId, id);
            assert.ok(id.endsWith(`-${String(state.contentHash).slice(0, 12)}`), "the id carries the content hash");
            const configuration = (await hub.registry().getConfiguration(id)).responseBody as any;
            assert.strictEqual(configuration.targetCondition, rollout.inputs.targetCondition);
            assert.strictEqual(configuration.priority, rollout.inputs.priority);
            assert.deepStrictEqual(configuration.labels, rollout.inputs.labels);
            const devices = resourcesOfType(run.plan, EDGE_DEVICE_TYPE).map((d) => String(d.inputs.deviceId));
            assert.ok(devices.length > 1);
            const { targetedCount, appliedCount, reportedSuccessfulCount, reportedFailedCount } = configuration.systemMetrics.results;
            assert.deepStrictEqual(
                [targetedCount, appliedCount, reportedSuccessfulCount, reportedFailedCount],
                [devices.length, devices.length, devices.length, 0],
            );
            for (const deviceId of devices) {
                const twin = await edgeAgentTwin(hub, deviceId);
                assert.deepStrictEqual(twin.configurations, { [id]: { status: "Applied" } });
                assert.strictEqual(twin.properties.reported.modules.scoring.settings.image, run.plan.outputs.scoringImageRef);
            }
            assert.deepStrictEqual(state.appliedVersions, {});
            assert.deepStrictEqual(hub.violations, []);
        });
    });

    it("starts every run from an empty hub: a second run creates, never adopts, the same identities with the same keys", async () => {
        const first = await runOffline({ stack: "dev" });
        const firstKeys = await value<Record<string, string>>(first, "edgeDeviceConnectionStrings");
        // Another stack and another program in between change nothing either.
        await runOffline({ stack: "prod" });
        const second = await runOffline({ stack: "dev" });
        assert.deepStrictEqual(await value(second, "edgeDeviceConnectionStrings"), firstKeys);
        assert.deepStrictEqual(second.states, first.states);
        assert.strictEqual(JSON.stringify(second.plan), JSON.stringify(first.plan));
        for (const device of resourcesOfType(second.plan, EDGE_DEVICE_TYPE)) assert.strictEqual(second.states[device.urn].adopted, false);
        const hub = await hubOf(second);
        assert.strictEqual(((await hub.registry().list()).responseBody as unknown[]).length, Object.keys(firstKeys).length);
        assert.deepStrictEqual([...offlineHubs().keys()], [hub.hostName], "only the hubs of the latest run");
    });

    it("fails a registration whose provider check fails, worded as the engine words it, secrets unquoted", async () => {
        await assert.rejects(
            runOffline({
                stack: "dev",
                program: () => {
                    const hub = testHub("check-hub", ["bad/id"]);
                    return { devices: hub.deviceConnectionStrings };
                },
            }),
            (error: Error) => {
                assert.ok(
                    error.message.includes(
                        `${EDGE_DEVICE_TYPE} resource 'iot-device-bad/id': property deviceId value "bad/id" has a problem: "bad/id" is not a valid device id`,
                    ),
                    error.message,
                );
                assert.ok(!/SharedAccessKey/.test(error.message));
                return true;
            },
        );
    });

    it("fails a rollout no edgeAgent confirms at once, not after rolloutTimeoutSeconds", async () => {
        // The manifest stops the scoring module, so the (healthy) edgeAgent reports it stopped: never confirmed.
        const content = manifestFor(IMAGE_A);
        content.modulesContent.$edgeAgent["properties.desired"].modules.scoring.status = "stopped";
        const started = Date.now();
        await assert.rejects(
            runOffline({
                stack: "dev",
                program: () => {
                    const hub = testHub("stuck-hub", ["edge-stuck"]);
                    const verify = { enabled: true, timeoutSeconds: 600, pollSeconds: 10, moduleName: "scoring", image: IMAGE_A };
                    const rollout = new EdgeDeploymentResource("stuck", {
                        ...deploymentInputs("", { content, verify }),
                        serviceConnectionString: hub.serviceConnectionString,
                        deviceIds: hub.devices.map((d) => d.deviceId),
                    });
                    return { versions: rollout.appliedVersions };
                },
            }),
            /rollout not confirmed within 600s on 1 device\(s\): edge-stuck \(module scoring is stopped\)/,
        );
        assert.ok(Date.now() - started < 20_000, "no real time waited");
    });
});

describe("the IoT Hub emulator's options for the offline engine", () => {
    let hub: IotHubEmulator | undefined;
    afterEach(async () => {
        await hub?.stop();
        hub = undefined;
    });

    it("routes exactly the operations it implements, with the swagger's methods and paths", function () {
        requireReference(this, IOTHUB_SWAGGER);
        const swagger = JSON.parse(fs.readFileSync(defaultSwaggerPath(), "utf8")) as {
            paths: Record<string, Record<string, { operationId: string }>>;
        };
        for (const [method, template, operationId] of EMULATED_ROUTES) {
            assert.strictEqual(swagger.paths[template]?.[method.toLowerCase()]?.operationId, operationId, `${method} ${template}`);
        }
        const devices = new DeviceStore();
        const stores = { devices, deployments: new DeploymentStore(devices) };
        const implemented = Object.keys({
            ...deviceOperations(stores),
            ...twinOperations(stores),
            ...configurationOperations(stores),
        }).sort();
        assert.deepStrictEqual(EMULATED_ROUTES.map(([, , operationId]) => operationId).sort(), implemented);
    });

    it("without the swagger file: required by default, and with swagger: if-present routes requests unchecked", async () => {
        const missing = "/nonexistent/iothub-service-swagger.json";
        await assert.rejects(startIotHubEmulator({ swaggerPath: missing }), /ENOENT/);
        hub = await startIotHubEmulator({
            hubName: "clone-hub",
            swaggerPath: missing,
            swagger: "if-present",
            edgeAgents: "report-applied",
        });
        assert.strictEqual(hub.validating, false);
        // Everything the providers do works: an identity, then a verified per-device rollout and a fleet deployment.
        const devices = new EdgeDeviceProvider(hub.registryFactory, FAST_RETRY);
        await devices.create({ serviceConnectionString: hub.connectionString, deviceId: "edge-1", tags: { environment: "test" } });
        const verify = { enabled: true, timeoutSeconds: 5, pollSeconds: 1, moduleName: "scoring", image: IMAGE_A };
        const rollouts = new EdgeDeploymentProvider(hub.registryFactory, FAST_RETRY);
        const { outs } = await rollouts.create(deploymentInputs(hub.connectionString, { deviceIds: ["edge-1"], verify }));
        assert.strictEqual(outs.appliedVersions["edge-1"], (await edgeAgentTwin(hub, "edge-1")).properties.desired.$version);
        await rollouts.create(
            deploymentInputs(hub.connectionString, {
                mode: "fleet",
                deviceIds: [],
                content: manifestFor(IMAGE_B),
                verify: { ...verify, image: IMAGE_B },
            }),
        );
        assert.deepStrictEqual(hub.violations, []);
        // What the swagger would have caught is not checked; what the service cannot route still fails as it would.
        assert.strictEqual((await hub.rawRequest({ method: "GET", path: "/devices/edge-1?api-version=1999-01-01" })).status, 200);
        assert.strictEqual((await hub.rawRequest({ method: "GET", path: "/jobs/v2?api-version=2021-04-12" })).status, 501);
        const notJson = await hub.rawRequest({
            method: "PUT",
            path: "/devices/edge-2?api-version=2021-04-12",
            headers: { "Content-Type": "application/json" },
            body: "{",
        });
        assert.strictEqual(notJson.status, 400);
        assert.deepStrictEqual(hub.violations, []);
    });

    it("simulated edgeAgents: silent by default; report-applied reports each deployment a device receives", async function () {
        requireReference(this, IOTHUB_SWAGGER);
        const silent = await startIotHubEmulator({ hubName: "silent-hub" });
        try {
            await silent.registry().create({ deviceId: "edge-1", capabilities: { iotEdge: true } });
            await silent.registry().applyConfigurationContentOnDevice("edge-1", manifestFor(IMAGE_A) as never);
            const reported = (await edgeAgentTwin(silent, "edge-1")).properties.reported;
            assert.deepStrictEqual(Object.keys(reported), ["$version"]);
        } finally {
            await silent.stop();
        }

        hub = await startIotHubEmulator({ hubName: "agents-hub", edgeAgents: "report-applied" });
        const registry = hub.registry();
        for (const deviceId of ["edge-1", "edge-2"]) await registry.create({ deviceId, capabilities: { iotEdge: true } });
        assert.deepStrictEqual(
            Object.keys((await edgeAgentTwin(hub, "edge-1")).properties.reported),
            ["$version"],
            "no deployment, no report",
        );

        const reportOf = async (deviceId: string) => {
            const twin = await edgeAgentTwin(hub!, deviceId);
            return { desiredVersion: twin.properties.desired.$version, reported: twin.properties.reported };
        };
        await registry.applyConfigurationContentOnDevice("edge-1", manifestFor(IMAGE_A) as never);
        let { desiredVersion, reported } = await reportOf("edge-1");
        assert.strictEqual(reported.lastDesiredVersion, desiredVersion);
        assert.deepStrictEqual(reported.lastDesiredStatus, { code: 200 });
        assert.deepStrictEqual(Object.keys(reported.modules).sort(), ["SimulatedTemperatureSensor", "scoring"]);
        assert.deepStrictEqual(reported.modules.scoring, { runtimeStatus: "running", settings: { image: IMAGE_A } });
        assert.strictEqual(reported.systemModules.edgeHub.runtimeStatus, "running");

        // A new manifest without the sensor: the new image is reported, the removed module is gone.
        const withoutSensor = manifestFor(IMAGE_B) as unknown as { modulesContent: Record<string, JsonObject> };
        const desired = withoutSensor.modulesContent.$edgeAgent["properties.desired"] as { modules: Record<string, unknown> };
        delete desired.modules.SimulatedTemperatureSensor;
        delete withoutSensor.modulesContent.SimulatedTemperatureSensor;
        await registry.applyConfigurationContentOnDevice("edge-1", withoutSensor as never);
        ({ desiredVersion, reported } = await reportOf("edge-1"));
        assert.strictEqual(reported.lastDesiredVersion, desiredVersion);
        assert.deepStrictEqual(Object.keys(reported.modules), ["scoring"]);
        assert.deepStrictEqual(reported.modules.scoring.settings, { image: IMAGE_B });

        // A fleet deployment reaching a device by its tags is reported too, and counted as reporting successfully.
        await registry.updateTwin("edge-2", { tags: { environment: "test" } }, "*");
        const configuration = {
            id: "fleet-1",
            content: { modulesContent: manifestFor(IMAGE_A).modulesContent },
            targetCondition: "tags.environment='test'",
            priority: 1,
        };
        await registry.addConfiguration(configuration as never);
        ({ desiredVersion, reported } = await reportOf("edge-2"));
        assert.strictEqual(reported.lastDesiredVersion, desiredVersion);
        const metrics = ((await registry.getConfiguration("fleet-1")).responseBody as any).systemMetrics.results;
        assert.deepStrictEqual([metrics.targetedCount, metrics.reportedSuccessfulCount], [1, 1]);
        assert.deepStrictEqual(hub.violations, []);
        await assert.rejects(startIotHubEmulator({ edgeAgents: "sometimes" as never }), /edgeAgents must be one of silent, report-applied/);
    });

    it("ownerKey and deviceKeys make keys deterministic; reset() empties the hub and starts the key sequences again", async function () {
        requireReference(this, IOTHUB_SWAGGER);
        const ownerKey = Buffer.alloc(32, 7).toString("base64");
        const generated: string[] = [];
        const deviceKeys = ({ deviceId, slot, sequence }: { deviceId: string; slot: string; sequence: number }) => {
            generated.push(`${deviceId}:${slot}:${sequence}`);
            return Buffer.from(`${deviceId}:${slot}:${sequence}`.padEnd(32, ".")).toString("base64");
        };
        hub = await startIotHubEmulator({ hubName: "keys-hub", ownerKey, deviceKeys });
        assert.strictEqual(hub.ownerKey, ownerKey);
        assert.strictEqual(
            hub.connectionString,
            `HostName=keys-hub.azure-devices.net;SharedAccessKeyName=iothubowner;SharedAccessKey=${ownerKey}`,
        );
        const registry = hub.registry();
        const keyOfDevice = async (deviceId: string) =>
            (await registry.get(deviceId)).responseBody.authentication?.symmetricKey?.primaryKey;
        await registry.create({ deviceId: "edge-1", capabilities: { iotEdge: true } });
        const first = await keyOfDevice("edge-1");
        assert.strictEqual(first, deviceKeys({ deviceId: "edge-1", slot: "primary", sequence: 1 }));
        // An update that omits the keys rotates them, as on the service: the next key of the sequence.
        await registry.update({ deviceId: "edge-1", capabilities: { iotEdge: true } } as never);
        assert.strictEqual(await keyOfDevice("edge-1"), deviceKeys({ deviceId: "edge-1", slot: "primary", sequence: 2 }));

        await registry.addConfiguration({
            id: "fleet-1",
            content: { modulesContent: manifestFor(IMAGE_A).modulesContent },
            targetCondition: "*",
            priority: 1,
        } as never);
        hub.reset();
        assert.deepStrictEqual([(await registry.list()).responseBody, (await registry.getConfigurations()).responseBody], [[], []]);
        assert.deepStrictEqual(hub.violations, []);
        await registry.create({ deviceId: "edge-1", capabilities: { iotEdge: true } });
        assert.strictEqual(await keyOfDevice("edge-1"), first, "a reset hub generates the same keys again");
        assert.ok(generated.includes("edge-1:secondary:1"));

        await assert.rejects(startIotHubEmulator({ ownerKey: "not base64!" }), /ownerKey must be base64 of 16 to 64 bytes/);
    });
});
