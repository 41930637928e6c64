import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { hashBuildContext, listFiles } from "../components/image/buildContext";
import { StageOptions, blobUrl, modelShapeProblem, stageBuildContext } from "../components/image/stagedContext";
import { ModelDownloadError } from "../components/shared";
import { Azurite, startAzurite } from "../offline/azurite";
import { AZURITE_ACCOUNT, AZURITE_ACCOUNT_KEY, serviceSas } from "../offline/storage-auth";
import { FaultProxy, startFaultProxy } from "./support/fault-proxy";
import { makeContext, writeFile } from "./support/temp-context";

const SCORING = path.resolve(__dirname, "..", "scoring");
const CONTAINER = "azureml-blobstore-1";
const HOUR = 3600_000;
const LOCAL_MODEL = fs.readFileSync(path.join(SCORING, "model", "model.json"));
// A valid tree with different bytes from the local one, as another registration would hold.
const REGISTERED = Buffer.from(LOCAL_MODEL.toString("utf8").replace(/"trainingRows": \d+/, '"trainingRows": 4242'));
const FAST = { baseDelayMs: 1, maxDelayMs: 10, deadlineMs: 300 };

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

describe("staging the scoring context with a registered model, downloaded from Azurite", function () {
    // Azurite's modules load once per process (about a second, more on a busy machine); each test then gets a fresh server.
    this.timeout(30_000);
    let azurite: Azurite;
    /** In front of Azurite, for the tests that count requests or need a 429/503 or a dropped connection. */
    let proxy: FaultProxy;
    let destination: string;
    /** A read-only container SAS signed with Azurite's account key, as listStorageAccountServiceSAS returns one. */
    const sasFor = (options: { permissions?: string; expiry?: Date; start?: Date; protocols?: string } = {}) => {
        const sas = azurite.containerSas(CONTAINER, { permissions: "r", expiry: new Date(Date.now() + 2 * HOUR), ...options });
        issued.push(sas);
        return sas;
    };
    let sas: string;
    const stage = (modelPath: string, extra: Partial<StageOptions> = {}, sasToken = `?${sas}`, endpoint = azurite.endpoint) =>
        stageBuildContext({
            context: SCORING,
            destination,
            modelFile: "model/model.json",
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
        assert.match(error.message, new RegExp(`http://127\\.0\\.0\\.1:\\d+/devstoreaccount1/${CONTAINER}/`));
        for (const pattern of patterns) assert.match(error.message, pattern);
        assertNoSecret(error.message + JSON.stringify(error));
        return error;
    };

    beforeEach(async () => {
        azurite = await startAzurite();
        proxy = await startFaultProxy(azurite.endpoint);
        sas = sasFor();
        // Uploaded with Put Blob (SharedKey), as any client would.
        const blobs: Record<string, Buffer | string> = {
            "edgeml/models/temperature-anomaly/abc/model.json": REGISTERED,
            "custom/folder model/model.json": REGISTERED,
            "custom/v1.json/model.json": REGISTERED,
            "other/model.pkl/weights.bin": "binary",
            "bad/notjson.json": "\x80PK not json",
            "bad/bom.json": Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), REGISTERED]),
            "bad/onnx.json": '{"format": "onnx", "graph": {}}',
            "bad/features.json": LOCAL_MODEL.toString("utf8").replace('"machine_pressure"', '"vibration"'),
        };
        for (const [name, content] of Object.entries(blobs)) await azurite.putBlob(CONTAINER, name, content);
        destination = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "edgeml-staged-")), "scoring-context");
    });
    afterEach(async () => {
        await proxy?.stop();
        await azurite?.stop();
        fs.rmSync(path.dirname(destination), { recursive: true, force: true });
    });

    it("copies what Docker receives from scoring/ with the downloaded model in place of the local one", async () => {
        const result = await viaProxy("edgeml/models/temperature-anomaly/abc/model.json");
        assert.deepStrictEqual(listFiles(destination), listFiles(SCORING));
        assert.ok(listFiles(SCORING).includes("model/model.json"));
        assert.deepStrictEqual(result.files, listFiles(SCORING));
        assert.ok(fs.readFileSync(path.join(destination, "model/model.json")).equals(REGISTERED));
        for (const file of listFiles(SCORING).filter((f) => f !== "model/model.json")) {
            assert.ok(fs.readFileSync(path.join(destination, file)).equals(fs.readFileSync(path.join(SCORING, file))), file);
        }
        assert.deepStrictEqual(proxy.requests, [
            { method: "GET", path: `${CONTAINER}/edgeml/models/temperature-anomaly/abc/model.json`, status: 200 },
        ]);
        for (const file of allFiles(destination)) assertNoSecret(fs.readFileSync(path.join(destination, file), "utf8"));
    });

    it("downloads with a read-only service SAS that Azurite validates, with or without the leading ?", async () => {
        await stage("edgeml/models/temperature-anomaly/abc/model.json", {}, sas);
        assert.ok(fs.readFileSync(path.join(destination, "model/model.json")).equals(REGISTERED));
        // A blob SAS (sr=b) for the file works as well as the container SAS.
        const blobSas = serviceSas({
            accountName: AZURITE_ACCOUNT,
            accountKey: AZURITE_ACCOUNT_KEY,
            containerName: CONTAINER,
            blobName: "custom/folder model/model.json",
            permissions: "r",
            expiry: new Date(Date.now() + HOUR),
            protocols: "https,http",
        });
        issued.push(blobSas);
        assert.match(blobSas, /&sr=b&/);
        await stage("custom/folder model/", {}, `?${blobSas}`);
        assert.ok(fs.readFileSync(path.join(destination, "model/model.json")).equals(REGISTERED));
    });

    it("hashes the staged context as hashBuildContext does, model included", async () => {
        const context = makeContext({
            Dockerfile: "FROM scratch\n",
            ".dockerignore": "tests\n",
            "a.py": "a",
            "tests/t.py": "t",
            "model/model.json": "{}",
        });
        const result = await stage("edgeml/models/temperature-anomaly/abc/model.json", { context });
        assert.strictEqual(result.sha256, hashBuildContext(destination));
        assert.deepStrictEqual(result.files, [".dockerignore", "Dockerfile", "a.py", "model/model.json"]);
        fs.rmSync(context, { recursive: true, force: true });

        // Under scoring/'s ".dockerignore: *, !model/model.json" the hash must still follow the model.
        const before = (await stage("edgeml/models/temperature-anomaly/abc/model.json")).sha256;
        await azurite.putBlob(
            CONTAINER,
            "edgeml/models/temperature-anomaly/abc/model.json",
            REGISTERED.toString("utf8").replace("4242", "4343"),
        );
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
        await viaProxy("custom/folder model/");
        assert.ok(fs.readFileSync(path.join(destination, "model/model.json")).equals(REGISTERED));
        assert.deepStrictEqual(
            proxy.requests.map((r) => [r.path, r.status]),
            [[`${CONTAINER}/custom/folder model/model.json`, 200]],
        );
    });

    it("falls back to <path>/model.json when a .json path is not a blob", async () => {
        await viaProxy("custom/v1.json");
        assert.deepStrictEqual(
            proxy.requests.map((r) => [r.path, r.status]),
            [
                [`${CONTAINER}/custom/v1.json`, 404],
                [`${CONTAINER}/custom/v1.json/model.json`, 200],
            ],
        );
    });

    it("explains a SAS whose signature Azurite refuses (403) without repeating it, and leaves the previous staging alone", async () => {
        await stage("edgeml/models/temperature-anomaly/abc/model.json");
        const before = hashBuildContext(destination);
        const forged = sas.replace(/sig=[^&]*/, `sig=${encodeURIComponent(Buffer.alloc(32, 7).toString("base64"))}`);
        issued.push(forged);
        const error = await expectFailure(
            stage("edgeml/models/temperature-anomaly/abc/model.json", {}, forged),
            /HTTP 403 AuthorizationFailure/,
            /listServiceSas/,
            /shared key/,
            /expired/,
        );
        assert.strictEqual(error.status, 403);
        assert.strictEqual(hashBuildContext(destination), before);
        for (const file of allFiles(destination)) assertNoSecret(fs.readFileSync(path.join(destination, file), "utf8"));
    });

    it("reports an expired SAS, refused by Azurite (403), with its expiry and without the SAS", async () => {
        const expired = sasFor({ start: new Date(Date.now() - 3 * HOUR), expiry: new Date(Date.now() - HOUR) });
        const se = new URLSearchParams(expired).get("se")!;
        const error = await expectFailure(
            stage("edgeml/models/temperature-anomaly/abc/model.json", {}, expired),
            /HTTP 403 AuthorizationFailure/,
            new RegExp(`the SAS expired at ${se}`),
            /run again for a fresh one/,
        );
        assert.strictEqual(error.status, 403);
        assert.ok(!fs.existsSync(destination), "nothing staged");
    });

    it("reports a SAS without read permission, refused by Azurite (403), without the SAS", async () => {
        for (const permissions of ["w", "l", "cwdl"]) {
            const error = await expectFailure(
                stage("edgeml/models/temperature-anomaly/abc/model.json", {}, sasFor({ permissions })),
                /HTTP 403 AuthorizationPermissionMismatch/,
                new RegExp(`the SAS does not grant read permission \\(sp=${permissions}\\)`),
            );
            assert.strictEqual(error.status, 403);
        }
    });

    it("reports an https-only SAS used over http, refused by Azurite (403)", async () => {
        await expectFailure(
            stage("edgeml/models/temperature-anomaly/abc/model.json", {}, sasFor({ protocols: "https" })),
            /HTTP 403 AuthorizationProtocolMismatch/,
            /the SAS allows https only, and http was used/,
        );
    });

    it("reports a missing model.json (404) with every URL it tried", async () => {
        const error = await expectFailure(stage("other/model.pkl"), /no model\.json at/, /HTTP 404/, /scoring\/train\.py/);
        assert.ok(error.message.includes(`${azurite.endpoint}${CONTAINER}/other/model.pkl/model.json`));
        assert.strictEqual(error.status, 404);
        await expectFailure(viaProxy("missing/model.json"), /no model\.json at/);
        assert.deepStrictEqual(proxy.requests.at(-1), { method: "GET", path: `${CONTAINER}/missing/model.json`, status: 404 });
        assert.ok(!fs.existsSync(destination), "nothing staged");
    });

    it("rejects a file that is not the JSON tree score.py loads", async () => {
        await expectFailure(stage("bad/notjson.json"), /not UTF-8 JSON/, /scoring\/train\.py/);
        await expectFailure(stage("bad/bom.json"), /not UTF-8 JSON/);
        await expectFailure(stage("bad/onnx.json"), /format is "onnx", not "edgeml-decision-tree\/1"/);
        await expectFailure(stage("bad/features.json"), /features must be a non-empty list of machine_temperature/);
    });

    // Azurite cannot be told to fail: these faults come from the proxy in front of it, and the request that gets
    // through is Azurite's to answer.
    it("retries a 429, a 503 and a dropped connection, then succeeds", async () => {
        proxy.failNext(429);
        proxy.failNext(503);
        proxy.dropNext();
        await viaProxy("edgeml/models/temperature-anomaly/abc/model.json");
        assert.deepStrictEqual(
            proxy.requests.map((r) => r.status),
            [429, 503, 0, 200],
        );
        assert.ok(fs.readFileSync(path.join(destination, "model/model.json")).equals(REGISTERED));
    });

    it("gives up on a service that stays busy or unreachable", async () => {
        proxy.failNext(503, 1000);
        await expectFailure(
            viaProxy("edgeml/models/temperature-anomaly/abc/model.json"),
            /after \d+ attempts \(HTTP 503 ServerBusy\)/,
            /try again later/,
        );
        assert.ok(proxy.requests.length > 1);
        await azurite.stop();
        await expectFailure(
            stage("edgeml/models/temperature-anomaly/abc/model.json"),
            /network error: .*ECONNREFUSED/,
            /can reach the storage account/,
        );
    });

    it("keeps the SAS out of errors that echo the URL", async () => {
        const fetchImpl = (async (url: string) => {
            throw new TypeError(`Failed to parse URL from ${url}`);
        }) as unknown as typeof fetch;
        await expectFailure(
            stage("edgeml/models/temperature-anomaly/abc/model.json", { fetchImpl }),
            /Failed to parse URL from .*\[redacted\]/,
        );
    });

    it("refuses a destination that overlaps the context, or a .dockerignore that hides the model", async () => {
        const context = makeContext({ Dockerfile: "FROM scratch\n", ".dockerignore": "model\n", "model/model.json": "{}" });
        const viaProxyWith = (extra: Partial<StageOptions>) => stage("x/model.json", extra, `?${sas}`, proxy.endpoint);
        await assert.rejects(viaProxyWith({ context, destination: path.join(context, "out") }), /overlaps the build context/);
        await assert.rejects(viaProxyWith({ context, destination: path.dirname(context) }), /overlaps the build context/);
        await assert.rejects(viaProxyWith({ context }), /\.dockerignore excludes model\/model\.json/);
        assert.deepStrictEqual(proxy.requests, []);
        fs.rmSync(context, { recursive: true, force: true });
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
