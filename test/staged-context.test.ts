import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { hashBuildContext } from "../components/image/buildContext";
import { ModuleSources } from "../components/image/moduleContext";
import { StageOptions, blobUrl, stageBuildContext } from "../components/image/stagedContext";
import { ModelDownloadError } from "../components/shared";
import { Azurite, startAzurite } from "../offline/azurite";
import { AZURITE_ACCOUNT, AZURITE_ACCOUNT_KEY, serviceSas } from "../offline/storage-auth";
import { FaultProxy, startFaultProxy } from "./support/fault-proxy";
import { FAKE_RUNTIME, FAKE_RUNTIME_STAGED, writeFile } from "./support/temp-context";

const CONTAINER = "azureml-blobstore-1";
const HOUR = 3600_000;
const FAST = { baseDelayMs: 1, maxDelayMs: 10, deadlineMs: 300 };

// A registered model is whatever its owner uploaded: bytes no check of edgeml's understands (a pickle here).
const PICKLE = Buffer.from([0x80, 0x05, 0x95, 0x2b, 0x00, 0xff, 0xfe, 0x8c, 0x07, 0x73, 0x6b, 0x6c, 0x65, 0x61, 0x72, 0x6e, 0x2e]);
const FILE_MODEL = "edgeml/models/temperature-anomaly/7/model.pkl";
// A folder registration, as an MLflow run output: several blobs, one nested, names with a space and XML specials.
const FOLDER_MODEL = "azureml/ExperimentRun/dcid.run-1/outputs/mlflow-model";
const FOLDER_BLOBS: Record<string, Buffer> = {
    MLmodel: Buffer.from("flavors:\n  python_function: {loader_module: mlflow.sklearn}\n"),
    "conda.yaml": Buffer.from("dependencies: [python=3.11]\n"),
    "model.pkl": Buffer.concat([PICKLE, Buffer.from([0x00, 0x01])]),
    "data/nested/weights.bin": Buffer.from([0, 1, 2, 3, 254, 255]),
    "input example.json": Buffer.from('{"columns": ["t"]}'),
    "a&b <c>.txt": Buffer.from("a name List Blobs answers XML-escaped"),
};
const FOLDER_STAGED = Object.keys(FOLDER_BLOBS)
    .map((blob) => `model/mlflow-model/${blob}`)
    .sort();
/** What the staging holds besides the model: the fake runtime's staged part and the user's folder (see beforeEach). */
const MODULE_STAGED = [...FAKE_RUNTIME_STAGED, "app/.dockerignore", "app/score.py", "requirements.txt"];
const expectedFiles = (...model: string[]) => [...MODULE_STAGED, ...model].sort();

/** The SAS tokens handed out in a test, each with its signature, none of which may show up anywhere. */
const issued: string[] = [];

function assertNoSecret(text: string): void {
    assert.ok(!/sig=/.test(text), `a SAS signature in: ${text}`);
    for (const sas of issued) {
        const sig = new URLSearchParams(sas).get("sig")!;
        for (const secret of [sas, sig, encodeURIComponent(sig)]) assert.ok(!text.includes(secret), `leaked SAS in: ${text}`);
    }
}

/** Every file under dir, ignoring .dockerignore (Node 20's recursive readdir skips entries, so walk by hand). */
function allFiles(dir: string, relative = ""): string[] {
    return fs
        .readdirSync(path.join(dir, relative), { withFileTypes: true })
        .flatMap((e) => (e.isDirectory() ? allFiles(dir, `${relative}${e.name}/`) : [`${relative}${e.name}`]))
        .sort();
}

describe("staging a module's build context with a registered model, downloaded from Azurite", function () {
    // Azurite's modules load once per process (about a second, more on a busy machine); each test then gets a fresh server.
    this.timeout(30_000);
    let azurite: Azurite;
    /** In front of Azurite, for the tests that count requests or need a 429/503 or a dropped connection. */
    let proxy: FaultProxy;
    /** A scratch folder holding the fake runtime, the user's folder and the staging, so that none is a real one. */
    let root: string;
    let sources: ModuleSources;
    let destination: string;
    /** A container SAS signed with Azurite's account key, read and list by default as listServiceSas hands it out. */
    const sasFor = (options: { permissions?: string; expiry?: Date; start?: Date; protocols?: string } = {}) => {
        const sas = azurite.containerSas(CONTAINER, { permissions: "rl", expiry: new Date(Date.now() + 2 * HOUR), ...options });
        issued.push(sas);
        return sas;
    };
    let sas: string;
    const stage = (modelPath: string, extra: Partial<StageOptions> = {}, sasToken = `?${sas}`, endpoint = azurite.endpoint) =>
        stageBuildContext({
            sources,
            destination,
            model: {
                name: "temperature-anomaly",
                version: "7",
                blobEndpoint: endpoint,
                containerName: CONTAINER,
                path: modelPath,
                sasToken,
            },
            retryPolicy: FAST,
            ...extra,
        });
    const viaProxy = (modelPath: string) => stage(modelPath, {}, `?${sas}`, proxy.endpoint);
    const expectFailure = async (promise: Promise<unknown>, ...patterns: RegExp[]): Promise<ModelDownloadError> => {
        const error = await promise.then(
            () => assert.fail("staging should have failed"),
            (e: unknown) => e,
        );
        assert.ok(error instanceof ModelDownloadError, String(error));
        assert.ok(pulumi.RunError.isInstance(error));
        assert.match(error.message, /temperature-anomaly:7/);
        // The blob's URL, or the folder's listing URL (container?restype=container&comp=list&prefix=...); the 404's
        // message names the path and container instead.
        const url = new RegExp(`^http://127\\.0\\.0\\.1:\\d+/devstoreaccount1/${CONTAINER}[/?]`);
        assert.match(error.url, url);
        if (error.status !== 404) assert.match(error.message, new RegExp(url.source.slice(1)));
        for (const pattern of patterns) assert.match(error.message, pattern);
        assertNoSecret(error.message + JSON.stringify(error));
        return error;
    };
    const read = (file: string) => fs.readFileSync(path.join(destination, file));

    beforeEach(async () => {
        azurite = await startAzurite();
        proxy = await startFaultProxy(azurite.endpoint);
        sas = sasFor();
        // Uploaded with Put Blob (SharedKey), as any client would.
        const blobs: Record<string, Buffer | string> = {
            [FILE_MODEL]: PICKLE,
            ...Object.fromEntries(Object.entries(FOLDER_BLOBS).map(([blob, content]) => [`${FOLDER_MODEL}/${blob}`, content])),
            // Neighbours whose names start like the folder's: not part of it.
            [`${FOLDER_MODEL}-old/MLmodel`]: "an older run",
            [`${FOLDER_MODEL}.txt`]: "a file beside the folder",
        };
        for (const [name, content] of Object.entries(blobs)) await azurite.putBlob(CONTAINER, name, content);
        root = fs.mkdtempSync(path.join(os.tmpdir(), "edgeml-staged-"));
        for (const [file, content] of Object.entries(FAKE_RUNTIME)) writeFile(root, `runtime/${file}`, content);
        for (const [file, content] of Object.entries({
            "score.py": "import joblib\ndef init(): ...\ndef run(data): ...\n",
            ".dockerignore": "tests\n",
            "tests/test_score.py": "left out by .dockerignore",
            "__pycache__/score.cpython-311.pyc": "cache",
        }))
            writeFile(root, `app/${file}`, content);
        sources = {
            runtimeDir: path.join(root, "runtime"),
            appDir: path.join(root, "app"),
            requirements: ["scikit-learn==1.5.0", "joblib==1.4.2"],
        };
        destination = path.join(root, "staged", "context");
    });
    afterEach(async () => {
        await proxy?.stop();
        await azurite?.stop();
        fs.rmSync(root, { recursive: true, force: true });
    });

    it("stages the runtime, the user's folder and a single-file model of any format as model/<name>", async () => {
        const result = await viaProxy(FILE_MODEL);
        assert.deepStrictEqual(result.files, expectedFiles("model/model.pkl"));
        assert.deepStrictEqual(allFiles(destination), result.files);
        assert.ok(read("model/model.pkl").equals(PICKLE));
        assert.strictEqual(read("Dockerfile").toString(), FAKE_RUNTIME["image/Dockerfile"]);
        assert.strictEqual(read("requirements.txt").toString(), "scikit-learn==1.5.0\njoblib==1.4.2\n");
        assert.ok(read("app/score.py").equals(fs.readFileSync(path.join(sources.appDir, "score.py"))));
        assert.deepStrictEqual(proxy.requests, [{ method: "GET", path: `${CONTAINER}/${FILE_MODEL}`, status: 200 }]);
        for (const file of allFiles(destination)) assertNoSecret(read(file).toString("latin1"));
    });

    it("downloads every blob under a folder registration into model/<folder>/, and nothing beside it", async () => {
        const result = await viaProxy(FOLDER_MODEL);
        assert.deepStrictEqual(result.files, expectedFiles(...FOLDER_STAGED));
        assert.deepStrictEqual(allFiles(destination), result.files);
        for (const [blob, content] of Object.entries(FOLDER_BLOBS)) assert.ok(read(`model/mlflow-model/${blob}`).equals(content), blob);
        assert.deepStrictEqual(
            proxy.requests.map((r) => [r.method, r.path, r.status]),
            [
                ["GET", `${CONTAINER}/${FOLDER_MODEL}`, 404],
                ["GET", CONTAINER, 200],
                ...Object.keys(FOLDER_BLOBS)
                    .sort()
                    .map((blob) => ["GET", `${CONTAINER}/${FOLDER_MODEL}/${blob}`, 200]),
            ],
        );
        for (const file of allFiles(destination)) assertNoSecret(read(file).toString("latin1"));
        // A trailing slash names the same folder.
        assert.deepStrictEqual(await stage(`${FOLDER_MODEL}/`), result);
    });

    it("downloads with a service SAS that Azurite validates, with or without the leading ?", async () => {
        await stage(FILE_MODEL, {}, sas);
        assert.ok(read("model/model.pkl").equals(PICKLE));
        await stage(FOLDER_MODEL, {}, sas);
        assert.ok(read("model/mlflow-model/model.pkl").equals(FOLDER_BLOBS["model.pkl"]));
        // A read-only blob SAS (sr=b) for a single-file model works as well as the container SAS: nothing is listed.
        const blobSas = serviceSas({
            accountName: AZURITE_ACCOUNT,
            accountKey: AZURITE_ACCOUNT_KEY,
            containerName: CONTAINER,
            blobName: FILE_MODEL,
            permissions: "r",
            expiry: new Date(Date.now() + HOUR),
            protocols: "https,http",
        });
        issued.push(blobSas);
        assert.match(blobSas, /&sr=b&/);
        await stage(FILE_MODEL, {}, `?${blobSas}`);
        assert.ok(read("model/model.pkl").equals(PICKLE));
        assert.deepStrictEqual(allFiles(destination), expectedFiles("model/model.pkl"));
    });

    it("hashes the staged folder as hashBuildContext does, following the registered model's bytes and blobs", async () => {
        const file = await stage(FILE_MODEL);
        assert.strictEqual(file.sha256, hashBuildContext(destination));
        await azurite.putBlob(CONTAINER, FILE_MODEL, Buffer.concat([PICKLE, Buffer.from([0])]));
        const changed = await stage(FILE_MODEL);
        assert.notStrictEqual(changed.sha256, file.sha256);
        assert.strictEqual(changed.sha256, hashBuildContext(destination));

        const folder = await stage(FOLDER_MODEL);
        assert.strictEqual(folder.sha256, hashBuildContext(destination));
        await azurite.putBlob(CONTAINER, `${FOLDER_MODEL}/data/nested/more.bin`, "x");
        const grown = await stage(FOLDER_MODEL);
        assert.notStrictEqual(grown.sha256, folder.sha256);
        assert.ok(grown.files.includes("model/mlflow-model/data/nested/more.bin"));
        await azurite.deleteBlob(CONTAINER, `${FOLDER_MODEL}/data/nested/more.bin`);
        assert.strictEqual((await stage(FOLDER_MODEL)).sha256, folder.sha256);
    });

    it("is idempotent: a second run gives the same hash and bytes", async () => {
        const first = await stage(FOLDER_MODEL);
        const before = new Map(allFiles(destination).map((f) => [f, read(f)]));
        const second = await stage(FOLDER_MODEL);
        assert.deepStrictEqual(second, first);
        assert.deepStrictEqual(new Map(allFiles(destination).map((f) => [f, read(f)])), before);
    });

    it("removes stale files, leftover temp files and conflicting folders", async () => {
        writeFile(destination, "old.py", "stale");
        writeFile(destination, "model/.model.pkl.123-abcd.tmp", "half-written");
        writeFile(destination, "stale-dir/nested/x.txt", "stale");
        writeFile(destination, "app/score.py/oops", "a folder where a file belongs");
        const folder = await stage(FOLDER_MODEL);
        assert.deepStrictEqual(allFiles(destination), folder.files);
        assert.ok(!fs.existsSync(path.join(destination, "stale-dir")));

        // Another registration replaces the model; a file dropped from the user's folder disappears too.
        fs.rmSync(path.join(sources.appDir, "score.py"));
        const file = await stage(FILE_MODEL);
        assert.deepStrictEqual(
            file.files,
            expectedFiles("model/model.pkl").filter((f) => f !== "app/score.py"),
        );
        assert.deepStrictEqual(allFiles(destination), file.files);
        assert.ok(!fs.existsSync(path.join(destination, "model", "mlflow-model")));
    });

    it("explains a SAS whose signature Azurite refuses (403) without repeating it, and leaves the previous staging alone", async () => {
        await stage(FILE_MODEL);
        const before = hashBuildContext(destination);
        const forged = sas.replace(/sig=[^&]*/, `sig=${encodeURIComponent(Buffer.alloc(32, 7).toString("base64"))}`);
        issued.push(forged);
        const error = await expectFailure(
            stage(FOLDER_MODEL, {}, forged),
            /HTTP 403 AuthorizationFailure/,
            /listServiceSas/,
            /shared key/,
            /expired/,
        );
        assert.strictEqual(error.status, 403);
        assert.strictEqual(hashBuildContext(destination), before);
        for (const file of allFiles(destination)) assertNoSecret(read(file).toString("latin1"));
    });

    it("reports an expired SAS, refused by Azurite (403), with its expiry and without the SAS", async () => {
        const expired = sasFor({ start: new Date(Date.now() - 3 * HOUR), expiry: new Date(Date.now() - HOUR) });
        const se = new URLSearchParams(expired).get("se")!;
        const error = await expectFailure(
            stage(FILE_MODEL, {}, expired),
            /HTTP 403 AuthorizationFailure/,
            new RegExp(`the SAS expired at ${se}`),
            /run again for a fresh one/,
        );
        assert.strictEqual(error.status, 403);
        assert.ok(!fs.existsSync(destination), "nothing staged");
    });

    it("reports a SAS without read permission, refused by Azurite (403), without the SAS", async () => {
        // For a folder too: its path is read (as a blob) before it is listed, and Azurite checks the permission first.
        for (const [modelPath, permissions] of [
            [FILE_MODEL, "w"],
            [FILE_MODEL, "l"],
            [FILE_MODEL, "cwdl"],
            [FOLDER_MODEL, "l"],
        ]) {
            const error = await expectFailure(
                stage(modelPath, {}, sasFor({ permissions })),
                /HTTP 403 AuthorizationPermissionMismatch/,
                new RegExp(`the SAS does not grant read permission \\(sp=${permissions}\\)`),
            );
            assert.strictEqual(error.status, 403);
            assert.ok(error.url.endsWith(`/${modelPath.split("/").map(encodeURIComponent).join("/")}`), error.url);
        }
        assert.ok(!fs.existsSync(destination), "nothing staged");
    });

    it("reports a SAS that cannot list a folder registration (403), and what it needs, without the SAS", async () => {
        const readOnly = sasFor({ permissions: "r" });
        // A single file needs no listing: read alone is enough for it.
        await stage(FILE_MODEL, {}, readOnly);
        fs.rmSync(destination, { recursive: true });

        const error = await expectFailure(
            stage(FOLDER_MODEL, {}, readOnly),
            /downloading \S+\?restype=container&comp=list&prefix=\S+ failed/,
            /HTTP 403 AuthorizationPermissionMismatch/,
            /the SAS does not grant list permission \(sp=r\)/,
            /path is not a blob, so it is downloaded as a folder/,
            /container SAS \(sr=c\) with read and list \(rl\) permissions/,
        );
        assert.strictEqual(error.status, 403);
        assert.ok(!/read permission/.test(error.message), error.message);
        // The URL named is the listing's, its prefix the folder's.
        assert.strictEqual(new URL(error.url).searchParams.get("comp"), "list");
        assert.strictEqual(new URL(error.url).searchParams.get("prefix"), `${FOLDER_MODEL}/`);

        // A blob SAS (sr=b) cannot list at all: Azurite answers AuthorizationFailure.
        const blobSas = serviceSas({
            accountName: AZURITE_ACCOUNT,
            accountKey: AZURITE_ACCOUNT_KEY,
            containerName: CONTAINER,
            blobName: FOLDER_MODEL,
            permissions: "rl",
            expiry: new Date(Date.now() + HOUR),
            protocols: "https,http",
        });
        issued.push(blobSas);
        await expectFailure(
            stage(FOLDER_MODEL, {}, blobSas),
            /HTTP 403 AuthorizationFailure/,
            /the SAS is a blob SAS \(sr=b\), which cannot list/,
            /container SAS \(sr=c\) with read and list \(rl\)/,
        );
        assert.ok(!fs.existsSync(destination), "nothing staged");
    });

    it("reports an https-only SAS used over http, refused by Azurite (403)", async () => {
        await expectFailure(
            stage(FILE_MODEL, {}, sasFor({ protocols: "https" })),
            /HTTP 403 AuthorizationProtocolMismatch/,
            /the SAS allows https only, and http was used/,
        );
    });

    it("reports a path that is neither a blob nor a folder (404), naming it", async () => {
        const error = await expectFailure(
            viaProxy("missing/model"),
            /no blob missing\/model and none under missing\/model\/ in container azureml-blobstore-1 \(HTTP 404\)/,
            /check the version's modelUri/,
        );
        assert.strictEqual(error.status, 404);
        assert.strictEqual(error.url, `${proxy.endpoint}${CONTAINER}/missing/model`);
        assert.deepStrictEqual(
            proxy.requests.map((r) => [r.path, r.status]),
            [
                [`${CONTAINER}/missing/model`, 404],
                [CONTAINER, 200],
            ],
        );
        // A prefix of a folder's name is no folder: "…/mlflow" does not reach "…/mlflow-model/".
        await expectFailure(stage(FOLDER_MODEL.replace(/-model$/, "")), /no blob .*\/mlflow and none under .*\/mlflow\/ /);
        assert.ok(!fs.existsSync(destination), "nothing staged");
    });

    // Azurite cannot be told to fail: these faults come from the proxy in front of it, and the request that gets
    // through is Azurite's to answer.
    it("retries a 429, a 503 and a dropped connection, then succeeds", async () => {
        proxy.failNext(429);
        proxy.failNext(503);
        proxy.dropNext();
        await viaProxy(FILE_MODEL);
        assert.deepStrictEqual(
            proxy.requests.map((r) => r.status),
            [429, 503, 0, 200],
        );
        assert.ok(read("model/model.pkl").equals(PICKLE));

        // A folder's requests are retried as well: the 404 that makes it a folder is only taken once it is Azurite's.
        proxy.requests.length = 0;
        proxy.failNext(503);
        proxy.dropNext();
        await viaProxy(FOLDER_MODEL);
        assert.deepStrictEqual(
            proxy.requests.slice(0, 4).map((r) => [r.path, r.status]),
            [
                [`${CONTAINER}/${FOLDER_MODEL}`, 503],
                [`${CONTAINER}/${FOLDER_MODEL}`, 0],
                [`${CONTAINER}/${FOLDER_MODEL}`, 404],
                [CONTAINER, 200],
            ],
        );
        assert.deepStrictEqual(allFiles(destination), expectedFiles(...FOLDER_STAGED));
    });

    it("gives up on a service that stays busy or unreachable", async () => {
        proxy.failNext(503, 1000);
        await expectFailure(viaProxy(FILE_MODEL), /after \d+ attempts \(HTTP 503 ServerBusy\)/, /try again later/);
        assert.ok(proxy.requests.length > 1);
        await azurite.stop();
        await expectFailure(stage(FOLDER_MODEL), /network error: .*ECONNREFUSED/, /can reach the storage account/);
        assert.ok(!fs.existsSync(destination), "nothing staged");
    });

    it("keeps the SAS out of errors that echo the URL", async () => {
        const fetchImpl = (async (url: string) => {
            throw new TypeError(`Failed to parse URL from ${url}`);
        }) as unknown as typeof fetch;
        await expectFailure(stage(FILE_MODEL, { fetchImpl }), /Failed to parse URL from .*\[redacted\]/);
    });

    it("refuses a destination that overlaps the runtime or the user's folder, deleting nothing", async () => {
        const before = allFiles(root);
        for (const overlapping of [path.join(sources.appDir, "out"), sources.runtimeDir, root]) {
            await assert.rejects(
                stage(FILE_MODEL, { destination: overlapping }),
                (error: Error) =>
                    pulumi.RunError.isInstance(error) && /staging folder .* overlaps .*, which it is staged from/.test(error.message),
            );
        }
        assert.deepStrictEqual(allFiles(root), before);
    });
});

describe("blobUrl", () => {
    it("encodes each path segment and takes the SAS with or without ?", () => {
        const expected = "http://127.0.0.1:10000/devstoreaccount1/c/a%20b/caf%C3%A9/%23x%3F.json?sv=1&sig=a%2B";
        assert.strictEqual(blobUrl("http://127.0.0.1:10000/devstoreaccount1/", "c", "a b/café/#x?.json", "?sv=1&sig=a%2B"), expected);
        assert.strictEqual(blobUrl("http://127.0.0.1:10000/devstoreaccount1", "c", "a b/café/#x?.json", "sv=1&sig=a%2B"), expected);
        assert.strictEqual(
            blobUrl("https://acct.blob.core.windows.net/", "c", "m.json", ""),
            "https://acct.blob.core.windows.net/c/m.json",
        );
    });
});
