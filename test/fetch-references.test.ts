// The tests' reference data in a clone: the one lookup of its folder (offline/reference-data.ts), the list of files
// (scripts/references.json), `npm run fetch-references` against a local HTTP server standing in for
// raw.githubusercontent.com (a good file, a wrong hash refused, a 404 reported, a redaction), the skip-or-fail helper
// every oracle test goes through, and the CI workflows fetching before they test.
import * as assert from "assert";
import { spawn } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as http from "http";
import type { AddressInfo } from "net";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import {
    FETCH_COMMAND,
    PROJECT_ROOT,
    readReferenceList,
    REFERENCE_DIR_ENV,
    referenceDir,
    referencePath,
    REQUIRE_REFERENCES_ENV,
    type ReferenceFile,
} from "../offline/reference-data";
import { BASE_URL_ENV, fetchReferences, redact, sourceUrl } from "../scripts/fetch-references";
import { requireReference } from "./support/references";

const sha256 = (content: string | Buffer) => createHash("sha256").update(content).digest("hex");
const COMMIT = "0123456789abcdef0123456789abcdef01234567";
const NO_WAIT = { baseDelayMs: 1, maxDelayMs: 1, deadlineMs: 1_000 };

/** A stand-in for raw.githubusercontent.com: answers the paths it is given, 404 to the rest, and logs every request. */
class FileServer {
    readonly requests: string[] = [];
    /** Statuses to answer, in order, before a path's content (to test retries). */
    readonly failFirst = new Map<string, number[]>();
    private server?: http.Server;
    constructor(private readonly files: Map<string, Buffer>) {}

    async start(): Promise<string> {
        this.server = http.createServer((request, response) => {
            const url = request.url ?? "";
            this.requests.push(url);
            const status = this.failFirst.get(url)?.shift();
            const content = this.files.get(url);
            if (status) response.writeHead(status, { "retry-after": "0" }).end();
            else if (content) response.writeHead(200, { "content-type": "application/octet-stream" }).end(content);
            else response.writeHead(404).end("404: Not Found");
        });
        await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
        return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
    }

    stop(): Promise<void> {
        return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    }
}

/** Every file below `dir`, as "a/b.json". */
function filesUnder(dir: string, prefix = ""): string[] {
    return fs
        .readdirSync(path.join(dir, prefix), { withFileTypes: true })
        .flatMap((d) => (d.isDirectory() ? filesUnder(dir, `${prefix}${d.name}/`) : [`${prefix}${d.name}`]));
}

/** A list entry for content served at /owner/repo/<commit>/<source>. */
function entry(file: string, source: string, content: string | Buffer, extra: Partial<ReferenceFile> = {}): ReferenceFile {
    return { path: file, repository: "owner/repo", commit: COMMIT, source, sha256: sha256(content), licence: "MIT", ...extra };
}

/** `npm run fetch-references` as CI runs it, but asynchronously: the server answering it is in this process. */
function runScript(args: string[], env: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> {
    const script = path.join(PROJECT_ROOT, "scripts", "fetch-references.ts");
    const child = spawn(process.execPath, ["--import", require.resolve("tsx"), script, ...args], {
        cwd: PROJECT_ROOT,
        env: { ...process.env, ...env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    return new Promise((resolve) => child.on("close", (status) => resolve({ status, stdout, stderr })));
}

describe("reference data: where it is looked for", () => {
    let saved: string | undefined;
    beforeEach(() => (saved = process.env[REFERENCE_DIR_ENV]));
    afterEach(() => {
        if (saved === undefined) delete process.env[REFERENCE_DIR_ENV];
        else process.env[REFERENCE_DIR_ENV] = saved;
    });

    it("EDGEML_REFERENCE_DIR first, a relative one taken from the project's root", () => {
        process.env[REFERENCE_DIR_ENV] = "/somewhere/else";
        assert.deepStrictEqual(referenceDir(), { dir: "/somewhere/else", chosenBy: `$${REFERENCE_DIR_ENV}` });
        process.env[REFERENCE_DIR_ENV] = "refs";
        assert.strictEqual(referencePath("a/b.json"), path.join(PROJECT_ROOT, "refs", "a", "b.json"));
    });

    it("then ../shared/reference next to the project if it exists, else the project's own .reference/", async () => {
        delete process.env[REFERENCE_DIR_ENV];
        // The module in a project folder of its own, so that what sits next to that folder can be chosen here.
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "edgeml-refdir-"));
        try {
            const project = path.join(root, "project");
            fs.mkdirSync(path.join(project, "offline"), { recursive: true });
            fs.copyFileSync(path.join(PROJECT_ROOT, "offline", "reference-data.ts"), path.join(project, "offline", "reference-data.ts"));
            const moved = (await import(path.join(project, "offline", "reference-data.ts"))) as typeof import("../offline/reference-data");
            assert.strictEqual(moved.referenceDir().dir, path.join(project, ".reference"));
            fs.mkdirSync(path.join(root, "shared", "reference"), { recursive: true });
            assert.strictEqual(moved.referenceDir().dir, path.join(root, "shared", "reference"));
        } finally {
            fs.rmSync(root, { recursive: true, force: true });
        }
    });
});

describe("reference data: scripts/references.json", () => {
    const list = readReferenceList();

    it("names, for each file, where it goes, its repository, commit, path there, sha256 and licence", () => {
        assert.ok(list.length > 0);
        const paths = list.map((e) => e.path);
        assert.deepStrictEqual(paths, [...new Set(paths)], "each file once");
        for (const e of list) {
            assert.match(e.path, /^[\w@.-]+(\/[\w@.-]+)*$/, `${e.path}: a relative path inside the reference folder`);
            assert.ok(!e.path.split("/").includes(".."), e.path);
            assert.match(e.repository, /^[\w.-]+\/[\w.-]+$/, e.path);
            assert.match(e.commit, /^[0-9a-f]{40}$/, `${e.path}: a full commit, not a branch`);
            assert.ok(e.source && !e.source.startsWith("/"), e.path);
            assert.match(e.sha256, /^[0-9a-f]{64}$/, e.path);
            assert.ok(["MIT", "Apache-2.0"].includes(e.licence), `${e.path}: licence ${e.licence}`);
            if (e.redact) assert.match(e.redact.upstreamSha256, /^[0-9a-f]{64}$/, e.path);
        }
        // The one file whose copy is not the published one says so.
        assert.deepStrictEqual(
            list.filter((e) => e.redact).map((e) => [e.path, e.redact!.field]),
            [["manifests/ai-toolkit-iot-edge__anomaly-detection__deployment.json", "password"]],
        );
    });

    it("matches the reference data in place: every file listed, with its sha256", function () {
        // Each top-level file or folder of the list: a missing folder is named once, not file by file.
        const [first, ...more] = [...new Set(list.map((e) => e.path.replace(/\/.*$/, "/")))];
        requireReference(this, first, ...more);
        const root = referenceDir().dir;
        for (const e of list) assert.strictEqual(sha256(fs.readFileSync(path.join(root, e.path))), e.sha256, `${e.path} in ${root}`);
        // Anything else there (but notes beside the data) would be missing from every clone.
        const unlisted = filesUnder(root)
            .filter((file) => !file.endsWith(".md") && !path.basename(file).startsWith("."))
            .filter((file) => !list.some((e) => e.path === file));
        assert.deepStrictEqual(unlisted, [], `in ${root} but not in scripts/references.json`);
    });

    it("builds raw.githubusercontent.com URLs at the commit, with spaces encoded", () => {
        const csv = list.find((e) => e.path === "ai-toolkit/temperature_data.csv")!;
        assert.strictEqual(
            sourceUrl(csv),
            `https://raw.githubusercontent.com/Azure/ai-toolkit-iot-edge/${csv.commit}/IoT%20Edge%20anomaly%20detection%20tutorial/temperature_data.csv`,
        );
    });
});

describe("npm run fetch-references (against a local server)", function () {
    this.timeout(30_000);
    const GOOD = Buffer.from('{"good": true}\n');
    const TAMPERED = Buffer.from('{"good": false}\n');
    const PUBLISHED = Buffer.from('{\n  "username": "u",\n\t\t"password":"s3cret\\"x",\n  "other": {"password" : "two"}\n}\n');
    const list = [
        entry("folder/good.json", "dir with space/good.json", GOOD),
        entry("tampered.json", "tampered.json", GOOD),
        entry("missing.json", "gone/missing.json", "whatever"),
    ];
    const files = new Map<string, Buffer>([
        [`/owner/repo/${COMMIT}/dir%20with%20space/good.json`, GOOD],
        // Served with other content than the list's sha256 names.
        [`/owner/repo/${COMMIT}/tampered.json`, TAMPERED],
    ]);
    let server: FileServer;
    let baseUrl: string;
    let dir: string;
    beforeEach(async () => {
        server = new FileServer(files);
        baseUrl = await server.start();
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "edgeml-refs-"));
    });
    afterEach(async () => {
        await server.stop();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("writes a good file, refuses a wrong sha256 naming both hashes, reports a 404, and exits 1", async () => {
        const listFile = path.join(dir, "list.json");
        fs.writeFileSync(listFile, JSON.stringify({ files: list }));
        const target = path.join(dir, "refs");
        const run = await runScript(["--dir", target, "--list", listFile], { [BASE_URL_ENV]: baseUrl });
        assert.strictEqual(run.status, 1, run.stdout + run.stderr);
        assert.deepStrictEqual(fs.readFileSync(path.join(target, "folder", "good.json")), GOOD);
        assert.ok(
            run.stderr.includes(
                `failed: tampered.json: sha256 mismatch of ${baseUrl}/owner/repo/${COMMIT}/tampered.json: ` +
                    `expected ${sha256(GOOD)}, got ${sha256(TAMPERED)}`,
            ),
            run.stderr,
        );
        assert.match(run.stderr, new RegExp(`failed: missing\\.json: HTTP 404 from ${baseUrl}/owner/repo/${COMMIT}/gone/missing\\.json`));
        assert.match(run.stdout, /^1 fetched, 0 already present, 2 failed$/m);
        // Nothing written of what was refused, and no temp file left behind.
        assert.deepStrictEqual(filesUnder(target), ["folder/good.json"]);
        // The space in the source path went out encoded; a 404 is not retried.
        assert.ok(server.requests.includes(`/owner/repo/${COMMIT}/dir%20with%20space/good.json`));
        assert.strictEqual(server.requests.filter((r) => r.endsWith("/missing.json")).length, 1);
    });

    it("leaves a file with the right sha256 alone, and replaces one with another", async () => {
        const good = [list[0]];
        const first = await fetchReferences({ dir, list: good, baseUrl, retry: NO_WAIT });
        assert.deepStrictEqual(first, { present: [], fetched: ["folder/good.json"], failed: [] });
        const again = await fetchReferences({ dir, list: good, baseUrl, retry: NO_WAIT });
        assert.deepStrictEqual(again, { present: ["folder/good.json"], fetched: [], failed: [] });
        assert.strictEqual(server.requests.length, 1, "nothing downloaded for a file already right");
        fs.writeFileSync(path.join(dir, "folder", "good.json"), "edited\n");
        assert.deepStrictEqual((await fetchReferences({ dir, list: good, baseUrl, retry: NO_WAIT })).fetched, ["folder/good.json"]);
        assert.deepStrictEqual(fs.readFileSync(path.join(dir, "folder", "good.json")), GOOD);
    });

    it("retries a 503, and refuses a file the listed hash does not match even when it is already there", async () => {
        server.failFirst.set(`/owner/repo/${COMMIT}/dir%20with%20space/good.json`, [503]);
        assert.deepStrictEqual((await fetchReferences({ dir, list: [list[0]], baseUrl, retry: NO_WAIT })).fetched, ["folder/good.json"]);
        assert.strictEqual(server.requests.length, 2);
        // A file on disk with the wrong content is not "present": it is downloaded again, and refused again.
        fs.writeFileSync(path.join(dir, "tampered.json"), TAMPERED);
        const report = await fetchReferences({ dir, list: [list[1]], baseUrl, retry: NO_WAIT });
        assert.deepStrictEqual(report.present, []);
        assert.match(report.failed[0], /^tampered\.json: sha256 mismatch/);
    });

    it("gives up on a host it cannot reach, and does not try the remaining files", async () => {
        const closed = new FileServer(new Map());
        const unreachable = await closed.start();
        await closed.stop();
        const many = Array.from({ length: 6 }, (_, i) => entry(`f${i}.json`, `f${i}.json`, GOOD));
        const report = await fetchReferences({ dir, list: many, baseUrl: unreachable, retry: NO_WAIT });
        assert.strictEqual(report.failed.length, 6);
        assert.match(report.failed.join("\n"), /still failing after \d+ attempts \(fetch failed \(ECONNREFUSED\)\)/);
        assert.match(report.failed.join("\n"), /: not tried, 127\.0\.0\.1:\d+ could not be reached/);
    });

    it("redacts as listed, checking the published file's hash before and the copy's after", async () => {
        const redacted = redact(PUBLISHED, "password", "REDACTED");
        assert.strictEqual(
            redacted.toString(),
            '{\n  "username": "u",\n\t\t"password":"REDACTED",\n  "other": {"password" : "REDACTED"}\n}\n',
            "only the values change, every other byte stays",
        );
        files.set(`/owner/repo/${COMMIT}/published.json`, PUBLISHED);
        const redactedEntry = entry("copy.json", "published.json", redacted, {
            redact: { field: "password", replacement: "REDACTED", upstreamSha256: sha256(PUBLISHED) },
        });
        assert.deepStrictEqual((await fetchReferences({ dir, list: [redactedEntry], baseUrl })).fetched, ["copy.json"]);
        assert.deepStrictEqual(fs.readFileSync(path.join(dir, "copy.json")), redacted);
        // Another published file is refused before redaction could make it look right.
        files.set(`/owner/repo/${COMMIT}/published.json`, Buffer.from(PUBLISHED.toString().replace('"u"', '"v"')));
        fs.rmSync(path.join(dir, "copy.json"));
        const report = await fetchReferences({ dir, list: [redactedEntry], baseUrl });
        assert.match(report.failed[0], /^copy\.json: sha256 mismatch of .*published\.json before redaction: expected [0-9a-f]{64}, got/);
        assert.ok(!fs.existsSync(path.join(dir, "copy.json")));
    });
});

describe("a test whose oracle is missing", function () {
    this.timeout(30_000);

    /** Runs a one-test mocha file that needs `file`, with the reference folder empty. */
    async function runNeeding(file: string, env: Record<string, string>) {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "edgeml-oracle-"));
        try {
            const spec = path.join(dir, "needs.test.ts");
            const helper = path.join(PROJECT_ROOT, "test", "support", "references.ts");
            fs.writeFileSync(
                spec,
                `import { requireReference } from ${JSON.stringify(helper)};\n` +
                    `it("uses the oracle", function () { requireReference(this, ${JSON.stringify(file)}); throw new Error("ran"); });\n`,
            );
            const mocha = path.join(PROJECT_ROOT, "node_modules", "mocha", "bin", "mocha.js");
            const child = spawn(process.execPath, ["--import", require.resolve("tsx"), mocha, "--no-config", spec], {
                cwd: PROJECT_ROOT,
                env: { ...process.env, [REFERENCE_DIR_ENV]: path.join(dir, "empty"), ...env },
            });
            let output = "";
            child.stdout.on("data", (chunk) => (output += chunk));
            child.stderr.on("data", (chunk) => (output += chunk));
            const status = await new Promise<number | null>((resolve) => child.on("close", resolve));
            return { status, output, dir: path.join(dir, "empty") };
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    }

    it("is skipped, the file named in its title; with EDGEML_REQUIRE_REFERENCES=1 it fails saying where and what to run", async () => {
        const skipped = await runNeeding("iothub-service-swagger.json", { [REQUIRE_REFERENCES_ENV]: "" });
        assert.strictEqual(skipped.status, 0, skipped.output);
        assert.match(skipped.output, /- uses the oracle \[oracle missing: iothub-service-swagger\.json\]/);
        assert.match(skipped.output, /0 passing[\s\S]*1 pending/);
        const failed = await runNeeding("iothub-service-swagger.json", { [REQUIRE_REFERENCES_ENV]: "1" });
        assert.strictEqual(failed.status, 1, failed.output);
        assert.ok(
            failed.output.includes(
                `reference data missing: iothub-service-swagger.json (looked in ${failed.dir}: $${REFERENCE_DIR_ENV}); run \`${FETCH_COMMAND}\``,
            ),
            failed.output,
        );
        assert.doesNotMatch(failed.output, /Error: ran/);
    });

    it("must be in the list: a name nothing would fetch is a mistake, not a skip", async () => {
        const typo = await runNeeding("iothub-servce-swagger.json", {});
        assert.strictEqual(typo.status, 1, typo.output);
        assert.match(typo.output, /"iothub-servce-swagger\.json" is not in scripts\/references\.json/);
    });
});

describe("the CI workflows fetch the reference data before they test", () => {
    for (const name of ["pull-request.yml", "deploy.yml"]) {
        it(`${name}: npm ci, then npm run fetch-references, then .ci/run`, () => {
            const workflow = yaml.load(fs.readFileSync(path.join(PROJECT_ROOT, ".github", "workflows", name), "utf8")) as {
                jobs: Record<string, { steps?: { run?: string }[] }>;
            };
            const jobs = Object.values(workflow.jobs).filter((job) => (job.steps ?? []).some((s) => /\.ci\/run/.test(s.run ?? "")));
            assert.strictEqual(jobs.length, 1, `${name}: one job runs .ci/run`);
            const runs = (jobs[0].steps ?? []).map((s) => s.run ?? "");
            const at = (pattern: RegExp) => runs.findIndex((run) => pattern.test(run));
            assert.ok(at(/^npm ci\b/) >= 0 && at(/^npm ci\b/) < at(/^npm run fetch-references$/), `${name}: npm ci before the fetch`);
            assert.ok(at(/^npm run fetch-references$/) < at(/\.ci\/run/), `${name}: the fetch before .ci/run`);
        });
    }
});
