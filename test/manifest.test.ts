import * as assert from "assert";
import * as fs from "fs";
import {
    assertValidManifest,
    buildManifest,
    CREATE_OPTIONS_MAX_CHUNKS,
    createOptionsKey,
    DeploymentManifest,
    formatProblem,
    imageReferenceProblem,
    joinCreateOptions,
    ManifestInput,
    ModuleStatus,
    redactManifest,
    RestartPolicy,
    splitCreateOptions,
    TWIN_DESIRED_MAX_BYTES,
    TWIN_VALUE_MAX_BYTES,
    twinSize,
    validateManifest,
} from "../components/iot/manifest";
import { CreateOptionsError, ManifestError } from "../components/shared";
import { officialSchemaErrors, SCHEMAS } from "./support/manifest-schemas";
import { requireReference } from "./support/references";

const PASSWORD = 'pa55+word/with="quote"';
const DIGEST = "sha256:3b0f9c8e4d2a1f6e7c5b9a8d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b";
const SCORING_IMAGE = `edgemldevacr.azurecr.io/edgeml/scoring@${DIGEST}`;

function input(overrides: Partial<ManifestInput> = {}, scoring: Partial<ManifestInput["scoring"]> = {}): ManifestInput {
    return {
        edgeRuntimeVersion: "1.5",
        registry: { name: "edgemldevacr", loginServer: "edgemldevacr.azurecr.io", username: "edgeml-dev-pull", password: PASSWORD },
        scoring: {
            name: "scoring",
            image: SCORING_IMAGE,
            status: "running",
            restartPolicy: "always",
            startupOrder: 1,
            inputName: "amlInput",
            outputName: "amlOutput",
            env: { MODEL_NAME: "temperature-anomaly", THRESHOLD: 0.5, VERBOSE: false },
            createOptions: { HostConfig: { Memory: 268435456 } },
            ...scoring,
        },
        sensor: { name: "SimulatedTemperatureSensor", version: "1.5", startupOrder: 2, env: { MessageCount: 500, SendInterval: 5 } },
        storeAndForwardTimeToLiveSecs: 7200,
        ...overrides,
    };
}

function problems(subject: ManifestInput | DeploymentManifest): string[] {
    return validateManifest(subject).map(formatProblem);
}

/** A built manifest changed by `edit`, for rules the builder's typed input cannot break. */
function edited(edit: (manifest: DeploymentManifest) => void): DeploymentManifest {
    const manifest = structuredClone(buildManifest(input()));
    edit(manifest);
    return manifest;
}

function agentOf(manifest: DeploymentManifest) {
    return manifest.modulesContent.$edgeAgent["properties.desired"];
}

function hubOf(manifest: DeploymentManifest) {
    return manifest.modulesContent.$edgeHub["properties.desired"];
}

function assertProblem(found: string[], ...fragments: string[]): void {
    assert.ok(
        found.some((problem) => fragments.every((fragment) => problem.includes(fragment))),
        `expected a problem containing ${JSON.stringify(fragments)}, got:\n${found.join("\n")}`,
    );
}

function buildError(manifestInput: ManifestInput): ManifestError {
    try {
        buildManifest(manifestInput);
    } catch (error) {
        if (error instanceof ManifestError) return error;
        throw error;
    }
    assert.fail("expected buildManifest to throw a ManifestError");
}

/** A manifest of manifests/ in the reference data, parsed; the test is skipped without it or the schemas. */
function readReference(context: Mocha.Context, file: string): unknown {
    return JSON.parse(fs.readFileSync(requireReference(context, `manifests/${file}`, SCHEMAS), "utf8"));
}

/** Create options whose JSON puts `marker` `offset` bytes into the text, to aim a character at a chunk boundary. */
function createOptionsWithTextAt(offset: number, marker: string): Record<string, unknown> {
    const prefix = '{"Labels":{"note":"';
    return { Labels: { note: "x".repeat(offset - prefix.length) + marker + "tail" } };
}

function byteLength(text: string): number {
    return Buffer.byteLength(text, "utf8");
}

describe("deployment manifest: build", () => {
    it("wires edgeAgent 1.1 to the registry, the runtime images, the scoring module and the sensor", () => {
        const agent = agentOf(buildManifest(input()));
        assert.strictEqual(agent.schemaVersion, "1.1");
        assert.deepStrictEqual(agent.runtime, {
            type: "docker",
            settings: {
                minDockerVersion: "v1.25",
                registryCredentials: {
                    edgemldevacr: { username: "edgeml-dev-pull", password: PASSWORD, address: "edgemldevacr.azurecr.io" },
                },
            },
        });
        assert.strictEqual(agent.systemModules.edgeAgent.settings.image, "mcr.microsoft.com/azureiotedge-agent:1.5");
        assert.strictEqual(agent.systemModules.edgeHub.settings.image, "mcr.microsoft.com/azureiotedge-hub:1.5");
        const hubPorts = JSON.parse(joinCreateOptions(agent.systemModules.edgeHub.settings)).HostConfig.PortBindings;
        assert.deepStrictEqual(Object.keys(hubPorts), ["443/tcp", "5671/tcp", "8883/tcp"]);
        assert.deepStrictEqual(agent.modules.scoring, {
            version: "1.0",
            type: "docker",
            status: "running",
            restartPolicy: "always",
            startupOrder: 1,
            env: { MODEL_NAME: { value: "temperature-anomaly" }, THRESHOLD: { value: 0.5 }, VERBOSE: { value: false } },
            settings: { image: SCORING_IMAGE, createOptions: '{"HostConfig":{"Memory":268435456}}' },
        });
        assert.strictEqual(
            agent.modules.SimulatedTemperatureSensor.settings.image,
            "mcr.microsoft.com/azureiotedge-simulated-temperature-sensor:1.5",
        );
        assert.deepStrictEqual(agent.modules.SimulatedTemperatureSensor.env, { MessageCount: { value: 500 }, SendInterval: { value: 5 } });
    });

    it("routes the sensor into the scoring module's input and its output upstream, with edgeHub 1.2", () => {
        const hub = hubOf(buildManifest(input({}, { inputName: "telemetry", outputName: "predictions" })));
        assert.deepStrictEqual(hub, {
            schemaVersion: "1.2",
            routes: {
                sensorToScoring:
                    'FROM /messages/modules/SimulatedTemperatureSensor/outputs/temperatureOutput INTO BrokeredEndpoint("/modules/scoring/inputs/telemetry")',
                scoringToUpstream: "FROM /messages/modules/scoring/outputs/predictions INTO $upstream",
            },
            storeAndForwardConfiguration: { timeToLiveSecs: 7200 },
        });
    });

    it("leaves out the sensor module and its route when the sensor is off", () => {
        const manifest = buildManifest(input({ sensor: undefined }));
        assert.deepStrictEqual(Object.keys(agentOf(manifest).modules), ["scoring"]);
        assert.deepStrictEqual(Object.keys(hubOf(manifest).routes), ["scoringToUpstream"]);
    });

    it("adds extra routes after the generated ones, as strings or with priority and time to live", () => {
        const routes = hubOf(
            buildManifest(
                input({
                    extraRoutes: {
                        zAlerts: { timeToLiveSecs: 60, route: "FROM /messages/modules/scoring/outputs/alerts INTO $upstream", priority: 0 },
                        allToCloud: "FROM /messages/* INTO $upstream",
                    },
                }),
            ),
        ).routes;
        assert.deepStrictEqual(Object.keys(routes), ["sensorToScoring", "scoringToUpstream", "allToCloud", "zAlerts"]);
        assert.strictEqual(
            JSON.stringify(routes.zAlerts),
            '{"route":"FROM /messages/modules/scoring/outputs/alerts INTO $upstream","priority":0,"timeToLiveSecs":60}',
        );
    });

    it("puts desired properties in the scoring module's twin only when given", () => {
        const withProperties = buildManifest(input({}, { desiredProperties: { threshold: 0.8, labels: { machine: "press-1" } } }));
        assert.deepStrictEqual(withProperties.modulesContent.scoring, {
            "properties.desired": { labels: { machine: "press-1" }, threshold: 0.8 },
        });
        assert.strictEqual(buildManifest(input()).modulesContent.scoring, undefined);
    });

    it("gives the same JSON for the same input, whatever order maps were written in", () => {
        const first = input({}, { env: { A: "1", B: "2" }, desiredProperties: { x: 1, y: { b: 2, a: 1 } } });
        const reordered = input({}, { env: { B: "2", A: "1" }, desiredProperties: { y: { a: 1, b: 2 }, x: 1 } });
        const json = JSON.stringify(buildManifest(first));
        assert.strictEqual(JSON.stringify(buildManifest(first)), json);
        assert.strictEqual(JSON.stringify(buildManifest(reordered)), json);
        assert.notStrictEqual(JSON.stringify(buildManifest(input({}, { env: { A: "1", B: "3" } }))), json);
    });

    it("refuses inputs it cannot express: clashing names and create options beyond 100 chunks", () => {
        const clash = buildError(
            input({
                sensor: { name: "scoring", version: "1.5" },
                extraRoutes: { scoringToUpstream: "FROM /* INTO $upstream" },
            }),
        );
        const found = clash.problems.map(formatProblem);
        assertProblem(found, 'module "scoring"', "different names");
        assertProblem(found, 'route "scoringToUpstream"', "generated route");

        const huge = buildError(
            input({}, { createOptions: { Labels: { blob: "x".repeat(TWIN_VALUE_MAX_BYTES * CREATE_OPTIONS_MAX_CHUNKS) } } }),
        );
        assertProblem(huge.problems.map(formatProblem), 'module "scoring" settings.createOptions', "at most 100");
    });
});

describe("deployment manifest: official schemas", () => {
    const longCreateOptions = {
        Env: Array.from({ length: 60 }, (_, i) => `SETTING_${i}=value-${i}`),
        HostConfig: { Binds: ["/var/edgeml/models:/models:ro"], PortBindings: { "5001/tcp": [{ HostPort: "5001" }] } },
    };
    const variants: Record<string, ManifestInput> = {
        "sensor on": input(),
        "sensor off, leaf devices in": input({ sensor: undefined, telemetry: [{ kind: "leafDevices" }] }),
        "another module's output in": input({ sensor: undefined, telemetry: [{ kind: "module", module: "opcPublisher", output: "*" }] }),
        "extra routes": input({
            extraRoutes: {
                lowPriority: { route: "FROM /messages/modules/scoring/outputs/debug INTO $upstream", priority: 9, timeToLiveSecs: 30 },
                filtered:
                    'FROM /messages/modules/scoring/outputs/* WHERE anomaly = true INTO BrokeredEndpoint("/modules/scoring/inputs/feedback")',
            },
        }),
        "env and desired properties": input(
            {},
            { env: { LOG_LEVEL: "debug", BATCH: 16, STRICT: true }, desiredProperties: { threshold: 0.7 } },
        ),
        "long createOptions": input({}, { createOptions: longCreateOptions }),
        "multi-byte characters at a chunk boundary": input({}, { createOptions: createOptionsWithTextAt(TWIN_VALUE_MAX_BYTES - 1, "€😀") }),
        "createOptions as a string": input({}, { createOptions: '{"HostConfig":{"Privileged":false}}' }),
    };

    for (const [variant, manifestInput] of Object.entries(variants)) {
        it(`${variant}: valid against deployment 2.0, edgeAgent 1.1 and edgeHub 1.2, and passes our own checks`, function () {
            requireReference(this, SCHEMAS);
            const manifest = buildManifest(manifestInput);
            assert.deepStrictEqual(officialSchemaErrors(manifest), []);
            assert.deepStrictEqual(problems(manifestInput), []);
        });
    }

    it("the long createOptions really is split, into keys the schema accepts", () => {
        const settings = agentOf(buildManifest(variants["long createOptions"])).modules.scoring.settings;
        assert.ok(Object.keys(settings).length > 3, JSON.stringify(Object.keys(settings)));
        assert.deepStrictEqual(JSON.parse(joinCreateOptions(settings)), longCreateOptions);
    });

    it("the schema check itself rejects what it should: a number where createOptions must be a string", function () {
        requireReference(this, SCHEMAS);
        const manifest = edited((m) => Object.assign(agentOf(m).modules.scoring.settings, { createOptions: 42 as unknown as string }));
        assert.ok(officialSchemaErrors(manifest).some((error) => error.includes("/modules/scoring/settings/createOptions")));
    });
});

describe("deployment manifest: reference manifests written by others (scripts/references.json)", () => {
    it("accepts the CLI's edgeAgent 1.1 / edgeHub 1.2 test manifest, in the schemas and in our checks", function () {
        const manifest = readReference(this, "azure-iot-cli-extension__test_edge_deployment_ea_v11_eh_v12.json");
        assert.deepStrictEqual(officialSchemaErrors(manifest), []);
        assert.deepStrictEqual(problems(manifest as DeploymentManifest), []);
    });

    it("accepts iotedge's ExampleDeployment against deployment 2.0 and the schemaVersion 1.0 schemas", function () {
        const manifest = readReference(this, "iotedge__ExampleDeployment.json");
        assert.deepStrictEqual(officialSchemaErrors(manifest), []);
        assert.deepStrictEqual(problems(manifest as DeploymentManifest), []);
    });

    it("rejects the CLI's malformed manifest: no runtime and a bad restartPolicy", function () {
        const file = readReference(this, "azure-iot-cli-extension__test_edge_deployment_malformed.json") as { content: DeploymentManifest };
        assert.notDeepStrictEqual(officialSchemaErrors(file), []);
        // Its modulesContent sits under `content` (the az CLI's configuration form); unwrapped, the named faults remain.
        const errors = officialSchemaErrors(file.content);
        assert.ok(
            errors.some((error) => error.includes("required property 'runtime'")),
            errors.join("\n"),
        );
        assert.ok(
            errors.some((error) => error.includes("/modules/mongo-server/restartPolicy")),
            errors.join("\n"),
        );
        const found = problems(file.content);
        assertProblem(found, 'twin "$edgeAgent" runtime');
        assertProblem(found, 'module "mongo-server" restartPolicy', "on-failured");
    });

    it("rejects the AI toolkit tutorial's manifest for env inside system module settings", function () {
        const manifest = readReference(this, "ai-toolkit-iot-edge__anomaly-detection__deployment.json") as DeploymentManifest;
        const errors = officialSchemaErrors(manifest);
        assert.strictEqual(errors.length, 2, errors.join("\n"));
        assert.ok(
            errors.every((error) => /systemModules\/edge(Agent|Hub)\/settings must NOT have additional properties \("env"\)/.test(error)),
            errors.join("\n"),
        );
        assertProblem(problems(manifest), 'module "edgeAgent" settings.env', "not a module setting");
    });
});

describe("deployment manifest: createOptions chunks", () => {
    it("names chunks as edgeAgent does: createOptions, createOptions01 .. createOptions99", () => {
        assert.deepStrictEqual([0, 1, 9, 10, 99].map(createOptionsKey), [
            "createOptions",
            "createOptions01",
            "createOptions09",
            "createOptions10",
            "createOptions99",
        ]);
    });

    it("round-trips an object through split and join, each chunk at most 512 bytes", () => {
        const options = { Env: Array.from({ length: 100 }, (_, i) => `K${i}=${"v".repeat(i)}`), HostConfig: { Privileged: false } };
        const settings = splitCreateOptions(options);
        const keys = Object.keys(settings);
        assert.deepStrictEqual(
            keys,
            keys.map((_, i) => createOptionsKey(i)),
        );
        assert.ok(keys.length > 1);
        for (const chunk of Object.values(settings)) assert.ok(byteLength(chunk) <= TWIN_VALUE_MAX_BYTES, `${byteLength(chunk)} bytes`);
        assert.ok(
            Object.values(settings)
                .slice(0, -1)
                .every((chunk) => byteLength(chunk) === TWIN_VALUE_MAX_BYTES),
            "full chunks for ASCII",
        );
        assert.deepStrictEqual(JSON.parse(joinCreateOptions(settings)), options);
    });

    it("keeps a string exactly as written", () => {
        const text = '{ "HostConfig": { "Privileged": false } }';
        assert.deepStrictEqual(splitCreateOptions(text), { createOptions: text });
    });

    // Offsets where the character would cross byte 512; 509 also puts the boundary between the surrogate halves
    // of the emoji if they were counted as separate characters.
    for (const [name, character, offset] of [
        ["a 3-byte character", "€", TWIN_VALUE_MAX_BYTES - 2],
        ["a 4-byte character (a surrogate pair in JavaScript)", "😀", TWIN_VALUE_MAX_BYTES - 3],
    ] as const) {
        it(`never splits ${name} that straddles the 512-byte boundary`, () => {
            const settings = splitCreateOptions(createOptionsWithTextAt(offset, character));
            assert.strictEqual(byteLength(settings.createOptions), offset);
            assert.ok(settings.createOptions01.startsWith(character));
            for (const chunk of Object.values(settings)) {
                assert.ok(byteLength(chunk) <= TWIN_VALUE_MAX_BYTES);
                assert.strictEqual(Buffer.from(chunk, "utf8").toString("utf8"), chunk, "each chunk is valid UTF-8 on its own");
            }
        });
    }

    it("counts bytes, not characters", () => {
        const settings = splitCreateOptions("é".repeat(TWIN_VALUE_MAX_BYTES));
        assert.strictEqual(Object.keys(settings).length, 2);
        assert.strictEqual(settings.createOptions.length, TWIN_VALUE_MAX_BYTES / 2);
    });

    it("accepts exactly 100 chunks and rejects one byte more", () => {
        const limit = TWIN_VALUE_MAX_BYTES * CREATE_OPTIONS_MAX_CHUNKS;
        const settings = splitCreateOptions("x".repeat(limit));
        assert.strictEqual(Object.keys(settings).length, 100);
        assert.strictEqual(Object.keys(settings).at(-1), "createOptions99");
        assert.throws(() => splitCreateOptions("x".repeat(limit + 1)), CreateOptionsError);
    });

    it("joins in edgeAgent's order, whatever the key order, and ignores case as edgeAgent does", () => {
        assert.strictEqual(joinCreateOptions({ createOptions02: "c", image: "i", createOptions: "a", createOptions01: "b" }), "abc");
        assert.strictEqual(joinCreateOptions({ createoptions: "a", CREATEOPTIONS01: "b" }), "ab");
        assert.strictEqual(joinCreateOptions({ image: "i" }), "");
    });

    it("rejects chunk sequences edgeAgent would refuse: gaps and one-digit numbers", () => {
        assert.throws(() => joinCreateOptions({ createOptions: "a", createOptions02: "c" }), /chunk 1 is "createOptions02"/);
        assert.throws(() => joinCreateOptions({ createOptions: "a", createOptions1: "b" }), /expects "createOptions01"/);
    });
});

describe("deployment manifest: validation", () => {
    it("accepts the manifest built from a good input", () => {
        assert.deepStrictEqual(problems(input()), []);
        assert.doesNotThrow(() => assertValidManifest(buildManifest(input())));
    });

    for (const [name, rule] of [
        ["my scoring", "no whitespace"],
        ["$scoring", "no '$'"],
        ["edgeHub", "runtime's own modules"],
        ["EDGEAGENT", "runtime's own modules"],
        ["m".repeat(129), "at most 128"],
    ]) {
        it(`rejects the module name ${JSON.stringify(name.length > 20 ? `${name.slice(0, 5)}… (${name.length})` : name)}`, () => {
            assertProblem(problems(input({ sensor: undefined }, { name })), `module "${name}"`, rule);
        });
    }

    it("rejects routes with bad syntax, naming the route", () => {
        const found = problems(
            input({
                extraRoutes: {
                    noPath: "FROM messages INTO $upstream",
                    noInto: "FROM /* TO $upstream",
                    badSink: "FROM /* INTO $downstream",
                    badEndpoint: 'FROM /* INTO BrokeredEndpoint("/modules/scoring/amlInput")',
                    semicolon: "FROM /* INTO $upstream;",
                },
            }),
        );
        assertProblem(found, 'route "noPath"', 'source "messages"');
        assertProblem(found, 'route "noInto"', "FROM <source> [WHERE <condition>] INTO <sink>");
        assertProblem(found, 'route "badSink"', 'sink "$downstream"');
        assertProblem(found, 'route "badEndpoint"', "/modules/<module>/inputs/<input>");
        assertProblem(found, 'route "semicolon"', 'sink "$upstream;"');
        assert.strictEqual(found.length, 5, found.join("\n"));
    });

    it("accepts the grammar's variants: any keyword case, WHERE conditions, SELECT *, brokeredendpoint", () => {
        const routes = {
            lower: 'from /messages/modules/scoring/outputs/* where $body.anomaly = 1 AND machine.temperature > 100 into brokeredendpoint("/modules/scoring/inputs/loop")',
            select: "SELECT * FROM /messages/* INTO $Upstream",
            twin: "FROM /twinChangeNotifications INTO $upstream",
        };
        assert.deepStrictEqual(problems(input({ extraRoutes: routes })), []);
    });

    it("rejects a route into a module the manifest does not deploy", () => {
        assertProblem(
            problems(input({ extraRoutes: { toGhost: 'FROM /* INTO BrokeredEndpoint("/modules/ghost/inputs/in")' } })),
            'route "toGhost"',
            'sink module "ghost"',
        );
        // Turning the sensor off removes its route, not just its module.
        const leaf = input({ sensor: undefined, telemetry: [{ kind: "leafDevices" }] });
        assert.deepStrictEqual(problems(leaf), []);
        assert.deepStrictEqual(Object.keys(buildManifest(leaf).modulesContent.$edgeHub["properties.desired"].routes).sort(), [
            "leafDevicesToScoring",
            "scoringToUpstream",
        ]);
    });

    it("rejects a manifest whose scoring module would receive nothing", () => {
        assertProblem(problems(input({ sensor: undefined })), 'route "scoring/inputs/amlInput" telemetry', "would score nothing");
        assertProblem(
            problems(input({ sensor: undefined, telemetry: [] })),
            'route "scoring/inputs/amlInput" telemetry',
            "would score nothing",
        );
        // An extra route into the input is telemetry too.
        const extra = { fromPlc: 'FROM /messages/modules/plc/outputs/out INTO BrokeredEndpoint("/modules/scoring/inputs/amlInput")' };
        assert.deepStrictEqual(problems(input({ sensor: undefined, telemetry: [], extraRoutes: extra })), []);
    });

    it("never routes the scoring module's own output back into its input", () => {
        assertProblem(
            problems(input({ telemetry: [{ kind: "module", module: "scoring", output: "*" }] })),
            'route "scoringToScoring" telemetry',
            "own output back",
        );
        for (const source of [
            "/messages/*",
            "/messages/modules/*",
            "/messages/modules/scoring/*",
            "/messages/modules/scoring/outputs/amlOutput",
            "/*",
        ]) {
            const loop = { loop: `FROM ${source} INTO BrokeredEndpoint("/modules/scoring/inputs/amlInput")` };
            assertProblem(problems(input({ extraRoutes: loop })), 'route "loop"', "own output");
        }
        // A condition may keep the module's messages out (as the leaf-devices route's does); another output is fine.
        const guarded = {
            guarded: 'FROM /messages/* WHERE NOT IS_DEFINED($connectionModuleId) INTO BrokeredEndpoint("/modules/scoring/inputs/amlInput")',
        };
        const other = { other: 'FROM /messages/modules/scoring/outputs/debug INTO BrokeredEndpoint("/modules/scoring/inputs/amlInput")' };
        assert.deepStrictEqual(problems(input({ extraRoutes: { ...guarded, ...other } })), []);
    });

    it("rejects route names IoT Hub cannot store, and out-of-range priority and time to live", () => {
        const found = problems(
            input({
                extraRoutes: {
                    "to.cloud": "FROM /* INTO $upstream",
                    ranged: { route: "FROM /* INTO $upstream", priority: 10, timeToLiveSecs: -1 },
                },
            }),
        );
        assertProblem(found, 'route "to.cloud"', "may not contain '.'");
        assertProblem(found, 'route "ranged" priority', "0 to 9");
        assertProblem(found, 'route "ranged" timeToLiveSecs');
    });

    it("rejects image references outside Docker's grammar, and a scoring image not pinned by digest", () => {
        assertProblem(
            problems(input({}, { image: "EdgeML.azurecr.io/Edgeml/Scoring:1" })),
            'module "scoring" settings.image',
            "not a Docker image reference",
        );
        assertProblem(
            problems(input({}, { image: "edgemldevacr.azurecr.io/edgeml/scoring:latest" })),
            'module "scoring" settings.image',
            "pinned by digest",
        );
        assertProblem(problems(input({ sensor: { name: "sensor", version: "1.5 beta" } })), 'module "sensor" settings.image');
    });

    it("follows the Docker reference grammar", () => {
        for (const good of [
            "python:3.11-slim",
            "mcr.microsoft.com/azureiotedge-agent:1.5",
            "localhost:5000/team/model_server__v2-x:tag.1",
            `myacr.azurecr.io/edgeml/scoring:1.0@${DIGEST}`,
            "[::1]:5000/scoring",
        ]) {
            assert.strictEqual(imageReferenceProblem(good), undefined, good);
        }
        for (const bad of [
            "Scoring:1",
            "a//b",
            "repo:tag:more",
            ":tag",
            "repo@sha256:abc",
            `repo@sha256:${"A".repeat(64)}`,
            "repo:-tag",
            "repo_:1",
            "",
        ]) {
            assert.ok(imageReferenceProblem(bad), bad);
        }
    });

    it("rejects env names the schema forbids, naming module and variable", () => {
        const found = problems(input({}, { env: { "BAD NAME": 1, "a.b": 2, "x+y": 3, OK_NAME: 4 } }));
        assertProblem(found, 'module "scoring" env.BAD NAME');
        assertProblem(found, 'module "scoring" env.a.b');
        assertProblem(found, 'module "scoring" env.x+y');
        assert.ok(!found.some((problem) => problem.includes("OK_NAME")));
    });

    it("rejects createOptions chunks over 512 bytes, broken numbering and text that is not a JSON object", () => {
        const tooLong = edited(
            (m) => (agentOf(m).modules.scoring.settings.createOptions = JSON.stringify({ Labels: { a: "x".repeat(600) } })),
        );
        assertProblem(problems(tooLong), 'module "scoring" settings.createOptions', "at most 512");
        const gap = edited((m) => Object.assign(agentOf(m).modules.scoring.settings, { createOptions02: "}" }));
        assertProblem(problems(gap), 'module "scoring" settings.createOptions', 'chunk 1 is "createOptions02"');
        const notJson = edited((m) => (agentOf(m).systemModules.edgeHub.settings.createOptions = "{HostConfig"));
        assertProblem(problems(notJson), 'module "edgeHub" settings.createOptions', "JSON object");
    });

    it("rejects desired properties over IoT Hub's 32 KB per module twin", () => {
        const big = { table: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`row${i}`, "x".repeat(1000)])) };
        assertProblem(problems(input({}, { desiredProperties: big })), 'twin "scoring" properties.desired', `${TWIN_DESIRED_MAX_BYTES}`);
        const fits = { table: Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`row${i}`, "x".repeat(1000)])) };
        assert.deepStrictEqual(problems(input({}, { desiredProperties: fits })), []);
    });

    it("counts twin size as IoT Hub does: UTF-8 keys and strings, 8 per number, 4 per boolean, no control characters", () => {
        assert.strictEqual(
            twinSize({ a: "xy", b: 1, c: true, d: { e: "é" }, f: "tab\there" }),
            1 + 2 + (1 + 8) + (1 + 4) + (1 + 1 + 2) + (1 + 7),
        );
    });

    it("rejects desired property keys IoT Hub forbids", () => {
        assertProblem(
            problems(input({}, { desiredProperties: { limits: { "max.temp": 90 } } })),
            'twin "scoring" properties.desired.limits.max.temp',
        );
    });

    it("rejects restartPolicy and status values outside the enums", () => {
        const manifest = edited((m) => {
            agentOf(m).modules.scoring.restartPolicy = "on-failured" as RestartPolicy;
            agentOf(m).modules.SimulatedTemperatureSensor.status = "paused" as ModuleStatus;
        });
        const found = problems(manifest);
        assertProblem(found, 'module "scoring" restartPolicy', '"on-failured"');
        assertProblem(found, 'module "SimulatedTemperatureSensor" status', '"paused"');
    });

    it("rejects registry credentials IoT Hub or edgeAgent cannot use", () => {
        const found = problems(
            input({ registry: { name: "edgeml.acr", loginServer: "edgemldevacr.azurecr.io ", username: "", password: PASSWORD } }),
        );
        assertProblem(found, 'registry "edgeml.acr"', "may not contain '.'");
        assertProblem(found, 'registry "edgeml.acr" username');
        assertProblem(found, 'registry "edgeml.acr" address', "whitespace");
    });

    it("rejects a negative store-and-forward time to live", () => {
        assertProblem(
            problems(input({ storeAndForwardTimeToLiveSecs: -5 })),
            'twin "$edgeHub" storeAndForwardConfiguration.timeToLiveSecs',
        );
    });

    it("throws a ManifestError listing every problem", () => {
        const bad = input({ extraRoutes: { a: "FROM /* INTO nowhere" } }, { env: { "A B": 1 } });
        assert.throws(
            () => assertValidManifest(bad),
            (error: unknown) =>
                error instanceof ManifestError &&
                error.problems.length === 2 &&
                /route "a"/.test(error.message) &&
                /env\.A B/.test(error.message),
        );
    });
});

describe("deployment manifest: redaction", () => {
    it("replaces the registry password and keeps everything else", () => {
        const manifest = buildManifest(input());
        const redacted = redactManifest(manifest);
        const json = JSON.stringify(redacted);
        assert.ok(!json.includes(PASSWORD) && !json.includes(JSON.stringify(PASSWORD).slice(1, -1)), json);
        assert.deepStrictEqual(agentOf(redacted).runtime.settings.registryCredentials.edgemldevacr, {
            username: "edgeml-dev-pull",
            password: "[secret]",
            address: "edgemldevacr.azurecr.io",
        });
        assert.strictEqual(
            agentOf(manifest).runtime.settings.registryCredentials.edgemldevacr.password,
            PASSWORD,
            "the original is untouched",
        );
        const unredacted = structuredClone(redacted);
        agentOf(unredacted).runtime.settings.registryCredentials.edgemldevacr.password = PASSWORD;
        assert.deepStrictEqual(unredacted, manifest);
    });

    it("finds the password wherever it was copied, even across createOptions chunks, and hides credential-named values", () => {
        // Sorted keys put the filler first; its length starts the password 7 bytes before the chunk boundary.
        const filler = TWIN_VALUE_MAX_BYTES - 7 - '{"Labels":{"a_filler":"'.length - '","z_copy":"'.length;
        const straddling = { Labels: { a_filler: "x".repeat(filler), z_copy: PASSWORD } };
        const manifest = buildManifest(
            input(
                { extraRoutes: { audit: `FROM /* WHERE $body.key = '${PASSWORD.replace(/"/g, "")}' INTO $upstream` } },
                {
                    env: { REGISTRY_LOGIN: PASSWORD, HUB_CONNECTION_STRING: "HostName=h;SharedAccessKey=abc" },
                    createOptions: straddling,
                    desiredProperties: { apiToken: "tok-123", nested: { clientSecret: "shh" }, threshold: 0.5 },
                },
            ),
        );
        const settings = agentOf(manifest).modules.scoring.settings;
        assert.ok(
            !Object.values(settings).some((chunk) => chunk.includes(JSON.stringify(PASSWORD).slice(1, -1))),
            "the password straddles two chunks",
        );

        const redacted = redactManifest(manifest, "***", [PASSWORD.replace(/"/g, "")]);
        const json = JSON.stringify(redacted);
        for (const secret of [
            PASSWORD,
            JSON.stringify(PASSWORD).slice(1, -1),
            PASSWORD.replace(/"/g, ""),
            "SharedAccessKey=abc",
            "tok-123",
            "shh",
        ]) {
            assert.ok(!json.includes(secret), `${secret} is still in ${json}`);
        }
        assert.strictEqual(agentOf(redacted).modules.scoring.env?.REGISTRY_LOGIN.value, "***");
        assert.deepStrictEqual(redacted.modulesContent.scoring, {
            "properties.desired": { apiToken: "***", nested: { clientSecret: "***" }, threshold: 0.5 },
        });
        assert.deepStrictEqual(JSON.parse(joinCreateOptions(agentOf(redacted).modules.scoring.settings)).Labels.z_copy, "***");
    });
});
