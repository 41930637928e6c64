import * as assert from "assert";
import { withPlaceholders } from "../components/config/deployment";
import { derivedName, loadConfig } from "../components/config/loader";
import { buildManifest } from "../components/iot/manifest";
import { listStacks, readStackConfig, REPO_ROOT } from "../offline";
import { configRejection, created, devConfigWith } from "./support/config-fixtures";

const rejection = configRejection;

describe("config loader", () => {
    it("turns the dev stack into one typed object with derived names", () => {
        const config = loadConfig(devConfigWith({}));
        assert.strictEqual(config.registry.name, "edgemldevacr");
        assert.strictEqual(created(config.registry).sku, "Basic");
        assert.strictEqual(config.iotHub.name, "edgeml-dev-hub");
        assert.deepStrictEqual([created(config.iotHub).sku, created(config.iotHub).units], ["S1", 1]);
        assert.strictEqual(created(config.workspace).storageAccountName, "edgemldevst");
        assert.strictEqual(created(config.workspace).keyVaultName, "edgeml-dev-kv");
        assert.deepStrictEqual(config.resourceGroup, { name: "edgeml-dev-rg", existing: false });
        assert.deepStrictEqual(config.edgeDevices, ["dev-edge-01"]);
        assert.strictEqual(config.protect, false);
    });

    it("derives different names for different stacks, so two stacks never collide", () => {
        const dev = loadConfig(devConfigWith({}, "dev"));
        const staging = loadConfig(devConfigWith({}, "Staging-EU"));
        for (const pick of [
            (c: typeof dev) => c.registry.name,
            (c: typeof dev) => c.iotHub.name,
            (c: typeof dev) => created(c.workspace).storageAccountName,
            (c: typeof dev) => created(c.workspace).keyVaultName,
            (c: typeof dev) => c.workspace.name,
            (c: typeof dev) => c.resourceGroup.name,
        ]) {
            assert.notStrictEqual(pick(dev), pick(staging));
        }
        // "Staging-EU" cannot stay as it is (capitals), so a hash of it tells it from a stack named "staging-eu".
        assert.match(staging.registry.name, /^edgemlstagingeu[0-9a-f]{4}acr$/);
        assert.match(staging.iotHub.name, /^edgeml-staging-eu[0-9a-f]{4}-hub$/);
    });

    it("leaves the model version to the registration's numbering unless a whole number is given", () => {
        const derived = loadConfig(devConfigWith({}));
        assert.strictEqual(derived.model.version, undefined);
        assert.match(created(derived.model).file.sha256, /^[0-9a-f]{64}$/);
        assert.strictEqual(created(derived.model).path, "scoring/examples/temperature-anomaly/model/model.json");
        assert.strictEqual(loadConfig(devConfigWith({ modelVersion: "3" })).model.version, "3");
        assert.deepStrictEqual(created(loadConfig(devConfigWith({ modelTags: ["team=edge", "expr=a=b"] })).model).tags, {
            team: "edge",
            expr: "a=b",
        });
    });

    it("lets an explicit name win over the derived one", () => {
        const config = loadConfig(devConfigWith({ registryName: "contosoEdgeAcr", keyVaultName: "contoso-kv-1" }));
        assert.strictEqual(config.registry.name, "contosoEdgeAcr");
        assert.strictEqual(created(config.workspace).keyVaultName, "contoso-kv-1");
    });

    it("uses an existing resource group when one is named", () => {
        const config = loadConfig(devConfigWith({ existingResourceGroup: "team-shared-rg" }));
        assert.deepStrictEqual(config.resourceGroup, { name: "team-shared-rg", existing: true });
    });

    it("derives alphanumeric-only names without separators, and keeps the names of stacks that need no change", () => {
        assert.strictEqual(derivedName("edgeml", "dev", "st", true), "edgemldevst");
        assert.strictEqual(derivedName("edgeml", "prod", "hub", false), "edgeml-prod-hub");
        assert.strictEqual(derivedName("edgeml", "plant-2", "hub", false), "edgeml-plant-2-hub");
        // A stack name that cannot stay as it is carries a hash of itself, so no other stack name derives the same.
        assert.match(derivedName("edgeml", "my_stack.v2", "st", true), /^edgemlmystackv2[0-9a-f]{4}st$/);
        assert.match(derivedName("edgeml", "my_stack.v2", "hub", false), /^edgeml-my-stack-v2[0-9a-f]{4}-hub$/);
    });

    it("never derives the same global name for two stacks whose names differ", () => {
        const pairs = [
            ["ab-cd", "ab_cd"],
            ["My.Stack", "my-stack"],
            ["abcd", "ab-cd"],
            ["Dev", "dev"],
            ["a--b", "a-b"],
        ];
        const globalNames = (stack: string) => {
            const config = loadConfig(devConfigWith({}, stack));
            const workspace = created(config.workspace);
            return [
                config.resourceGroup.name,
                created(config.registry).name,
                created(config.iotHub).name,
                workspace.storageAccountName,
                workspace.keyVaultName,
            ];
        };
        for (const [a, b] of pairs) {
            const [first, second] = [globalNames(a), globalNames(b)];
            first.forEach((name, i) => assert.notStrictEqual(name, second[i], `stacks ${a} and ${b} both derive ${name}`));
        }
        assert.deepStrictEqual(globalNames("dev"), ["edgeml-dev-rg", "edgemldevacr", "edgeml-dev-hub", "edgemldevst", "edgeml-dev-kv"]);
    });

    // Each row: the override, and the key its message must name.
    const invalid: Array<[string, Record<string, unknown>, string]> = [
        ["registry name too short", { registryName: "acr" }, "edgeml:registryName"],
        ["registry name with hyphens", { registryName: "my-registry" }, "edgeml:registryName"],
        ["registry name too long", { registryName: "a".repeat(51) }, "edgeml:registryName"],
        ["registry SKU unknown", { registrySku: "Free" }, "edgeml:registrySku"],
        ["storage name with capitals", { storageAccountName: "EdgeMlStore" }, "edgeml:storageAccountName"],
        ["storage name too long", { storageAccountName: "a".repeat(25) }, "edgeml:storageAccountName"],
        ["key vault starting with a digit", { keyVaultName: "1vault" }, "edgeml:keyVaultName"],
        ["key vault with consecutive hyphens", { keyVaultName: "my--vault" }, "edgeml:keyVaultName"],
        ["key vault too long", { keyVaultName: "v".repeat(25) }, "edgeml:keyVaultName"],
        ["hub name ending in a hyphen", { iotHubName: "my-hub-" }, "edgeml:iotHubName"],
        ["hub name with underscore", { iotHubName: "my_hub" }, "edgeml:iotHubName"],
        ["hub SKU basic tier", { iotHubSku: "B1" }, "edgeml:iotHubSku"],
        ["hub SKU unknown", { iotHubSku: "S9" }, "edgeml:iotHubSku"],
        ["hub units zero", { iotHubUnits: 0 }, "edgeml:iotHubUnits"],
        ["hub units not a number", { iotHubUnits: "two" }, "edgeml:iotHubUnits"],
        ["free hub with two units", { iotHubSku: "F1", iotHubUnits: 2 }, "edgeml:iotHubUnits"],
        ["S3 hub with 11 units", { iotHubSku: "S3", iotHubUnits: 11 }, "edgeml:iotHubUnits"],
        ["partitions above 128", { iotHubPartitions: 129 }, "edgeml:iotHubPartitions"],
        ["free hub with four partitions", { iotHubSku: "F1", iotHubPartitions: 4 }, "edgeml:iotHubPartitions"],
        ["workspace name too long", { workspaceName: "w".repeat(34) }, "edgeml:workspaceName"],
        ["workspace name starting with a hyphen", { workspaceName: "-mlw" }, "edgeml:workspaceName"],
        ["storage SKU premium", { storageSku: "Premium_LRS" }, "edgeml:storageSku"],
        ["retention below 30 days", { logRetentionDays: 7 }, "edgeml:logRetentionDays"],
        ["retention fractional", { logRetentionDays: 30.5 }, "edgeml:logRetentionDays"],
        ["protect not a boolean", { protect: "yes" }, "edgeml:protect"],
        ["location display name", { location: "West Europe" }, "edgeml:location"],
        ["location misspelt", { location: "westeurop" }, "edgeml:location"],
        ["prefix containing a reserved word", { namePrefix: "mywindows" }, "edgeml:namePrefix"],
        ["prefix starting with LOGIN", { namePrefix: "loginedge" }, "edgeml:namePrefix"],
        ["registry name a reserved word", { registryName: "Azure" }, "edgeml:registryName"],
        ["storage name containing MICROSOFT", { storageAccountName: "microsoftdata" }, "edgeml:storageAccountName"],
        ["key vault name a reserved word", { keyVaultName: "xbox" }, "edgeml:keyVaultName"],
        ["hub name starting with LOGIN", { iotHubName: "login-hub" }, "edgeml:iotHubName"],
        ["insights name ending in a period", { insightsName: "edge-appi." }, "edgeml:insightsName"],
        ["insights name ending in a space", { insightsName: "edge-appi " }, "edgeml:insightsName"],
        ["insights name with a control character", { insightsName: "edge\u0007appi" }, "edgeml:insightsName"],
        ["device id with +", { edgeDevices: ["plant+1"] }, "edgeml:edgeDevices[0]"],
        ["device id with #", { edgeDevices: ["plant#1"] }, "edgeml:edgeDevices[0]"],
        ["prefix with a hyphen", { namePrefix: "edge-ml" }, "edgeml:namePrefix"],
        ["prefix too long", { namePrefix: "averyverylongprefix" }, "edgeml:namePrefix"],
        ["device id with a slash", { edgeDevices: ["plant/1"] }, "edgeml:edgeDevices[0]"],
        ["device id too long", { edgeDevices: ["d".repeat(129)] }, "edgeml:edgeDevices[0]"],
        ["device id repeated", { edgeDevices: ["a", "b", "a"] }, "edgeml:edgeDevices[2]"],
        ["device list not a list", { edgeDevices: "dev-edge-01" }, "edgeml:edgeDevices"],
        ["existing group ending in a period", { existingResourceGroup: "rg." }, "edgeml:existingResourceGroup"],
        ["model file missing", { modelPath: "scoring/model/nope.json" }, "edgeml:modelPath"],
        ["model name with a space", { modelName: "my model" }, "edgeml:modelName"],
        ["model version with a slash", { modelVersion: "1/2" }, "edgeml:modelVersion"],
        ["model version not a whole number", { modelVersion: "v1.2" }, "edgeml:modelVersion"],
        ["model version zero", { modelVersion: "0" }, "edgeml:modelVersion"],
        ["model version with a leading zero", { modelVersion: "07" }, "edgeml:modelVersion"],
        ["model tag without =", { modelTags: ["team"] }, "edgeml:modelTags[0]"],
        ["model tag key repeated", { modelTags: ["a=1", "a=2"] }, "edgeml:modelTags[1]"],
        ["image repository with capitals", { imageRepository: "EdgeML/Scoring" }, "edgeml:imageRepository"],
        ["image platform unknown", { imagePlatform: "windows/amd64" }, "edgeml:imagePlatform"],
        ["base image with a space", { scoringBaseImage: "python 3.11" }, "edgeml:scoringBaseImage"],
        ["deployment mode unknown", { deploymentMode: "canary" }, "edgeml:deploymentMode"],
        ["edge runtime version not a tag", { edgeRuntimeVersion: "latest" }, "edgeml:edgeRuntimeVersion"],
        ["scoring module named like a system module", { scoringModuleName: "edgeHub" }, "edgeml:scoringModuleName"],
        ["scoring module name with a space", { scoringModuleName: "my scorer" }, "edgeml:scoringModuleName"],
        ["restart policy unknown", { scoringRestartPolicy: "sometimes" }, "edgeml:scoringRestartPolicy"],
        ["env name with a space", { scoringEnv: ["MY VAR=1"] }, "edgeml:scoringEnv"],
        ["createOptions not JSON", { scoringCreateOptions: "{HostConfig" }, "edgeml:scoringCreateOptions"],
        [
            "createOptions beyond 100 chunks",
            { scoringCreateOptions: JSON.stringify({ Env: ["X=" + "y".repeat(52_000)] }) },
            "edgeml:scoringCreateOptions",
        ],
        [
            "desired properties over 32 KB",
            { scoringDesiredProperties: JSON.stringify({ blob: "z".repeat(33_000) }) },
            "edgeml:scoringDesiredProperties",
        ],
        ["route without INTO", { extraRoutes: ["bad=FROM /messages/* $upstream"] }, "edgeml:extraRoutes"],
        [
            "route into a module that is not deployed",
            { extraRoutes: ['x=FROM /messages/* INTO BrokeredEndpoint("/modules/ghost/inputs/in")'] },
            "edgeml:extraRoutes",
        ],
        ["scoring input from nothing", { simulatedSensor: false, scoringInputFrom: ["none"] }, "edgeml:scoringInputFrom"],
        ["scoring input from its own output", { scoringInputFrom: ["scoring/*"] }, "edgeml:scoringInputFrom"],
        ["scoring input from a sensor that is off", { simulatedSensor: false, scoringInputFrom: ["sensor"] }, "edgeml:scoringInputFrom"],
        ["scoring input entry malformed", { scoringInputFrom: ["bad entry"] }, "edgeml:scoringInputFrom[0]"],
        ["scoring input none with another source", { scoringInputFrom: ["none", "leafDevices"] }, "edgeml:scoringInputFrom"],
        [
            "a route looping the scoring output back",
            { extraRoutes: ['loop=FROM /messages/* INTO BrokeredEndpoint("/modules/scoring/inputs/amlInput")'] },
            "edgeml:extraRoutes",
        ],
        ["store-and-forward TTL below a minute", { storeAndForwardTtlSeconds: 5 }, "edgeml:storeAndForwardTtlSeconds"],
        ["negative priority", { deploymentPriority: -1 }, "edgeml:deploymentPriority"],
        ["rollout timeout above an hour", { rolloutTimeoutSeconds: 7200 }, "edgeml:rolloutTimeoutSeconds"],
        ["concurrency zero", { deploymentConcurrency: 0 }, "edgeml:deploymentConcurrency"],
        ["misspelt key", { registrySkuu: "Basic" }, "edgeml:registrySkuu"],
        ["project file default missing", { registrySku: undefined }, "edgeml:registrySku"],
    ];
    for (const [title, overrides, key] of invalid) {
        it(`rejects ${title}, naming ${key}`, () => {
            const error = rejection(overrides);
            const line = error.problems.find((p) => p.startsWith(key));
            assert.ok(line, `no problem names ${key}: ${error.message}`);
            assert.ok(error.message.includes(`Invalid configuration for stack "dev"`));
        });
    }

    it("quotes the value and the rule it breaks", () => {
        const error = rejection({ registrySku: "Free" });
        assert.deepStrictEqual(error.problems, ['edgeml:registrySku = "Free" is invalid: must be one of Basic, Standard, Premium']);
    });

    it("suggests the key a misspelt one was meant to be", () => {
        assert.match(rejection({ registrySkuu: "Basic" }).message, /did you mean edgeml:registrySku\?/);
    });

    it("routes telemetry into the scoring module in every stack file: the sensor in dev, leaf devices in prod", () => {
        for (const stack of listStacks()) {
            const config = loadConfig({ stack, values: readStackConfig(stack).values, projectDir: REPO_ROOT });
            const routes = buildManifest(withPlaceholders(config.deployment)).modulesContent.$edgeHub["properties.desired"].routes;
            const into = Object.values(routes).filter((r) =>
                (typeof r === "string" ? r : r.route).includes(`/modules/${config.deployment.manifest.scoring.name}/inputs/`),
            );
            assert.ok(into.length > 0, `stack ${stack}: no route into the scoring module`);
        }
        const source = (stack: string) =>
            loadConfig({ stack, values: readStackConfig(stack).values, projectDir: REPO_ROOT }).deployment.manifest.telemetry;
        assert.deepStrictEqual(source("dev"), [{ kind: "sensor" }]);
        assert.deepStrictEqual(source("prod"), [{ kind: "leafDevices" }]);
        // Without the sensor and without a choice, the devices' own telemetry is scored.
        assert.deepStrictEqual(loadConfig(devConfigWith({ simulatedSensor: false })).deployment.manifest.telemetry, [
            { kind: "leafDevices" },
        ]);
        assert.match(
            rejection({ simulatedSensor: false, scoringInputFrom: ["none"] }).message,
            /would score nothing; set edgeml:scoringInputFrom, or route into it with edgeml:extraRoutes/,
        );
    });

    it("suggests the region a misspelt or display-named location was meant to be", () => {
        assert.match(
            rejection({ location: "westeurop" }).message,
            /edgeml:location = "westeurop" is invalid: not an Azure region \(did you mean westeurope\?\)/,
        );
        assert.match(rejection({ location: "Sweden Central" }).message, /did you mean swedencentral\?/);
        assert.doesNotThrow(() => loadConfig(devConfigWith({ location: "swedencentral" })));
    });

    it("names the reserved word a name uses", () => {
        assert.match(rejection({ registryName: "Azure" }).message, /AZURE is a reserved word/);
        assert.match(rejection({ namePrefix: "mywindows" }).message, /contains WINDOWS/);
    });

    it("names both the prefix and the derived key when a derived name breaks a rule", () => {
        // 12-character prefix + a long stack name overflows the 24-character storage account limit.
        const error = rejection({ namePrefix: "contosoedge1" }, "production-westeurope");
        const line = error.problems.find((p) => p.startsWith("edgeml:storageAccountName"));
        assert.ok(line && line.includes("edgeml:namePrefix") && /contosoedge1productionwesteurope[0-9a-f]{4}st/.test(line), error.message);
    });

    it("reports every problem at once rather than one per run", () => {
        const error = rejection({ registrySku: "Free", iotHubSku: "B2", protect: "maybe" });
        assert.strictEqual(error.problems.length, 3);
    });
    it("refuses device mode without a device, naming edgeDevices", () => {
        assert.match(
            configRejection({ edgeDevices: [] }).message,
            /edgeml:edgeDevices = "\[\]" is invalid: edgeml:deploymentMode is "device", which applies the deployment to each device listed here/,
        );
    });
    it("tells the runtime the input and output the routes use, and refuses a scoringEnv that says otherwise", () => {
        const scoring = loadConfig(devConfigWith({ scoringInputName: "telemetry", scoringEnv: ["LOG_LEVEL=DEBUG"] })).deployment.manifest
            .scoring;
        assert.deepStrictEqual(scoring.env, { LOG_LEVEL: "DEBUG", INPUT_NAME: "telemetry", OUTPUT_NAME: "amlOutput" });
        assert.match(
            configRejection({ scoringEnv: ["OUTPUT_NAME=results"] }).message,
            /edgeml:scoringEnv = "OUTPUT_NAME=results" is invalid: the routes deliver to edgeml:scoringOutputName = "amlOutput": set that key instead/,
        );
    });
});
