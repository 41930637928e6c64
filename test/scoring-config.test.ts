import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loadConfig } from "../components/config/loader";
import { ConfigError } from "../components/shared";
import { REPO_ROOT } from "../offline";
import { created, devConfigWith } from "./support/config-fixtures";
import { makeContext } from "./support/temp-context";

const SCORE = "import json\n\ndef init():\n    pass\n\ndef run(raw_data):\n    return json.loads(raw_data)\n";
const MODEL = JSON.stringify({ framework: "scikit-learn", frameworkVersion: "1.5.0" });

/** A user's scoring folder in a temp folder: score.py and model.json unless `files` says otherwise (null: none). */
function userFolder(files: Record<string, string | Buffer | null> = {}): string {
    const all: Record<string, string | Buffer | null> = { "score.py": SCORE, "model/model.json": MODEL, ...files };
    const kept: Record<string, string | Buffer> = {};
    for (const [name, content] of Object.entries(all)) if (content !== null) kept[name] = content;
    return makeContext(kept);
}

/** The dev stack's configuration with its scoring module (and model) in `dir`. */
function configFor(dir: string, overrides: Record<string, unknown> = {}) {
    return loadConfig(devConfigWith({ scoringDir: dir, modelPath: path.join(dir, "model/model.json"), ...overrides }));
}

function problemsFor(dir: string, overrides: Record<string, unknown> = {}): string[] {
    try {
        configFor(dir, overrides);
    } catch (error) {
        if (error instanceof ConfigError) return error.problems;
        throw error;
    }
    assert.fail(`expected ${dir} with ${JSON.stringify(overrides)} to be rejected`);
}

/** The one problem that starts with `key`, failing when there is none. */
function problemOf(problems: string[], key: string): string {
    const found = problems.filter((p) => p.startsWith(key));
    assert.strictEqual(found.length, 1, `expected one problem naming ${key}: ${problems.join("\n")}`);
    return found[0];
}

/** Shown as the loader shows paths: relative to the project folder. */
const shown = (file: string) => path.relative(REPO_ROOT, file).split(path.sep).join("/");

describe("scoring module configuration", () => {
    const folders: string[] = [];
    const folder = (files: Record<string, string | Buffer | null> = {}) => {
        const dir = userFolder(files);
        folders.push(dir);
        return dir;
    };
    after(() => folders.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

    it("reads the dev stack's example module: folder, entry script, conda file, base image and notes", () => {
        const config = loadConfig(devConfigWith({}));
        assert.deepStrictEqual(
            { ...config.scoring, environment: { ...config.scoring.environment, notes: [] } },
            {
                dir: "scoring/examples/temperature-anomaly",
                entryScript: "score.py",
                condaFile: "scoring/examples/temperature-anomaly/myenv.yml",
                environment: { pythonEntry: "python=3.11", pythonVersion: "3.11", requirements: [], notes: [] },
                ownDockerfile: false,
            },
        );
        assert.strictEqual(config.image.baseImage, "python:3.11-slim");
        assert.ok(config.notes.some((n) => n.includes('"python=3.11" is no pip requirement: it chooses the base image python:3.11-slim')));
        assert.deepStrictEqual(config.warnings, []);
    });

    describe("entry script", () => {
        it("accepts a module whose entry script defines init and run", () => {
            const dir = folder();
            const config = configFor(dir);
            assert.deepStrictEqual([config.scoring.dir, config.scoring.entryScript], [shown(dir), "score.py"]);
        });

        it("finds it relative to the scoring folder, in a subfolder too", () => {
            const dir = folder({ "score.py": null, "src/entry.py": SCORE });
            assert.strictEqual(configFor(dir, { entryScript: "src/entry.py" }).scoring.entryScript, "src/entry.py");
        });

        it("refuses a missing entry script, naming key, value and where it looked", () => {
            const dir = folder({ "score.py": null });
            assert.strictEqual(
                problemOf(problemsFor(dir), "edgeml:entryScript"),
                `edgeml:entryScript = "score.py" is invalid: must name an existing file in edgeml:scoringDir (looked for ${path.join(dir, "score.py")})`,
            );
        });

        it("refuses an entry script outside the scoring folder or not a .py file", () => {
            const dir = folder({ "score.txt": SCORE });
            assert.match(
                problemOf(problemsFor(dir, { entryScript: "../score.py" }), "edgeml:entryScript"),
                /must name the entry script, a path inside edgeml:scoringDir/,
            );
            assert.match(
                problemOf(problemsFor(dir, { entryScript: "/etc/score.py" }), "edgeml:entryScript"),
                /a path inside edgeml:scoringDir/,
            );
            assert.match(
                problemOf(problemsFor(dir, { entryScript: "score.txt" }), "edgeml:entryScript"),
                /must be a Python file \(name\.py\)/,
            );
        });

        it("refuses an entry script without run, naming the file", () => {
            const dir = folder({ "score.py": "def init():\n    pass\n" });
            assert.strictEqual(
                problemOf(problemsFor(dir), "edgeml:entryScript"),
                `edgeml:entryScript: ${shown(path.join(dir, "score.py"))}: defines no top-level run(): Azure ML's entry script contract is ` +
                    "init() (loads the model, once) and run(raw_data) (scores one request), each a def, async def, assignment or import at the top level of the file",
            );
        });

        it("reports a syntax error with the file and line", () => {
            const dir = folder({ "score.py": "def init():\n    pass\n\ndef run(raw_data)\n    return raw_data\n" });
            const problem = problemOf(problemsFor(dir), "edgeml:entryScript");
            assert.ok(problem.startsWith(`edgeml:entryScript: ${shown(path.join(dir, "score.py"))}: line 4, column `), problem);
            assert.match(problem, /\("def run\(raw_data\)"\) \(parsed as the image's Python 3\.11\)$/);
        });

        it("parses with the Python of the image: syntax the conda file's older Python lacks is an error", () => {
            const source = "def init(): pass\ndef run(d):\n    match d:\n        case _:\n            return d\n";
            assert.doesNotThrow(() => configFor(folder({ "score.py": source })));
            const dir = folder({ "score.py": source, "myenv.yml": "dependencies:\n  - python=3.9\n" });
            assert.match(problemOf(problemsFor(dir), "edgeml:entryScript"), /only supported in Python 3\.10 and greater.*Python 3\.9\)$/);
        });

        it("warns, and loads, when python3 is not on PATH", () => {
            const dir = folder({ "score.py": "this is not Python (\n" });
            const emptyPath = fs.mkdtempSync(path.join(os.tmpdir(), "edgeml-no-python-"));
            folders.push(emptyPath);
            const saved = process.env.PATH;
            process.env.PATH = emptyPath;
            let config;
            try {
                config = configFor(dir);
            } finally {
                process.env.PATH = saved;
            }
            assert.deepStrictEqual(config.warnings, [
                `edgeml:entryScript: ${shown(path.join(dir, "score.py"))}: not checked: python3 is not on PATH, so its syntax, init() and run() were not looked at`,
            ]);
            // With python3 back, the same file is checked (a missing interpreter is not remembered).
            assert.match(problemOf(problemsFor(dir), "edgeml:entryScript"), /line 1/);
        });
    });

    describe("scoring folder", () => {
        it("refuses a folder that does not exist, or none at all", () => {
            const missing = path.join(os.tmpdir(), "edgeml-no-such-folder");
            assert.match(
                problemOf(problemsFor(missing, { modelPath: path.join(folder(), "model/model.json") }), "edgeml:scoringDir"),
                /must name an existing folder/,
            );
            const problems = problemsFor("", { modelPath: path.join(folder(), "model/model.json") });
            assert.match(
                problemOf(problems, "edgeml:scoringDir"),
                /edgeml:scoringDir = "" is invalid: must name the scoring module's folder/,
            );
        });

        it("uses a Dockerfile in it as it is, converting no conda file (iotedgedev-style)", () => {
            const dir = folder({ Dockerfile: "FROM python:3.12-slim\n", "myenv.yml": "dependencies:\n  - libunknown\n" });
            const config = configFor(dir);
            assert.strictEqual(config.scoring.ownDockerfile, true);
            assert.strictEqual(config.scoring.condaFile, undefined);
            assert.deepStrictEqual(config.scoring.environment.requirements, []);
            // Its FROM decides; nothing is passed as BASE_IMAGE.
            assert.strictEqual(config.image.baseImage, "");
            assert.ok(
                config.notes.some((n) => n.endsWith("Dockerfile: the scoring image is built from it as it is; no conda file is converted")),
            );
        });

        it("refuses conda settings beside its own Dockerfile, and a base image it would not use", () => {
            const dir = folder({ Dockerfile: "FROM python:3.12-slim\n", "myenv.yml": "dependencies: [numpy]\n" });
            const problems = problemsFor(dir, {
                condaFile: "myenv.yml",
                condaPipNames: ["libfoo=foo"],
                scoringBaseImage: "python:3.10-slim",
            });
            assert.match(
                problemOf(problems, "edgeml:condaFile"),
                /applies to the environment edgeml builds, but edgeml:scoringDir = .* holds its own Dockerfile/,
            );
            assert.match(problemOf(problems, "edgeml:condaPipNames"), /holds its own Dockerfile/);
            assert.match(
                problemOf(problems, "edgeml:scoringBaseImage"),
                /is passed as the build argument BASE_IMAGE, which .*Dockerfile does not declare/,
            );
            const withArgument = folder({ Dockerfile: "ARG BASE_IMAGE=python:3.12-slim\nFROM ${BASE_IMAGE}\n" });
            assert.strictEqual(configFor(withArgument, { scoringBaseImage: "python:3.10-slim" }).image.baseImage, "python:3.10-slim");
        });
    });

    describe("conda file and base image", () => {
        it("converts myenv.yml in the scoring folder, and takes the base image's Python from it", () => {
            const dir = folder({ "myenv.yml": "dependencies:\n  - python=3.10.4\n  - numpy=1.26\n  - pip:\n      - joblib==1.4.2\n" });
            const config = configFor(dir);
            assert.strictEqual(config.scoring.condaFile, shown(path.join(dir, "myenv.yml")));
            assert.deepStrictEqual(config.scoring.environment.requirements, ["numpy==1.26.*", "joblib==1.4.2"]);
            assert.strictEqual(config.image.baseImage, "python:3.10-slim");
        });

        it("has the runtime's packages only without a conda file, on python:3.11-slim, and says so", () => {
            const config = configFor(folder());
            assert.deepStrictEqual([config.scoring.condaFile, config.scoring.environment.requirements], [undefined, []]);
            assert.strictEqual(config.image.baseImage, "python:3.11-slim");
            assert.ok(
                config.notes.some((n) => /^no myenv\.yml in .*: the scoring image has the runtime's packages only$/.test(n)),
                config.notes.join("\n"),
            );
        });

        it("reads condaFile relative to the scoring folder, or absolute, and refuses one that is missing", () => {
            const dir = folder({ "envs/conda.yaml": "dependencies: [pandas]\n" });
            assert.deepStrictEqual(configFor(dir, { condaFile: "envs/conda.yaml" }).scoring.environment.requirements, ["pandas"]);
            assert.deepStrictEqual(configFor(dir, { condaFile: path.join(dir, "envs/conda.yaml") }).scoring.environment.requirements, [
                "pandas",
            ]);
            assert.match(
                problemOf(problemsFor(dir, { condaFile: "myenv.yml" }), "edgeml:condaFile"),
                /^edgeml:condaFile = "myenv.yml" is invalid: must name an existing file in edgeml:scoringDir \(looked for .*myenv\.yml\)$/,
            );
        });

        it("refuses an unparsable conda file, naming the file and line", () => {
            const dir = folder({ "myenv.yml": "name: x\ndependencies:\n  - numpy\n - scipy\n" });
            assert.match(
                problemOf(problemsFor(dir), "edgeml:condaFile"),
                new RegExp(`^edgeml:condaFile: ${shown(path.join(dir, "myenv.yml")).replace(/[.]/g, "\\.")}: line 4: not valid YAML: `),
            );
        });

        it("refuses a conda package with no pip name, until condaPipNames maps it", () => {
            const dir = folder({ "myenv.yml": "dependencies:\n  - numpy\n  - libfoo=1.2\n" });
            const problem = problemOf(problemsFor(dir), "edgeml:condaFile");
            assert.ok(
                problem.startsWith(
                    `edgeml:condaFile: ${shown(path.join(dir, "myenv.yml"))}: conda package "libfoo" (entry "libfoo=1.2") has no known pip name`,
                ),
                problem,
            );
            assert.match(problem, /move it under "- pip:" .* map it with edgeml:condaPipNames \("libfoo=<pip name>"/);
            const mapped = configFor(dir, { condaPipNames: ["libfoo=foo-python"] });
            assert.deepStrictEqual(mapped.scoring.environment.requirements, ["numpy", "foo-python==1.2.*"]);
            assert.deepStrictEqual(configFor(dir, { condaPipNames: ["libfoo="] }).scoring.environment.requirements, ["numpy"]);
        });

        it("refuses condaPipNames entries that are not conda=pip, or map a package twice", () => {
            const dir = folder();
            assert.match(
                problemOf(problemsFor(dir, { condaPipNames: ["libfoo"] }), "edgeml:condaPipNames[0]"),
                /must look like <conda name>=<pip name>/,
            );
            assert.match(problemOf(problemsFor(dir, { condaPipNames: ["a=b c"] }), "edgeml:condaPipNames[0]"), /must look like/);
            assert.match(
                problemOf(problemsFor(dir, { condaPipNames: ["lib_foo=a", "lib-foo=b"] }), "edgeml:condaPipNames[1]"),
                /maps "lib-foo" a second time/,
            );
        });

        it("notes every entry the conversion drops, prefixed with the file", () => {
            const dir = folder({ "myenv.yml": "dependencies:\n  - python=3.11\n  - pip\n  - mkl\n  - pip:\n      - azureml-defaults\n" });
            const config = configFor(dir);
            const file = shown(path.join(dir, "myenv.yml"));
            assert.deepStrictEqual(config.scoring.environment.requirements, []);
            for (const entry of ['"pip"', '"mkl"', `pip's "azureml-defaults"`]) {
                assert.ok(
                    config.notes.some((note) => note.startsWith(`${file}: dropped ${entry}: `)),
                    `${entry}: ${config.notes.join("\n")}`,
                );
            }
        });

        it("lets scoringBaseImage win over the conda file's Python, noting a difference", () => {
            const dir = folder({ "myenv.yml": "dependencies:\n  - python=3.10\n" });
            const config = configFor(dir, { scoringBaseImage: "python:3.12-slim" });
            assert.strictEqual(config.image.baseImage, "python:3.12-slim");
            assert.ok(
                config.notes.some((n) =>
                    n.endsWith(
                        '"python=3.10" asks for Python 3.10, but edgeml:scoringBaseImage python:3.12-slim runs Python 3.12 (by its tag), which wins',
                    ),
                ),
            );
            const mirror = configFor(dir, { scoringBaseImage: "contoso.azurecr.io/base/scoring:7" });
            assert.ok(
                mirror.notes.some((n) => n.endsWith("cannot be told from its name, and it wins")),
                mirror.notes.join("\n"),
            );
            assert.match(problemOf(problemsFor(dir, { scoringBaseImage: "python 3.11" }), "edgeml:scoringBaseImage"), /is invalid/);
        });
    });

    describe("model", () => {
        it("takes a file in any format, with its sha256", () => {
            const dir = folder({ "model/model.onnx": Buffer.from([0x08, 0x07, 0x12, 0x00]) });
            const model = created(configFor(dir, { modelPath: path.join(dir, "model/model.onnx") }).model);
            assert.deepStrictEqual([model.kind, model.type, model.file.framework], ["file", "custom_model", "unknown"]);
            assert.strictEqual(
                model.sha256,
                execFileSync(
                    "python3",
                    [
                        "-c",
                        "import hashlib,sys;print(hashlib.sha256(open(sys.argv[1],'rb').read()).hexdigest())",
                        path.join(dir, "model/model.onnx"),
                    ],
                    { encoding: "utf8" },
                ).trim(),
            );
        });

        it("refuses a model path that does not exist", () => {
            const dir = folder();
            assert.match(
                problemOf(problemsFor(dir, { modelPath: path.join(dir, "model/nope.pkl") }), "edgeml:modelPath"),
                /^edgeml:modelPath = ".*nope\.pkl" is invalid: must name an existing file or folder \(looked for .*nope\.pkl\)$/,
            );
        });

        it("refuses an empty folder", () => {
            const dir = folder();
            fs.mkdirSync(path.join(dir, "empty/sub"), { recursive: true });
            assert.match(
                problemOf(problemsFor(dir, { modelPath: path.join(dir, "empty") }), "edgeml:modelPath"),
                /is an empty folder \(.*\): it must hold the model's files$/,
            );
        });

        it("hashes a folder as documented: sorted relative paths, sizes and bytes, as Python computes it", () => {
            const dir = folder({
                "model/weights.bin": Buffer.from([0, 1, 2, 0, 255]),
                "model/config.json": "{}",
                "model/sub/é.txt": "accent",
                // UTF-16 order and code point order disagree on these two: the scheme says code points (Python's order).
                "model/\uff5e.txt": "fullwidth tilde",
                "model/\u{1F600}.txt": "emoji",
                "model/.hidden": "counts too",
            });
            const model = created(configFor(dir, { modelPath: path.join(dir, "model") }).model);
            const documented = [
                "import hashlib, os, sys",
                "folder = sys.argv[1]",
                "files = [os.path.relpath(os.path.join(r, f), folder).replace(os.sep, '/') for r, _, fs in os.walk(folder) for f in fs]",
                "h = hashlib.sha256()",
                "for rel in sorted(files):",
                "    data = open(os.path.join(folder, rel), 'rb').read()",
                "    h.update(rel.encode() + b'\\0' + str(len(data)).encode() + b'\\0' + data)",
                "print(h.hexdigest())",
            ].join("\n");
            const expected = execFileSync("python3", ["-c", documented, path.join(dir, "model")], { encoding: "utf8" }).trim();
            assert.deepStrictEqual([model.kind, model.sha256, model.file.sha256], ["folder", expected, expected]);

            // A renamed file is a new model; so is a changed byte.
            fs.renameSync(path.join(dir, "model/config.json"), path.join(dir, "model/config2.json"));
            const renamed = created(configFor(dir, { modelPath: path.join(dir, "model") }).model).sha256;
            assert.notStrictEqual(renamed, expected);
            fs.writeFileSync(path.join(dir, "model/config2.json"), "{ }");
            assert.notStrictEqual(created(configFor(dir, { modelPath: path.join(dir, "model") }).model).sha256, renamed);
        });

        it("registers a folder with MLmodel as an MLflow model when modelType is left at its default, saying so", () => {
            const dir = folder({
                "mlflow/MLmodel": "flavors:\n  python_function: {}\n  sklearn:\n    sklearn_version: 1.5.0\n",
                "mlflow/model.pkl": "x",
            });
            const config = configFor(dir, { modelPath: path.join(dir, "mlflow") });
            const model = created(config.model);
            assert.deepStrictEqual([model.type, model.file.framework, model.file.frameworkVersion], ["mlflow_model", "sklearn", "1.5.0"]);
            assert.ok(
                config.notes.some((n) => n.includes("holds an MLmodel file: registered as an MLflow model (modelType mlflow_model)")),
            );
        });

        it("refuses mlflow_model for a model that is no MLflow folder, and an unknown type", () => {
            const dir = folder({ "plain/model.pkl": "x" });
            assert.match(
                problemOf(problemsFor(dir, { modelType: "mlflow_model" }), "edgeml:modelType"),
                /^edgeml:modelType = "mlflow_model" is invalid: needs edgeml:modelPath to be an MLflow model folder \(MLmodel at its top\), but ".*model\.json" is a file$/,
            );
            assert.match(
                problemOf(problemsFor(dir, { modelType: "mlflow_model", modelPath: path.join(dir, "plain") }), "edgeml:modelType"),
                /is a folder without an MLmodel file at its top$/,
            );
            assert.match(
                problemOf(problemsFor(dir, { modelType: "triton_model" }), "edgeml:modelType"),
                /must be one of custom_model, mlflow_model/,
            );
        });

        it("names both keys when modelType or modelPath is set beside existingModel", () => {
            const problems = problemsFor(folder(), {
                existingModel: "anomaly:3",
                existingWorkspace: "ml-rg/ml-ws",
                modelType: "mlflow_model",
            });
            for (const key of ["edgeml:modelType", "edgeml:modelPath"]) {
                const line = problemOf(problems, key);
                assert.match(
                    line,
                    /applies only to a resource this stack creates, but edgeml:existingModel = "anomaly:3" names an existing one/,
                );
            }
        });
    });

    it("reports every problem of the module at once", () => {
        const dir = folder({ "score.py": "def init(): pass\n", "myenv.yml": "dependencies:\n  - libfoo\n" });
        fs.mkdirSync(path.join(dir, "empty"));
        const problems = problemsFor(dir, { modelPath: path.join(dir, "empty"), condaPipNames: ["bad"] });
        for (const key of ["edgeml:entryScript", "edgeml:condaFile", "edgeml:modelPath", "edgeml:condaPipNames[0]"])
            problemOf(problems, key);
    });
});
