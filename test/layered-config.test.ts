// Layered deployments refused at preview: the configuration keys (deploymentLayer, basePriority) and what they may
// be combined with, the provider's check of a layer's inputs, and the layer the manifest builder derives (the shape
// Microsoft documents, nothing of the base's in it).
import * as assert from "assert";
import { loadConfig } from "../components/config/loader";
import { EdgeDeploymentProvider, type EdgeDeploymentInputs, HUB_DEPLOYMENT_LIMITS } from "../components/iot";
import { type DeploymentManifest, formatProblem, isLayered, layerOf, validateManifest } from "../components/iot/manifest";
import { deploymentInputs, IMAGE_A, manifestFor } from "../offline/sample-deployment";
import { configRejection, devConfigWith } from "./support/config-fixtures";

const FLEET = { deploymentMode: "fleet" };
const LAYERED = { ...FLEET, deploymentLayer: "layered" };

describe("layered deployments: configuration keys", () => {
    const rejection = (overrides: Record<string, unknown>): string => configRejection(overrides).message;

    it("defaults: a base deployment, basePriority 0; a paid hub's 100 deployments, F1's 10", () => {
        const dev = loadConfig(devConfigWith({})).deployment;
        assert.deepStrictEqual([dev.layer, dev.basePriority, dev.manifest.layered], ["base", 0, false]);
        assert.strictEqual(dev.hubDeploymentLimit, HUB_DEPLOYMENT_LIMITS.paid);
        assert.strictEqual(loadConfig(devConfigWith({ iotHubSku: "F1", iotHubUnits: 1 })).deployment.hubDeploymentLimit, 10);
        const layered = loadConfig(devConfigWith({ ...LAYERED, basePriority: 5 })).deployment;
        assert.deepStrictEqual([layered.layer, layered.basePriority, layered.priority, layered.manifest.layered], ["layered", 5, 10, true]);
    });

    it("layered in device mode is an error naming both keys", () => {
        assert.match(
            rejection({ deploymentLayer: "layered" }),
            /edgeml:deploymentLayer = "layered" is invalid: a layered deployment needs fleet mode, but edgeml:deploymentMode is "device": set it to fleet, or edgeml:deploymentLayer to base/,
        );
    });

    it("a layer's priority not above basePriority is an error naming both keys", () => {
        assert.match(
            rejection({ ...LAYERED, deploymentPriority: 10, basePriority: 10 }),
            /edgeml:deploymentPriority = "10" is invalid: must be above edgeml:basePriority \(10\), the priority of the base deployment the layer lands on: IoT Hub ignores a layer at or below its base/,
        );
        assert.match(
            rejection({ ...LAYERED, deploymentPriority: 3, basePriority: 7 }),
            /edgeml:deploymentPriority = "3" is invalid: must be above edgeml:basePriority \(7\)/,
        );
    });

    it("edgeHub runtime settings in a layer (storeAndForwardTtlSeconds), and basePriority without a layer, are errors naming both keys", () => {
        assert.match(
            rejection({ ...LAYERED, storeAndForwardTtlSeconds: 600 }),
            /edgeml:storeAndForwardTtlSeconds = "600" is invalid: sets edgeHub's storeAndForwardConfiguration, a runtime setting of the base deployment: a layer \(edgeml:deploymentLayer layered\) defines none/,
        );
        assert.match(
            rejection({ ...FLEET, basePriority: 5 }),
            /edgeml:basePriority = "5" is invalid: is the priority of the base deployment a layer lands on, but edgeml:deploymentLayer is "base"/,
        );
        assert.match(
            rejection({ ...FLEET, deploymentLayer: "top" }),
            /edgeml:deploymentLayer = "top" is invalid: must be one of base, layered/,
        );
    });

    it("the simulated sensor is a module of the layer like the scoring module", () => {
        const config = loadConfig(devConfigWith({ ...LAYERED, simulatedSensor: true })).deployment;
        assert.strictEqual(config.manifest.sensor?.name, "SimulatedTemperatureSensor");
        assert.deepStrictEqual(validateManifest(layerOf(manifestFor(IMAGE_A))), []);
    });
});

describe("layered deployments: the layer a manifest gives", () => {
    const layer = layerOf(manifestFor(IMAGE_A));
    const problems = (content: unknown) => validateManifest(content as DeploymentManifest).map(formatProblem);

    it("is in dot notation under $edgeAgent and $edgeHub, with nothing of the runtime, as Microsoft's layered example is", () => {
        const { $edgeAgent, $edgeHub, ...twins } = layer.modulesContent;
        assert.ok(isLayered(layer));
        assert.deepStrictEqual(Object.keys($edgeAgent).sort(), [
            "properties.desired.modules.SimulatedTemperatureSensor",
            "properties.desired.modules.scoring",
            "properties.desired.runtime.settings.registryCredentials.testacr",
        ]);
        assert.deepStrictEqual(Object.keys($edgeHub).sort(), [
            "properties.desired.routes.scoringToUpstream",
            "properties.desired.routes.sensorToScoring",
        ]);
        assert.deepStrictEqual(twins, {});
        const scoring = $edgeAgent["properties.desired.modules.scoring"] as { settings: { image: string } };
        assert.strictEqual(scoring.settings.image, IMAGE_A);
        assert.ok(!JSON.stringify(layer).includes("systemModules") && !JSON.stringify(layer).includes("storeAndForward"));
    });

    it("refuses what belongs to the base: system modules, runtime settings, edgeHub's schemaVersion and store and forward; and a missing $edgeAgent", () => {
        const edited = (edit: (c: Record<string, Record<string, unknown>>) => void) => {
            const copy = JSON.parse(JSON.stringify(layer));
            edit(copy.modulesContent);
            return copy;
        };
        assert.deepStrictEqual(
            problems(edited((c) => (c.$edgeHub["properties.desired.storeAndForwardConfiguration"] = { timeToLiveSecs: 60 }))),
            [
                `twin "$edgeHub" properties.desired.storeAndForwardConfiguration: belongs to the base deployment: edgeHub's settings (schemaVersion, storeAndForwardConfiguration) are the base's; a layer adds properties.desired.routes.<name>`,
            ],
        );
        assert.match(
            problems(edited((c) => (c.$edgeHub["properties.desired.schemaVersion"] = "1.2")))[0],
            /^twin "\$edgeHub" properties\.desired\.schemaVersion: belongs to the base/,
        );
        assert.match(
            problems(edited((c) => (c.$edgeAgent["properties.desired.systemModules.edgeHub"] = { type: "docker" })))[0],
            /^twin "\$edgeAgent" properties\.desired\.systemModules\.edgeHub: belongs to the base deployment: a layer defines no system modules or runtime settings/,
        );
        assert.match(
            problems(edited((c) => (c.$edgeAgent["properties.desired.runtime.settings.minDockerVersion"] = "v1.25")))[0],
            /runtime\.settings\.minDockerVersion: belongs to the base/,
        );
        assert.deepStrictEqual(problems(edited((c) => (c.$edgeAgent = {}))), [], 'an empty "$edgeAgent": {} is a layer');
        // A module of the layer is checked as in a complete manifest; a route may deliver to a module of the base.
        assert.match(
            problems(edited((c) => ((c.$edgeAgent["properties.desired.modules.scoring"] as { status: string }).status = "paused")))[0],
            /^module "scoring" status/,
        );
        assert.deepStrictEqual(
            problems(
                edited(
                    (c) =>
                        (c.$edgeHub["properties.desired.routes.toBase"] =
                            'FROM /messages/modules/scoring/outputs/* INTO BrokeredEndpoint("/modules/opcPublisher/inputs/in")'),
                ),
            ),
            [],
        );
    });
});

describe("layered deployments: the provider's check", () => {
    const provider = new EdgeDeploymentProvider();
    const connection = "HostName=h.azure-devices.net;SharedAccessKeyName=iothubowner;SharedAccessKey=AAAA";
    const layered = (overrides: Partial<EdgeDeploymentInputs> = {}) =>
        deploymentInputs(connection, {
            mode: "fleet",
            deploymentLayer: "layered",
            basePriority: 5,
            content: layerOf(manifestFor(IMAGE_A)),
            ...overrides,
        });
    const failures = async (inputs: EdgeDeploymentInputs) => (await provider.check({}, inputs)).failures ?? [];

    it("passes a layer in fleet mode above its base", async () => {
        assert.deepStrictEqual(await failures(layered()), []);
    });

    it("refuses a layer in device mode, one not above its base, base content as a layer and a layer's content as a base", async () => {
        assert.deepStrictEqual(await failures(layered({ mode: "device" })), [
            { property: "deploymentLayer", reason: "a layered deployment needs fleet mode, but mode is device" },
        ]);
        assert.deepStrictEqual(await failures(layered({ priority: 5 })), [
            {
                property: "priority",
                reason: "5 must be above the base deployment's priority (basePriority 5), or IoT Hub ignores the layer",
            },
        ]);
        assert.deepStrictEqual(await failures(layered({ content: manifestFor(IMAGE_A) })), [
            {
                property: "content",
                reason: `twin "$edgeAgent" properties.desired: belongs to the base deployment: a layer defines no system modules or runtime settings, only properties.desired.modules.<name> (and registryCredentials.<name>)`,
            },
            {
                property: "content",
                reason: `twin "$edgeHub" properties.desired: belongs to the base deployment: edgeHub's settings (schemaVersion, storeAndForwardConfiguration) are the base's; a layer adds properties.desired.routes.<name>`,
            },
        ]);
        const { $edgeAgent: _agent, ...withoutAgent } = layerOf(manifestFor(IMAGE_A)).modulesContent;
        assert.deepStrictEqual(await failures(layered({ content: { modulesContent: withoutAgent } })), [
            { property: "content", reason: 'twin "$edgeAgent": is required in a layered deployment, an empty object at least' },
        ]);
        assert.deepStrictEqual(await failures(layered({ deploymentLayer: "base" })), [
            { property: "content", reason: "is a layer, but deploymentLayer is base" },
        ]);
    });

    it("refuses layered content that defines $edgeHub runtime settings", async () => {
        const content = layerOf(manifestFor(IMAGE_A));
        content.modulesContent.$edgeHub["properties.desired.storeAndForwardConfiguration"] = { timeToLiveSecs: 60 };
        const [failure] = await failures(layered({ content }));
        assert.strictEqual(failure.property, "content");
        assert.match(failure.reason, /^twin "\$edgeHub" properties\.desired\.storeAndForwardConfiguration: belongs to the base deployment/);
    });
});
