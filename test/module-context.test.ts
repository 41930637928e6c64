import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { hashBuildContext } from "../components/image/buildContext";
import { localModelFiles, moduleContextFiles, ModuleSources, StagedFiles, writeStagedContext } from "../components/image/moduleContext";
import { FAKE_RUNTIME, FAKE_RUNTIME_STAGED, makeContext, makeRuntime, writeFile } from "./support/temp-context";

/** Every file under dir, ignoring any .dockerignore (Node 20's recursive readdir skips entries, so walk by hand). */
function allFiles(dir: string, relative = ""): string[] {
    return fs
        .readdirSync(path.join(dir, relative), { withFileTypes: true })
        .flatMap((e) => (e.isDirectory() ? allFiles(dir, `${relative}${e.name}/`) : [`${relative}${e.name}`]))
        .sort();
}

const PICKLE = Buffer.from([0x80, 0x05, 0x95, 0xff, 0x00, 0xfe, 0x2e]);

describe("staging a module's build context (runtime, user folder, requirements, model)", () => {
    let runtimeDir: string;
    let appDir: string;
    let scratch: string;
    let destination: string;
    let sources: ModuleSources;
    const stage = (s: ModuleSources = sources, model: StagedFiles = s.modelPath ? localModelFiles(s.modelPath) : new Map()) =>
        writeStagedContext(destination, moduleContextFiles(s, model), [s.runtimeDir, s.appDir]);

    beforeEach(() => {
        runtimeDir = makeRuntime();
        appDir = makeContext({
            "score.py": "def init(): ...\ndef run(data): ...\n",
            "helpers/features.py": "FEATURES = []\n",
            ".dockerignore": "notes/\n*.log\n!keep.log\n",
            "notes/todo.md": "ignored by .dockerignore\n",
            "debug.log": "ignored by .dockerignore\n",
            "keep.log": "re-included by .dockerignore\n",
            "__pycache__/score.cpython-311.pyc": "cache",
            "helpers/__pycache__/features.cpython-311.pyc": "cache",
            "helpers/__pycache__/CACHEDIR.TAG": "not a .pyc, left out all the same",
            "helpers/stale.pyc": "cache",
            ".mypy_cache/3.11/score.meta.json": "{}",
            ".venv/bin/python": "venv",
            ".git/HEAD": "ref: refs/heads/main\n",
            ".pytest_cache/v/cache/lastfailed": "{}",
            "model/model.pkl": PICKLE,
        });
        scratch = fs.mkdtempSync(path.join(os.tmpdir(), "edgeml-module-"));
        destination = path.join(scratch, "context");
        sources = {
            runtimeDir,
            appDir,
            modelPath: path.join(appDir, "model", "model.pkl"),
            requirements: ["numpy==1.26.4", "scikit-learn==1.5.0"],
        };
    });
    afterEach(() => {
        for (const dir of [runtimeDir, appDir, scratch]) fs.rmSync(dir, { recursive: true, force: true });
    });

    it("lays out Dockerfile, runtime/, app/, requirements.txt and model/ as the Dockerfile copies them", () => {
        const result = stage();
        const expected = [
            ...FAKE_RUNTIME_STAGED,
            "app/.dockerignore",
            "app/helpers/features.py",
            "app/keep.log",
            "app/score.py",
            "model/model.pkl",
            "requirements.txt",
        ].sort();
        assert.deepStrictEqual(result.files, expected);
        assert.deepStrictEqual(allFiles(destination), expected);
        assert.strictEqual(result.sha256, hashBuildContext(destination));
        assert.strictEqual(fs.readFileSync(path.join(destination, "Dockerfile"), "utf8"), FAKE_RUNTIME["image/Dockerfile"]);
        for (const file of FAKE_RUNTIME_STAGED.filter((f) => f !== "Dockerfile"))
            assert.strictEqual(fs.readFileSync(path.join(destination, file), "utf8"), FAKE_RUNTIME[file.slice("runtime/".length)], file);
        assert.ok(fs.readFileSync(path.join(destination, "app/score.py")).equals(fs.readFileSync(path.join(appDir, "score.py"))));
        assert.ok(fs.readFileSync(path.join(destination, "model/model.pkl")).equals(PICKLE));
    });

    it("honours the user's .dockerignore and leaves caches, environments and the model (once, under model/) out of app/", () => {
        const { files } = stage();
        const app = files.filter((f) => f.startsWith("app/"));
        assert.deepStrictEqual(app, ["app/.dockerignore", "app/helpers/features.py", "app/keep.log", "app/score.py"]);
        // The model inside the user's folder is staged once, under model/, not duplicated under app/.
        assert.deepStrictEqual(
            files.filter((f) => f.endsWith("model.pkl")),
            ["model/model.pkl"],
        );

        // A model outside the user's folder leaves the folder's own model/ (any file) in app/.
        const outside = path.join(scratch, "elsewhere.onnx");
        fs.writeFileSync(outside, "onnx");
        const again = stage({ ...sources, modelPath: outside });
        assert.ok(again.files.includes("app/model/model.pkl"));
        assert.ok(again.files.includes("model/elsewhere.onnx"));
        assert.ok(!again.files.includes("model/model.pkl"));
    });

    it("stages a model folder recursively under model/<folder name>/, inside the user's folder or not", () => {
        const mlflow = {
            MLmodel: "flavors: {}\n",
            "conda.yaml": "dependencies: []\n",
            "model.pkl": PICKLE,
            "data/nested/weights.bin": Buffer.from([0, 1, 2, 255]),
            "input example.json": "[]",
            "__pycache__/x.pyc": "cache",
        };
        for (const [file, content] of Object.entries(mlflow)) writeFile(appDir, `mlflow-model/${file}`, content);
        // Every file of a model folder, caches too: a model is data, registered and hashed (describeModelPath) whole.
        const expected = [
            "model/mlflow-model/MLmodel",
            "model/mlflow-model/__pycache__/x.pyc",
            "model/mlflow-model/conda.yaml",
            "model/mlflow-model/data/nested/weights.bin",
            "model/mlflow-model/input example.json",
            "model/mlflow-model/model.pkl",
        ];
        assert.deepStrictEqual([...localModelFiles(path.join(appDir, "mlflow-model")).keys()], expected);

        const inside = stage({ ...sources, modelPath: path.join(appDir, "mlflow-model") });
        assert.deepStrictEqual(
            inside.files.filter((f) => f.startsWith("model/")),
            expected,
        );
        assert.ok(!inside.files.some((f) => f.startsWith("app/mlflow-model")), "the model folder is not duplicated under app/");
        assert.ok(
            fs.readFileSync(path.join(destination, "model/mlflow-model/data/nested/weights.bin")).equals(Buffer.from([0, 1, 2, 255])),
        );

        // The same folder elsewhere stages the same model/ files.
        const outside = path.join(scratch, "mlflow-model");
        fs.cpSync(path.join(appDir, "mlflow-model"), outside, { recursive: true });
        fs.rmSync(path.join(appDir, "mlflow-model"), { recursive: true });
        const elsewhere = stage({ ...sources, modelPath: outside });
        assert.deepStrictEqual(
            elsewhere.files.filter((f) => f.startsWith("model/")),
            expected,
        );
        assert.strictEqual(elsewhere.sha256, inside.sha256, "where the model folder lies does not change the context");
    });

    it("writes the converted pip lines as requirements.txt, one a line", () => {
        stage();
        assert.strictEqual(fs.readFileSync(path.join(destination, "requirements.txt"), "utf8"), "numpy==1.26.4\nscikit-learn==1.5.0\n");
        stage({ ...sources, requirements: [] });
        assert.strictEqual(fs.readFileSync(path.join(destination, "requirements.txt"), "utf8"), "");
    });

    it("keeps the executable bit, and only it, of the user's and the runtime's files", () => {
        writeFile(appDir, "start.sh", "#!/bin/sh\nexec python score.py\n");
        fs.chmodSync(path.join(appDir, "start.sh"), 0o700);
        fs.chmodSync(path.join(appDir, "score.py"), 0o600);
        fs.chmodSync(path.join(runtimeDir, "image", "omit_requirements.py"), 0o775);
        stage();
        const mode = (file: string) => fs.statSync(path.join(destination, file)).mode & 0o777;
        assert.strictEqual(mode("app/start.sh"), 0o755);
        assert.strictEqual(mode("runtime/image/omit_requirements.py"), 0o755);
        assert.strictEqual(mode("app/score.py"), 0o644);
        assert.strictEqual(mode("requirements.txt"), 0o644);
        assert.strictEqual(mode("model/model.pkl"), 0o644);
    });

    it("changes the hash when a runtime file, an app file, a model byte or a requirement line changes, and only then", () => {
        const base = stage().sha256;
        const changes: Array<[string, () => void, () => void]> = [
            [
                "a runtime file",
                () => writeFile(runtimeDir, "edgeml_server/server.py", "def main(): pass\n"),
                () => writeFile(runtimeDir, "edgeml_server/server.py", FAKE_RUNTIME["edgeml_server/server.py"]),
            ],
            [
                "the Dockerfile",
                () => writeFile(runtimeDir, "image/Dockerfile", "FROM python:3.12-slim\n"),
                () => writeFile(runtimeDir, "image/Dockerfile", FAKE_RUNTIME["image/Dockerfile"]),
            ],
            [
                "an app file",
                () => writeFile(appDir, "helpers/features.py", "FEATURES = ['t']\n"),
                () => writeFile(appDir, "helpers/features.py", "FEATURES = []\n"),
            ],
            ["a new app file", () => writeFile(appDir, "helpers/extra.py", ""), () => fs.rmSync(path.join(appDir, "helpers/extra.py"))],
            [
                "a model byte",
                () => writeFile(appDir, "model/model.pkl", Buffer.from([...PICKLE.subarray(0, -1), 0x2f])),
                () => writeFile(appDir, "model/model.pkl", PICKLE),
            ],
        ];
        for (const [what, change, undo] of changes) {
            change();
            assert.notStrictEqual(stage().sha256, base, `${what} changed but the hash did not`);
            undo();
            assert.strictEqual(stage().sha256, base, `${what} restored but the hash did not come back`);
        }
        assert.notStrictEqual(stage({ ...sources, requirements: ["numpy==1.26.4", "scikit-learn==1.5.1"] }).sha256, base);
        assert.notStrictEqual(stage({ ...sources, requirements: ["numpy==1.26.4"] }).sha256, base);
        assert.strictEqual(stage().sha256, base);

        // What the image never sees leaves the hash alone.
        writeFile(appDir, "__pycache__/helpers.cpython-311.pyc", "new cache");
        writeFile(appDir, "helpers/__pycache__/features.cpython-311.pyc", "changed cache");
        writeFile(appDir, "notes/new.md", "ignored by .dockerignore");
        writeFile(appDir, "trace.log", "ignored by .dockerignore");
        writeFile(appDir, ".venv/lib/site.py", "venv");
        writeFile(runtimeDir, "tests/test_new.py", "runtime tests are not staged");
        writeFile(runtimeDir, "api/__pycache__/y.cpython-311.pyc", "cache");
        writeFile(runtimeDir, "image/notes.md", "not copied by the image");
        assert.strictEqual(stage().sha256, base);
    });

    it("removes stale files and is idempotent, leaving unchanged files untouched", () => {
        writeFile(destination, "old.py", "stale");
        writeFile(destination, "app/score.py/oops", "a folder where a file belongs");
        writeFile(destination, "model/.model.pkl.123abc.tmp", "half-written");
        const first = stage();
        assert.deepStrictEqual(allFiles(destination), first.files);
        const mtimes = new Map(first.files.map((f) => [f, fs.statSync(path.join(destination, f)).mtimeMs]));
        const second = stage();
        assert.deepStrictEqual(second, first);
        for (const file of second.files) assert.strictEqual(fs.statSync(path.join(destination, file)).mtimeMs, mtimes.get(file), file);

        // A file dropped from the user's folder disappears from the staging too.
        fs.rmSync(path.join(appDir, "helpers", "features.py"));
        const third = stage();
        assert.ok(!third.files.includes("app/helpers/features.py"));
        assert.deepStrictEqual(allFiles(destination), third.files);
    });

    it("refuses a destination that overlaps a source, deleting nothing", () => {
        // The user's folder inside a scratch folder, so that its parent is a throwaway folder too.
        const parent = path.join(scratch, "project");
        const app = path.join(parent, "app");
        fs.cpSync(appDir, app, { recursive: true });
        const nested = { ...sources, appDir: app, modelPath: path.join(app, "model", "model.pkl") };
        const before = [allFiles(runtimeDir), allFiles(parent)];
        for (const overlapping of [path.join(app, "staged"), app, parent, runtimeDir, path.join(runtimeDir, "image")]) {
            assert.throws(
                () => writeStagedContext(overlapping, moduleContextFiles(nested, localModelFiles(nested.modelPath)), [runtimeDir, app]),
                /staging folder .* overlaps .*, which it is staged from/,
                overlapping,
            );
        }
        assert.deepStrictEqual([allFiles(runtimeDir), allFiles(parent)], before);
        assert.ok(!fs.existsSync(path.join(app, "staged")));
    });
});
