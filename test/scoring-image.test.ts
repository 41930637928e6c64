import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { listFiles } from "../components/image/buildContext";
import { ScoringImage, imageTag } from "../components/image/scoringImage";
import { outputValue, runOffline } from "../offline/engine";
import { resourceOfType } from "./support/plan-queries";
import { makeContext, writeFile } from "./support/temp-context";

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
        assert.ok(listFiles(path.resolve(__dirname, "..", "scoring")).includes("model/model.json"));
    });
});

describe("ScoringImage", () => {
    it("builds from the context with the registry's login server and secret credentials, pinned by digest", async () => {
        const context = makeContext(BASE_FILES);
        let image!: ScoringImage;
        const { plan } = await runOffline({
            stack: "dev",
            program: () => {
                image = new ScoringImage("scoring", {
                    context: path.basename(context),
                    projectDir: path.dirname(context),
                    loginServer: "testacr.azurecr.io",
                    registryUsername: "testacr",
                    registryPassword: pulumi.secret("not-a-real-password"),
                    repository: "edgeml/scoring",
                    platform: "linux/arm64",
                    baseImage: "python:3.11-slim",
                    modelName: "temperature-anomaly",
                    modelVersion: "3",
                    modelSha256: "a".repeat(64),
                });
                return { imageRef: image.imageRef };
            },
        });
        fs.rmSync(context, { recursive: true, force: true });
        const built = resourceOfType(plan, "docker:index/image:Image");
        assert.strictEqual(built.inputs.imageName, `testacr.azurecr.io/edgeml/scoring:${await outputValue(image.tag)}`);
        assert.deepStrictEqual(built.inputs.registry, { server: "testacr.azurecr.io", username: "testacr", password: "[secret]" });
        const build = built.inputs.build as Record<string, any>;
        assert.strictEqual(build.platform, "linux/arm64");
        assert.deepStrictEqual(build.args, {
            BASE_IMAGE: "python:3.11-slim",
            MODEL_NAME: "temperature-anomaly",
            MODEL_VERSION: "3",
            MODEL_SHA256: "a".repeat(64),
        });
        assert.strictEqual(built.parent, resourceOfType(plan, "edgeml:image:ScoringImage").urn);
        assert.match(String(plan.outputs.imageRef), /^testacr\.azurecr\.io\/edgeml\/scoring@sha256:[0-9a-f]{64}$/);
        assert.ok(!JSON.stringify(plan).includes("not-a-real-password"));
    });
});
