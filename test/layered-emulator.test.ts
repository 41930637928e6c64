// The IoT Hub emulator's layered deployments, driven through the real azure-iothub Registry: layers merged on top of
// the device's base deployment by priority (ties: the newer wins), none without a base or at/below its priority, the
// $edgeAgent twin's configurations.<id>.status as IoT Hub sets it (Applied for the base and each merged layer that
// sets $edgeAgent content, Targeted otherwise), module twin properties appended in dot notation, a layer's removal
// taking its module off the devices, and what the hub refuses.
import * as assert from "assert";
import type { Registry } from "azure-iothub";
import { type IotHubEmulator, startIotHubEmulator } from "../offline/iothub-emulator";
import { addStandInBase, STAND_IN_BASE_ID } from "../offline/iothub-emulator/stand-ins";
import { IOTHUB_SWAGGER } from "../offline/reference-data";
import { needsReference } from "./support/references";

const SENSOR = "mcr.microsoft.com/azureiotedge-simulated-temperature-sensor";

/** A layer adding one module (Microsoft's layered example: the simulated sensor, a route, its twin). */
function layer(image: string, twin?: Record<string, unknown>): Record<string, unknown> {
    return {
        $edgeAgent: {
            "properties.desired.modules.SimulatedTemperatureSensor": {
                settings: { image, createOptions: "{}" },
                type: "docker",
                status: "running",
                restartPolicy: "always",
                version: "1.0",
            },
        },
        $edgeHub: { "properties.desired.routes.upstream": "FROM /messages/* INTO $upstream" },
        ...(twin && { SimulatedTemperatureSensor: twin }),
    };
}

interface Twin {
    configurations?: Record<string, { status: string }>;
    properties: { desired: Record<string, any>; reported: Record<string, any> };
}

describe("IoT Hub emulator: layered deployments", () => {
    needsReference(IOTHUB_SWAGGER);
    let hub: IotHubEmulator;
    let registry: Registry;
    let n = 0;
    beforeEach(async () => {
        hub = await startIotHubEmulator({ hubName: "layer-hub", edgeAgents: "report-applied" });
        registry = hub.registry();
        await registry.create({ deviceId: "edge-1", capabilities: { iotEdge: true } });
        await registry.updateTwin("edge-1", { tags: { site: "a" } }, "*");
    });
    afterEach(async () => {
        assert.deepStrictEqual(hub.violations, []);
        await hub.stop();
    });

    const add = (id: string, modulesContent: Record<string, unknown>, priority: number, targetCondition = "tags.site='a'") =>
        registry.addConfiguration({ id, content: { modulesContent }, targetCondition, priority } as never);
    const twin = async (moduleId = "$edgeAgent") => (await registry.getModuleTwin("edge-1", moduleId)).responseBody as unknown as Twin;
    const statuses = async () => Object.fromEntries(Object.entries((await twin()).configurations ?? {}).map(([id, c]) => [id, c.status]));
    const sensorImage = async () => (await twin()).properties.desired.modules?.SimulatedTemperatureSensor?.settings.image;
    const tag = () => `${SENSOR}:1.${++n}`;

    it("a layer without a base is not merged (Targeted); with a base under it, it is, and both are Applied", async () => {
        await add("layer", layer(`${SENSOR}:1.5`), 10);
        assert.deepStrictEqual(await statuses(), { layer: "Targeted" });
        assert.deepStrictEqual((await twin()).properties.desired, { $version: 1 }, "nothing reached the device");
        await addStandInBase(registry, "tags.site='a'", 5);
        assert.deepStrictEqual(await statuses(), { [STAND_IN_BASE_ID]: "Applied", layer: "Applied" });
        const { desired, reported } = (await twin()).properties;
        assert.deepStrictEqual([desired.schemaVersion, Object.keys(desired.modules)], ["1.1", ["SimulatedTemperatureSensor"]]);
        assert.deepStrictEqual((await twin("$edgeHub")).properties.desired.routes, { upstream: "FROM /messages/* INTO $upstream" });
        assert.deepStrictEqual(
            [reported.lastDesiredVersion, reported.modules.SimulatedTemperatureSensor.runtimeStatus],
            [desired.$version, "running"],
        );
        const metrics = ((await registry.getConfiguration("layer")).responseBody as unknown as { systemMetrics: { results: object } })
            .systemMetrics;
        assert.deepStrictEqual(metrics.results, { targetedCount: 1, appliedCount: 1, reportedSuccessfulCount: 1, reportedFailedCount: 0 });
    });

    it("a layer at or below its base's priority is ignored (Targeted), as IoT Hub drops it", async () => {
        await addStandInBase(registry, "tags.site='a'", 10);
        await add("level", layer(tag()), 10);
        await add("below", layer(tag()), 3);
        assert.deepStrictEqual(await statuses(), { [STAND_IN_BASE_ID]: "Applied", level: "Targeted", below: "Targeted" });
        assert.strictEqual(await sensorImage(), undefined);
    });

    it("layers merge by priority: the higher one's module wins, at equal priority the newer one's; removing one takes its content off", async () => {
        await addStandInBase(registry, "tags.site='a'", 1);
        const [low, high, newer] = [tag(), tag(), tag()];
        await add("high", layer(high), 20);
        await add("low", layer(low), 10);
        assert.strictEqual(await sensorImage(), high);
        await add("newer", layer(newer), 20);
        assert.strictEqual(await sensorImage(), newer);
        assert.deepStrictEqual(await statuses(), { newer: "Applied", high: "Applied", low: "Applied", [STAND_IN_BASE_ID]: "Applied" });
        await registry.removeConfiguration("newer");
        await registry.removeConfiguration("high");
        assert.strictEqual(await sensorImage(), low);
        await registry.removeConfiguration("low");
        const { desired, reported } = (await twin()).properties;
        assert.deepStrictEqual([desired.modules, reported.modules], [{}, {}], "the module is gone from the device");
    });

    it("module twin properties in dot notation are appended; an empty $edgeAgent shows Targeted on $edgeAgent, as Microsoft documents", async () => {
        await addStandInBase(registry, "tags.site='a'", 1);
        await add("sensor", layer(tag(), { "properties.desired": { SendData: true, SendInterval: 5 } }), 10);
        await add(
            "more",
            {
                $edgeAgent: {},
                $edgeHub: {},
                SimulatedTemperatureSensor: { "properties.desired.layeredProperties": { StopAfterCount: 1000 } },
            },
            20,
        );
        assert.deepStrictEqual((await twin("SimulatedTemperatureSensor")).properties.desired, {
            SendData: true,
            SendInterval: 5,
            layeredProperties: { StopAfterCount: 1000 },
            $version: (await twin("SimulatedTemperatureSensor")).properties.desired.$version,
        });
        assert.deepStrictEqual(await statuses(), { more: "Targeted", sensor: "Applied", [STAND_IN_BASE_ID]: "Applied" });
    });

    it("refuses a layer key outside properties.desired", async () => {
        const error = await add("bad", { $edgeAgent: { "spec.modules.x": {} }, $edgeHub: {} }, 10).then(
            () => assert.fail("accepted"),
            (e: { response?: { statusCode?: number } }) => e,
        );
        assert.strictEqual(error.response?.statusCode, 400);
    });
});
