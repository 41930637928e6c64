import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { hashBuildContext, listFiles } from "../components/image/buildContext";
import { StageOptions, blobUrl, modelShapeProblem, stageBuildContext } from "../components/image/stagedContext";
import { ModelDownloadError } from "../components/shared";
import { BlobEmulator, startBlobEmulator } from "../offline/blob-emulator";
import { makeContext, writeFile } from "./support/temp-context";

const SCORING = path.resolve(__dirname, "..", "scoring");
const SIG = "s3cr3t+Sig/Value=";
const SAS = `sv=2022-11-02&sr=c&sp=r&se=2030-01-01T00%3A00%3A00Z&spr=https&sig=${encodeURIComponent(SIG)}`;
const LOCAL_MODEL = fs.readFileSync(path.join(SCORING, "model", "model.json"));
// A valid tree with different bytes from the local one, as another registration would hold.
const REGISTERED = Buffer.from(LOCAL_MODEL.toString("utf8").replace(/"trainingRows": \d+/, '"trainingRows": 4242'));
const FAST = { baseDelayMs: 1, maxDelayMs: 10, deadlineMs: 300 };

function assertNoSecret(text: string): void {
    for (const secret of [SAS, SIG, encodeURIComponent(SIG)]) assert.ok(!text.includes(secret), `leaked SAS in: ${text}`);
}

/** Every file under dir, ignoring .dockerignore (Node 20's recursive readdir skips entries, so walk by hand). */
function allFiles(dir: string, relative = ""): string[] {
    return fs
        .readdirSync(path.join(dir, relative), { withFileTypes: true })
        .flatMap((e) => (e.isDirectory() ? allFiles(dir, `${relative}${e.name}/`) : [`${relative}${e.name}`]))
        .sort();
}

describe("staging the scoring context with a registered model", function () {
    let storage: BlobEmulator;
    let destination: string;
    const stage = (modelPath: string, extra: Partial<StageOptions> = {}, sasToken = `?${SAS}`) =>
        stageBuildContext({
            context: SCORING,
            destination,
            modelFile: "model/model.json",
            model: { name: "temperature-anomaly", version: "7", blobEndpoint: storage.endpoint, containerName: "azureml-blobstore-1", path: modelPath, sasToken },
            retryPolicy: FAST,
            ...extra,
        });
    const expectFailure = async (promise: Promise<unknown>, ...patterns: RegExp[]): Promise<ModelDownloadError> => {
        const error = await promise.then(() => assert.fail("staging should have failed"), (e: unknown) => e);
        assert.ok(error instanceof ModelDownloadError, String(error));
        assert.ok(pulumi.RunError.isInstance(error));
        assert.match(error.message, /temperature-anomaly:7/);
        assert.ok(error.message.includes(storage.endpoint + "azureml-blobstore-1/"), error.message);
        for (const pattern of patterns) assert.match(error.message, pattern);
        assertNoSecret(error.message + JSON.stringify(error));
        return error;
    };

    beforeEach(async () => {
        storage = await startBlobEmulator({
            sasToken: SAS,
            blobs: {
                "azureml-blobstore-1/edgeml/models/temperature-anomaly/abc/model.json": REGISTERED,
                "azureml-blobstore-1/custom/folder model/model.json": REGISTERED,
                "azureml-blobstore-1/custom/v1.json/model.json": REGISTERED,
                "azureml-blobstore-1/other/model.pkl/weights.bin": "binary",
                "azureml-blobstore-1/bad/notjson.json": "\x80PK not json",
                "azureml-blobstore-1/bad/bom.json": Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), REGISTERED]),
                "azureml-blobstore-1/bad/onnx.json": '{"format": "onnx", "graph": {}}',
                "azureml-blobstore-1/bad/features.json": LOCAL_MODEL.toString("utf8").replace('"machine_pressure"', '"vibration"'),
            },
        });
        destination = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "edgeml-staged-")), "scoring-context");
    });
    afterEach(async () => {
        await storage.stop();
        fs.rmSync(path.dirname(destination), { recursive: true, force: true });
    });

    it("copies what Docker receives from scoring/ with the downloaded model in place of the local one", async () => {
        const result = await stage("edgeml/models/temperature-anomaly/abc/model.json");
        assert.deepStrictEqual(listFiles(destination), listFiles(SCORING));
        assert.ok(listFiles(SCORING).includes("model/model.json"));
        assert.deepStrictEqual(listFiles(destination), listFiles(SCORING));
        assert.deepStrictEqual(result.files, listFiles(SCORING));
        assert.ok(fs.readFileSync(path.join(destination, "model/model.json")).equals(REGISTERED));
        for (const file of listFiles(SCORING).filter((f) => f !== "model/model.json")) {
            assert.ok(fs.readFileSync(path.join(destination, file)).equals(fs.readFileSync(path.join(SCORING, file))), file);
        }
        assert.deepStrictEqual(storage.requests, [{ method: "GET", path: "azureml-blobstore-1/edgeml/models/temperature-anomaly/abc/model.json", hadValidSas: true, status: 200 }]);
        for (const file of allFiles(destination)) assertNoSecret(fs.readFileSync(path.join(destination, file), "utf8"));
    });

    it("hashes the staged context as hashBuildContext does, model included", async () => {
        const context = makeContext({ Dockerfile: "FROM scratch\n", ".dockerignore": "tests\n", "a.py": "a", "tests/t.py": "t", "model/model.json": "{}" });
        const result = await stage("edgeml/models/temperature-anomaly/abc/model.json", { context });
        assert.strictEqual(result.sha256, hashBuildContext(destination));
        assert.deepStrictEqual(result.files, [".dockerignore", "Dockerfile", "a.py", "model/model.json"]);
        fs.rmSync(context, { recursive: true, force: true });

        // Under scoring/'s ".dockerignore: *, !model/model.json" the hash must still follow the model.
        const before = (await stage("edgeml/models/temperature-anomaly/abc/model.json")).sha256;
        storage.put("azureml-blobstore-1/edgeml/models/temperature-anomaly/abc/model.json", REGISTERED.toString("utf8").replace("4242", "4343"));
        assert.notStrictEqual((await stage("edgeml/models/temperature-anomaly/abc/model.json")).sha256, before);
    });

    it("is idempotent: a second run gives the same hash and bytes", async () => {
        const first = await stage("edgeml/models/temperature-anomaly/abc/model.json");
        const before = new Map(allFiles(destination).map((f) => [f, fs.readFileSync(path.join(destination, f))]));
        const second = await stage("edgeml/models/temperature-anomaly/abc/model.json");
        assert.deepStrictEqual(second, first);
        assert.deepStrictEqual(new Map(allFiles(destination).map((f) => [f, fs.readFileSync(path.join(destination, f))])), before);
    });

    it("removes stale files, leftover temp files and conflicting folders", async () => {
        writeFile(destination, "old.py", "stale");
        writeFile(destination, "model/model.json.123-abcd.tmp", "half-written");
        writeFile(destination, "stale-dir/nested/x.txt", "stale");
        writeFile(destination, "score.py/oops", "a folder where a file belongs");
        const result = await stage("edgeml/models/temperature-anomaly/abc/model.json");
        assert.deepStrictEqual(allFiles(destination), result.files);
        assert.ok(!fs.existsSync(path.join(destination, "stale-dir")));

        // A file dropped from the source context disappears from the staging too.
        const context = makeContext({ Dockerfile: "FROM scratch\n", "a.py": "a", "b.py": "b", "model/model.json": "{}" });
        const options = { context, modelFile: "model/model.json" };
        await stage("edgeml/models/temperature-anomaly/abc/model.json", options);
        fs.rmSync(path.join(context, "b.py"));
        const again = await stage("edgeml/models/temperature-anomaly/abc/model.json", options);
        assert.deepStrictEqual(again.files, ["Dockerfile", "a.py", "model/model.json"]);
        assert.deepStrictEqual(allFiles(destination), again.files);
        fs.rmSync(context, { recursive: true, force: true });
    });

    it("reads model.json inside a folder registration", async () => {
        await stage("custom/folder model/");
        assert.ok(fs.readFileSync(path.join(destination, "model/model.json")).equals(REGISTERED));
        assert.deepStrictEqual(storage.requests.map((r) => [r.path, r.status]), [["azureml-blobstore-1/custom/folder model/model.json", 200]]);
    });

    it("falls back to <path>/model.json when a .json path is not a blob", async () => {
        await stage("custom/v1.json");
        assert.deepStrictEqual(storage.requests.map((r) => [r.path, r.status]), [
            ["azureml-blobstore-1/custom/v1.json", 404],
            ["azureml-blobstore-1/custom/v1.json/model.json", 200],
        ]);
    });

    it("explains a refused SAS (403) without repeating it, and leaves the previous staging alone", async () => {
        await stage("edgeml/models/temperature-anomaly/abc/model.json");
        const before = hashBuildContext(destination);
        await expectFailure(stage("edgeml/models/temperature-anomaly/abc/model.json", {}, SAS.replace(/sig=[^&]*/, "sig=wrong")), /HTTP 403 AuthenticationFailed/, /listServiceSas/, /shared key/, /expired/);
        assert.strictEqual(hashBuildContext(destination), before);
        for (const file of allFiles(destination)) assertNoSecret(fs.readFileSync(path.join(destination, file), "utf8"));
    });

    it("reports a missing model.json (404) with every URL it tried", async () => {
        const error = await expectFailure(stage("other/model.pkl"), /no model\.json at/, /HTTP 404/, /scoring\/train\.py/);
        assert.ok(error.message.includes(`${storage.endpoint}azureml-blobstore-1/other/model.pkl/model.json`));
        assert.strictEqual(error.status, 404);
        await expectFailure(stage("missing/model.json"), /no model\.json at/);
        assert.strictEqual(storage.requests.at(-1)?.path, "azureml-blobstore-1/missing/model.json");
        assert.ok(!fs.existsSync(destination), "nothing staged");
    });

    it("rejects a file that is not the JSON tree score.py loads", async () => {
        await expectFailure(stage("bad/notjson.json"), /not UTF-8 JSON/, /scoring\/train\.py/);
        await expectFailure(stage("bad/bom.json"), /not UTF-8 JSON/);
        await expectFailure(stage("bad/onnx.json"), /format is "onnx", not "edgeml-decision-tree\/1"/);
        await expectFailure(stage("bad/features.json"), /features must be a non-empty list of machine_temperature/);
    });

    it("retries a 503 and a dropped connection, then succeeds", async () => {
        storage.faults.failNext(503);
        storage.faults.dropNext();
        await stage("edgeml/models/temperature-anomaly/abc/model.json");
        assert.deepStrictEqual(storage.requests.map((r) => r.status), [503, 0, 200]);
        assert.ok(fs.readFileSync(path.join(destination, "model/model.json")).equals(REGISTERED));
    });

    it("gives up on a service that stays busy or unreachable", async () => {
        storage.faults.failNext(503, 1000);
        await expectFailure(stage("edgeml/models/temperature-anomaly/abc/model.json"), /after \d+ attempts \(HTTP 503 ServerBusy\)/, /try again later/);
        assert.ok(storage.requests.length > 1);
        await storage.stop();
        await expectFailure(stage("edgeml/models/temperature-anomaly/abc/model.json"), /network error: .*ECONNREFUSED/, /can reach the storage account/);
        storage = await startBlobEmulator({ blobs: {}, sasToken: SAS }); // for afterEach
    });

    it("keeps the SAS out of errors that echo the URL", async () => {
        const fetchImpl = (async (url: string) => {
            throw new TypeError(`Failed to parse URL from ${url}`);
        }) as unknown as typeof fetch;
        await expectFailure(stage("edgeml/models/temperature-anomaly/abc/model.json", { fetchImpl }), /Failed to parse URL from .*\[redacted\]/);
    });

    it("refuses a destination that overlaps the context, or a .dockerignore that hides the model", async () => {
        const context = makeContext({ Dockerfile: "FROM scratch\n", ".dockerignore": "model\n", "model/model.json": "{}" });
        await assert.rejects(stage("x/model.json", { context, destination: path.join(context, "out") }), /overlaps the build context/);
        await assert.rejects(stage("x/model.json", { context, destination: path.dirname(context) }), /overlaps the build context/);
        await assert.rejects(stage("x/model.json", { context }), /\.dockerignore excludes model\/model\.json/);
        assert.deepStrictEqual(storage.requests, []);
        fs.rmSync(context, { recursive: true, force: true });
    });
});

describe("blobUrl", () => {
    it("encodes each path segment and takes the SAS with or without ?", () => {
        const expected = "http://127.0.0.1:10000/devstoreaccount1/c/a%20b/caf%C3%A9/%23x%3F.json?sv=1&sig=a%2B";
        assert.strictEqual(blobUrl("http://127.0.0.1:10000/devstoreaccount1/", "c", "a b/café/#x?.json", "?sv=1&sig=a%2B"), expected);
        assert.strictEqual(blobUrl("http://127.0.0.1:10000/devstoreaccount1", "c", "a b/café/#x?.json", "sv=1&sig=a%2B"), expected);
        assert.strictEqual(blobUrl("https://acct.blob.core.windows.net/", "c", "m.json", ""), "https://acct.blob.core.windows.net/c/m.json");
    });
});

describe("modelShapeProblem", () => {
    it("accepts the tree scoring/train.py writes and names what is wrong otherwise", () => {
        assert.strictEqual(modelShapeProblem(LOCAL_MODEL), undefined);
        const doc = JSON.parse(LOCAL_MODEL.toString("utf8"));
        const variant = (change: (d: any) => void) => {
            const copy = structuredClone(doc);
            change(copy);
            return modelShapeProblem(Buffer.from(JSON.stringify(copy)));
        };
        assert.match(variant((d) => delete d.tree.probabilities) ?? "", /tree must be an object with the lists/);
        assert.match(variant((d) => d.tree.left.pop()) ?? "", /one entry per node/);
        assert.match(variant((d) => (d.anomalyClass = 2)) ?? "", /anomalyClass 2 is not one of tree\.classes/);
        assert.match(variant((d) => (d.features = [])) ?? "", /features must be a non-empty list/);
        assert.match(modelShapeProblem(Buffer.from("[1]")) ?? "", /not a JSON object/);
        assert.match(modelShapeProblem(Buffer.from("{}")) ?? "", /format is missing/);
    });
});

describe("the blob emulator", () => {
    let storage: BlobEmulator;
    before(async () => {
        storage = await startBlobEmulator({ blobs: { "c/dir/a b.json": '{"x":1}' }, sasToken: `?${SAS}` });
    });
    after(() => storage.stop());

    it("serves a known blob with Get Blob's headers when the SAS matches", async () => {
        const response = await fetch(blobUrl(storage.endpoint, "c", "dir/a b.json", SAS));
        assert.strictEqual(response.status, 200);
        assert.strictEqual(await response.text(), '{"x":1}');
        assert.strictEqual(response.headers.get("content-type"), "application/json");
        assert.strictEqual(response.headers.get("content-length"), "7");
        assert.match(response.headers.get("etag") ?? "", /^"0x[0-9A-F]{15}"$/);
        assert.strictEqual(response.headers.get("x-ms-blob-type"), "BlockBlob");
        const reordered = SAS.split("&").reverse().join("&");
        assert.strictEqual((await fetch(blobUrl(storage.endpoint, "c", "dir/a b.json", reordered))).status, 200);
    });

    it("answers 403 AuthenticationFailed without the exact SAS, and 404 BlobNotFound for unknown blobs", async () => {
        for (const sas of ["", SAS.replace(/sig=[^&]*/, "sig=wrong"), SAS.replace(/&sp=r/, ""), `${SAS}&extra=1`]) {
            const response = await fetch(blobUrl(storage.endpoint, "c", "dir/a b.json", sas));
            assert.strictEqual(response.status, 403, sas);
            assert.strictEqual(response.headers.get("x-ms-error-code"), "AuthenticationFailed");
            assert.match(await response.text(), /^<\?xml[^>]*\?><Error><Code>AuthenticationFailed<\/Code><Message>/);
        }
        const missing = await fetch(blobUrl(storage.endpoint, "c", "dir/nope.json", SAS));
        assert.strictEqual(missing.status, 404);
        assert.match(await missing.text(), /<Code>BlobNotFound<\/Code>/);
        assert.deepStrictEqual(storage.requests.slice(-5).map((r) => r.hadValidSas), [false, false, false, false, true]);
        assert.ok(storage.requests.every((r) => !JSON.stringify(r).includes("sig")));
    });
});
