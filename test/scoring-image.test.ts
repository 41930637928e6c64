import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { listFiles } from "../components/image/buildContext";
import { ScoringImage, ScoringImageArgs, imageTag } from "../components/image/scoringImage";
import { outputValue, runOffline } from "../offline/engine";
import { resourceOfType } from "./support/plan-queries";
import { makeContext, makeRuntime, writeFile } from "./support/temp-context";

const BASE_FILES = {
    Dockerfile: "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY . /app\n",
    "score.py": "def init():\n    pass\n",
    "myenv.yml": "dependencies:\n  - python=3.11.7\n",
    "model/model.json": '{"format": "test"}',
    ".dockerignore": "tests\n**/__pycache__\n*.pyc\n!keep.pyc\n",
};
const SHAPING = { platform: "linux/amd64", BASE_IMAGE: "python:3.11-slim", MODEL_NAME: "m", MODEL_VERSION: "1" };

describe("the scoring image tag", () => {
    let context: string;
    beforeEach(() => {
        context = makeContext(BASE_FILES);
    });
    afterEach(() => fs.rmSync(context, { recursive: true, force: true }));

    it("is stable for an unchanged context", () => {
        assert.strictEqual(imageTag(context, SHAPING), imageTag(context, SHAPING));
        assert.match(imageTag(context, SHAPING), /^[0-9a-f]{16}$/);
    });

    it("changes when the scoring code changes", () => {
        const before = imageTag(context, SHAPING);
        writeFile(context, "score.py", "def init():\n    return 1\n");
        assert.notStrictEqual(imageTag(context, SHAPING), before);
    });

    it("changes when the model changes", () => {
        const before = imageTag(context, SHAPING);
        writeFile(context, "model/model.json", '{"format": "test", "nodes": [1]}');
        assert.notStrictEqual(imageTag(context, SHAPING), before);
    });

    it("changes when a file is renamed", () => {
        const before = imageTag(context, SHAPING);
        fs.renameSync(path.join(context, "score.py"), path.join(context, "scoring.py"));
        assert.notStrictEqual(imageTag(context, SHAPING), before);
    });

    it("changes with the platform or the model version the image records", () => {
        const before = imageTag(context, SHAPING);
        assert.notStrictEqual(imageTag(context, { ...SHAPING, platform: "linux/arm64" }), before);
        assert.notStrictEqual(imageTag(context, { ...SHAPING, MODEL_VERSION: "2" }), before);
    });

    it("ignores what .dockerignore keeps out of the build", () => {
        const before = imageTag(context, SHAPING);
        writeFile(context, "tests/test_score.py", "def test(): pass\n");
        writeFile(context, "__pycache__/score.cpython-311.pyc", "bytecode");
        writeFile(context, "model/__pycache__/x.pyc", "bytecode");
        assert.strictEqual(imageTag(context, SHAPING), before);
        assert.deepStrictEqual(listFiles(context), [".dockerignore", "Dockerfile", "model/model.json", "myenv.yml", "score.py"]);
    });

    it("honours a ! exception in .dockerignore", () => {
        writeFile(context, "keep.pyc", "kept");
        assert.ok(listFiles(context).includes("keep.pyc"));
    });

    it("follows a file an exception re-includes from an excluded folder, as scoring/'s allow-list does", () => {
        writeFile(context, ".dockerignore", "*\n!score.py\n!model/model.json\n");
        writeFile(context, "model/notes.txt", "excluded");
        assert.deepStrictEqual(listFiles(context), [".dockerignore", "Dockerfile", "model/model.json", "score.py"]);
        const withoutDockerfileChange = imageTag(context, SHAPING);
        writeFile(context, "Dockerfile", "FROM python:3.12-slim\n");
        assert.notStrictEqual(
            imageTag(context, SHAPING),
            withoutDockerfileChange,
            "Docker reads the Dockerfile even when .dockerignore lists it",
        );
        const before = imageTag(context, SHAPING);
        writeFile(context, "model/model.json", '{"format": "test", "nodes": [2]}');
        assert.notStrictEqual(imageTag(context, SHAPING), before);
    });
});

describe("ScoringImage", () => {
    let project: string;
    beforeEach(() => {
        // A project folder as ScoringImage sees one: the runtime at scoring/runtime, a user's folder, a model.
        project = makeContext({ "app/score.py": "def init():\n    pass\n\ndef run(data):\n    return data\n", "models/m.pkl": "pickle" });
        fs.cpSync(makeRuntime(), path.join(project, "scoring", "runtime"), { recursive: true });
    });
    afterEach(() => fs.rmSync(project, { recursive: true, force: true }));

    const imageArgs = (overrides: Partial<ScoringImageArgs> = {}): ScoringImageArgs => ({
        module: {
            dir: "app",
            entryScript: "score.py",
            environment: { requirements: ["joblib==1.6.0"], notes: [] },
            ownDockerfile: false,
        },
        modelPath: "models/m.pkl",
        stagingDir: "out/dev/scoring-context",
        projectDir: project,
        loginServer: "testacr.azurecr.io",
        registryUsername: "testacr",
        registryPassword: pulumi.secret("not-a-real-password"),
        repository: "edgeml/scoring",
        platform: "linux/arm64",
        baseImage: "python:3.11-slim",
        modelName: "temperature-anomaly",
        modelVersion: "3",
        modelSha256: "a".repeat(64),
        ...overrides,
    });

    async function plan(args: ScoringImageArgs) {
        let image!: ScoringImage;
        const { plan } = await runOffline({
            stack: "dev",
            program: () => {
                image = new ScoringImage("scoring", args);
                return { imageRef: image.imageRef };
            },
        });
        return { plan, tag: await outputValue(image.tag) };
    }

    it("builds the staged module with the registry's login server and secret credentials, pinned by digest", async () => {
        const { plan: built, tag } = await plan(imageArgs());
        const image = resourceOfType(built, "docker:index/image:Image");
        assert.strictEqual(image.inputs.imageName, `testacr.azurecr.io/edgeml/scoring:${tag}`);
        assert.deepStrictEqual(image.inputs.registry, { server: "testacr.azurecr.io", username: "testacr", password: "[secret]" });
        const build = image.inputs.build as Record<string, any>;
        assert.strictEqual(build.platform, "linux/arm64");
        assert.strictEqual(build.context, "out/dev/scoring-context", "relative, so the inputs are the same on every checkout");
        assert.deepStrictEqual(build.args, {
            BASE_IMAGE: "python:3.11-slim",
            MODEL_NAME: "temperature-anomaly",
            MODEL_VERSION: "3",
            MODEL_SHA256: "a".repeat(64),
            ENTRY_SCRIPT: "score.py",
        });
        assert.strictEqual(image.parent, resourceOfType(built, "edgeml:image:ScoringImage").urn);
        assert.match(String(built.outputs.imageRef), /^testacr\.azurecr\.io\/edgeml\/scoring@sha256:[0-9a-f]{64}$/);
        assert.ok(!JSON.stringify(built).includes("not-a-real-password"));
        const staged = path.join(project, "out", "dev", "scoring-context");
        assert.deepStrictEqual(
            ["Dockerfile", "app/score.py", "model/m.pkl", "requirements.txt"].map((f) => fs.existsSync(path.join(staged, f))),
            [true, true, true, true],
        );
        assert.strictEqual(fs.readFileSync(path.join(staged, "requirements.txt"), "utf8"), "joblib==1.6.0\n");
    });

    it("tags by runtime, user code, model and requirements: a change to any retags, nothing else does", async () => {
        const { tag } = await plan(imageArgs());
        assert.strictEqual((await plan(imageArgs())).tag, tag, "stable");
        const changes: Array<[string, () => void | ScoringImageArgs]> = [
            ["the runtime", () => writeFile(project, "scoring/runtime/edgeml_server/http.py", "# changed\n")],
            ["the user's code", () => writeFile(project, "app/helper.py", "X = 1\n")],
            ["the model", () => writeFile(project, "models/m.pkl", "other pickle")],
        ];
        let previous = tag;
        for (const [what, change] of changes) {
            change();
            const next = (await plan(imageArgs())).tag;
            assert.notStrictEqual(next, previous, `a change to ${what} retags`);
            previous = next;
        }
        const requirements = imageArgs();
        requirements.module.environment.requirements = ["joblib==1.5.0"];
        assert.notStrictEqual((await plan(requirements)).tag, previous, "a change to the requirements retags");
        writeFile(project, "app/__pycache__/score.cpython-311.pyc", "bytecode");
        assert.strictEqual((await plan(imageArgs())).tag, previous, "a cache does not");
    });

    it("builds a folder with its own Dockerfile as it is, iotedgedev-style", async () => {
        writeFile(project, "app/Dockerfile", "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY . /app\n");
        const args = imageArgs();
        args.module.ownDockerfile = true;
        const build = resourceOfType((await plan(args)).plan, "docker:index/image:Image").inputs.build as Record<string, any>;
        assert.strictEqual(build.context, "app");
        assert.strictEqual(build.dockerfile, "app/Dockerfile");
    });
});
