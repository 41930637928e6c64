// The EdgeDevice provider's CRUD, called directly against the local IoT Hub emulator through the real SDK.
import * as assert from "assert";
import { EdgeDeviceProvider, EdgeDeviceOutputs } from "../components/iot/edgeDeviceProvider";
import { FAST_RETRY } from "./support/fast-retry";
import { IotHubEmulator, startIotHubEmulator } from "../offline/iothub-emulator";
import { IOTHUB_SWAGGER } from "../offline/reference-data";
import { needsReference } from "./support/references";

describe("EdgeDevice provider (against the IoT Hub emulator)", () => {
    needsReference(IOTHUB_SWAGGER);
    let hub: IotHubEmulator;
    let provider: EdgeDeviceProvider;
    const inputs = (deviceId: string, tags: Record<string, string> = { environment: "dev" }) => ({
        serviceConnectionString: hub.connectionString,
        deviceId,
        tags,
    });

    beforeEach(async () => {
        hub = await startIotHubEmulator({ hubName: "provider-hub" });
        provider = new EdgeDeviceProvider(hub.registryFactory, FAST_RETRY);
    });
    afterEach(async () => {
        assert.deepStrictEqual(hub.violations, [], "every request the provider sent matches the service swagger");
        await hub.stop();
    });

    it("creates an IoT Edge identity with hub-generated keys, tags on its twin, and a config.toml", async () => {
        const { id, outs } = await provider.create(inputs("edge-1"));
        assert.strictEqual(id, "edge-1");
        const device = (await hub.registry().get("edge-1")).responseBody;
        assert.strictEqual(device.capabilities?.iotEdge, true);
        const key = device.authentication?.symmetricKey?.primaryKey;
        assert.ok(key && key.length >= 32, "the hub generated a key");
        assert.strictEqual(outs.connectionString, `HostName=${hub.hostName};DeviceId=edge-1;SharedAccessKey=${key}`);
        assert.match(
            outs.configToml,
            /^\[provisioning\]\nsource = "manual"\nconnection_string = "HostName=.*;DeviceId=edge-1;SharedAccessKey=.*"$/m,
        );
        assert.deepStrictEqual((await hub.registry().getTwin("edge-1")).responseBody.tags, { environment: "dev" });
        assert.strictEqual(outs.adopted, false);
    });

    it("is idempotent: a second create adopts the existing edge device with the same keys", async () => {
        const first = await provider.create(inputs("edge-1"));
        const second = await provider.create(inputs("edge-1"));
        assert.strictEqual(second.outs.connectionString, first.outs.connectionString);
        assert.strictEqual(second.outs.adopted, true);
    });

    it("refuses to adopt an existing device that is not an edge device", async () => {
        await hub.registry().create({ deviceId: "leaf-1", status: "enabled" });
        await assert.rejects(
            provider.create(inputs("leaf-1")),
            /leaf-1 already exists in provider-hub\.azure-devices\.net and is not an IoT Edge device/,
        );
    });

    it("retries a create whose response was lost after the hub committed it", async () => {
        hub.faults.configure({ script: ["dropAfterCommit"], operations: ["Devices_CreateOrUpdateIdentity"] });
        const { outs } = await provider.create(inputs("edge-2"));
        assert.strictEqual(outs.adopted, true, "the retry found the device the lost response had created");
        assert.ok(outs.connectionString.includes("DeviceId=edge-2"));
    });

    it("retries throttling and unavailability until the device exists", async () => {
        hub.faults.configure({ script: ["throttle", "unavailable", "drop"], retryAfterSeconds: 0 });
        const { outs } = await provider.create(inputs("edge-3"));
        assert.strictEqual(outs.deviceId, "edge-3");
        assert.deepStrictEqual(hub.stats.faultsInjected, { throttle: 1, unavailable: 1, drop: 1, dropAfterCommit: 0 });
    });

    it("diffs tags as an update and a new id as a replacement", async () => {
        const { outs } = await provider.create(inputs("edge-1"));
        const olds = outs as EdgeDeviceOutputs;
        assert.deepStrictEqual(await provider.diff("edge-1", olds, inputs("edge-1")), {
            changes: false,
            replaces: [],
            deleteBeforeReplace: false,
        });
        assert.strictEqual((await provider.diff("edge-1", olds, inputs("edge-1", { environment: "prod" }))).changes, true);
        assert.deepStrictEqual((await provider.diff("edge-1", olds, inputs("edge-9"))).replaces, ["deviceId"]);
    });

    it("updates tags in place, removing the ones no longer wanted", async () => {
        const { outs } = await provider.create(inputs("edge-1", { environment: "dev", site: "plant1" }));
        await provider.update("edge-1", outs as EdgeDeviceOutputs, inputs("edge-1", { environment: "prod" }));
        assert.deepStrictEqual((await hub.registry().getTwin("edge-1")).responseBody.tags, { environment: "prod" });
    });

    it("reads the device back, and reports a device deleted by hand as gone", async () => {
        const { outs } = await provider.create(inputs("edge-1"));
        const read = await provider.read("edge-1", outs as EdgeDeviceOutputs);
        assert.strictEqual(read.props.connectionString, outs.connectionString);
        await hub.registry().delete("edge-1");
        assert.deepStrictEqual(await provider.read("edge-1", outs as EdgeDeviceOutputs), {});
    });

    it("deletes the identity, and deleting a missing device succeeds", async () => {
        const { outs } = await provider.create(inputs("edge-1"));
        await provider.delete("edge-1", outs as EdgeDeviceOutputs);
        await assert.rejects(hub.registry().get("edge-1"), (e: any) => e.response?.statusCode === 404);
        await provider.delete("edge-1", outs as EdgeDeviceOutputs);
    });

    it("rejects an invalid device id at check time", async () => {
        const result = await provider.check({}, inputs("bad/id"));
        assert.strictEqual(result.failures?.[0].property, "deviceId");
    });
});
