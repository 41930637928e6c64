// `npm run fetch-references [-- --dir <folder>]`: downloads the tests' reference data (scripts/references.json) from
// the public repositories it comes from, each file at its pinned commit, into the reference folder the tests read
// (offline/reference-data.ts: $EDGEML_REFERENCE_DIR, ../shared/reference, or the project's .reference/). A file
// already there with the listed sha256 is left alone; a download with another sha256 is refused, named with both
// hashes, and not written; files are written whole or not at all. Exits 1 if any file could not be had.
// $EDGEML_REFERENCE_BASE_URL replaces https://raw.githubusercontent.com (a mirror, or the tests' local server).
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { writeFileAtomically } from "../components/shared/atomicFile";
import { isUserFacing, RetriesExhaustedError, UsageError } from "../components/shared/errors";
import { parseRetryAfter, type RetryPolicy, type RetryRules, TRANSIENT_NETWORK_CODES, withRetry } from "../components/shared/retry";
import { readReferenceList, REFERENCE_LIST_FILE, referenceDir, type ReferenceFile } from "../offline/reference-data";
import { parseArgs } from "./args";

export const BASE_URL_ENV = "EDGEML_REFERENCE_BASE_URL";
const DEFAULT_BASE_URL = "https://raw.githubusercontent.com";
/** Downloads at once: a handful of small files, kept polite to the host. */
const PARALLEL = 4;
const REQUEST_TIMEOUT_MS = 60_000;
/** Short: a host that cannot be reached (offline, no DNS) is said so within half a minute, not after hours. */
const RETRY_POLICY: RetryPolicy = { baseDelayMs: 500, maxDelayMs: 5_000, deadlineMs: 20_000 };

const USAGE = `usage: npm run fetch-references -- [--dir <folder>] [--list <references.json>]
  --dir <folder>    where to write (default: the folder the tests read, see offline/reference-data.ts)
  --list <file>     the list of files (default: scripts/references.json)
  -h, --help        this help
$${BASE_URL_ENV} replaces ${DEFAULT_BASE_URL} (the files are at <base>/<repository>/<commit>/<path>).`;

export interface FetchOptions {
    dir: string;
    list?: ReferenceFile[];
    baseUrl?: string;
    retry?: RetryPolicy;
    log?: (line: string) => void;
}

export interface FetchReport {
    present: string[];
    fetched: string[];
    /** One line per file that could not be had, naming it and why. */
    failed: string[];
}

/** The URL of a listed file: each path segment percent-encoded ("IoT Edge anomaly detection tutorial" has spaces). */
export function sourceUrl(entry: ReferenceFile, baseUrl = DEFAULT_BASE_URL): string {
    const encoded = [...entry.repository.split("/"), entry.commit, ...entry.source.split("/")].map(encodeURIComponent).join("/");
    return `${baseUrl.replace(/\/+$/, "")}/${encoded}`;
}

export function sha256(content: Buffer): string {
    return createHash("sha256").update(content).digest("hex");
}

/** Every string value of a JSON member named `field` replaced; every other byte kept as it was. */
export function redact(content: Buffer, field: string, replacement: string): Buffer {
    const name = field.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const member = new RegExp(`("${name}"\\s*:\\s*")(?:[^"\\\\]|\\\\.)*(")`, "g");
    // latin1 maps each byte to one character and back: the file's bytes survive whatever its encoding.
    return Buffer.from(
        content.toString("latin1").replace(member, (_all, open: string, close: string) => open + replacement + close),
        "latin1",
    );
}

export async function fetchReferences(options: FetchOptions): Promise<FetchReport> {
    const list = options.list ?? readReferenceList();
    const baseUrl = options.baseUrl ?? DEFAULT_BASE_URL;
    const log = options.log ?? (() => undefined);
    const report: FetchReport = { present: [], fetched: [], failed: [] };
    const queue = [...list];
    /** Set once the host could not be reached at all: the files after it are not tried (each would wait as long). */
    let unreachable: string | undefined;
    const worker = async () => {
        for (let entry = queue.shift(); entry; entry = queue.shift()) {
            const target = targetOf(options.dir, entry);
            if (fs.existsSync(target) && sha256(fs.readFileSync(target)) === entry.sha256) {
                report.present.push(entry.path);
                continue;
            }
            if (unreachable) {
                report.failed.push(`${entry.path}: not tried, ${unreachable}`);
                continue;
            }
            try {
                const content = await download(entry, baseUrl, options.retry);
                writeFileAtomically(target, content, 0o644);
                report.fetched.push(entry.path);
                log(`fetched ${entry.path}`);
            } catch (error) {
                if (error instanceof RetriesExhaustedError && !(error.lastError instanceof HttpStatusError))
                    unreachable ??= `${new URL(baseUrl).host} could not be reached`;
                report.failed.push(`${entry.path}: ${error instanceof Error ? error.message : String(error)}`);
            }
        }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
    return report;
}

/** The file's place in the folder; an entry that would land outside it is refused (the list is data, not code). */
function targetOf(dir: string, entry: ReferenceFile): string {
    const target = path.resolve(dir, entry.path);
    if (path.isAbsolute(entry.path) || !target.startsWith(path.resolve(dir) + path.sep))
        throw new Error(`${entry.path}: not a path inside the reference folder`);
    return target;
}

/** The file as the tests read it, checked against the list; an error naming both hashes otherwise. */
async function download(entry: ReferenceFile, baseUrl: string, policy = RETRY_POLICY): Promise<Buffer> {
    const url = sourceUrl(entry, baseUrl);
    let content = await withRetry(`GET ${url}`, () => get(url), HTTP_RULES, policy);
    if (entry.redact) {
        // The published bytes first, so that a redaction cannot hide a different upstream file.
        const upstream = sha256(content);
        if (upstream !== entry.redact.upstreamSha256)
            throw new Error(`sha256 mismatch of ${url} before redaction: expected ${entry.redact.upstreamSha256}, got ${upstream}`);
        content = redact(content, entry.redact.field, entry.redact.replacement);
    }
    const actual = sha256(content);
    if (actual !== entry.sha256)
        throw new Error(`sha256 mismatch of ${url}${entry.redact ? " after redaction" : ""}: expected ${entry.sha256}, got ${actual}`);
    return content;
}

class HttpStatusError extends Error {
    constructor(
        readonly status: number,
        readonly retryAfter: string | null,
        url: string,
    ) {
        super(`HTTP ${status} from ${url}`);
    }
}

async function get(url: string): Promise<Buffer> {
    const response = await fetch(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    if (!response.ok) throw new HttpStatusError(response.status, response.headers.get("retry-after"), url);
    return Buffer.from(await response.arrayBuffer());
}

const HTTP_RULES: RetryRules = {
    service: "the reference data's host",
    isTransient: (error) => {
        if (error instanceof HttpStatusError) return error.status === 429 || error.status >= 500;
        // fetch() reports a refused or dropped connection as a TypeError whose cause carries the code.
        const code = (error as { cause?: { code?: string } }).cause?.code;
        return (code !== undefined && TRANSIENT_NETWORK_CODES.has(code)) || (error as Error).name === "TimeoutError";
    },
    retryAfterMs: (error, now) => (error instanceof HttpStatusError ? parseRetryAfter(error.retryAfter, now) : undefined),
    describe: (error) => {
        const cause = (error as { cause?: { code?: string; message?: string } }).cause;
        return `${(error as Error).message}${cause ? ` (${cause.code ?? cause.message})` : ""}`;
    },
    advice: `try again later, or set $${BASE_URL_ENV} to a mirror of raw.githubusercontent.com`,
};

async function main(): Promise<number> {
    const args = parseArgs(process.argv.slice(2), { dir: "", list: "" }, { switches: ["help"] as const, aliases: { h: "help" } });
    if (args.help) {
        console.log(USAGE);
        return 0;
    }
    const where = args.dir ? { dir: path.resolve(args.dir), chosenBy: "--dir" } : referenceDir();
    const list = readReferenceList(args.list || REFERENCE_LIST_FILE);
    const baseUrl = process.env[BASE_URL_ENV] || DEFAULT_BASE_URL;
    console.log(`reference data: ${list.length} files into ${where.dir} (${where.chosenBy}), from ${baseUrl}`);
    const report = await fetchReferences({ dir: where.dir, list, baseUrl, log: console.log });
    for (const failure of report.failed) console.error(`failed: ${failure}`);
    console.log(`${report.fetched.length} fetched, ${report.present.length} already present, ${report.failed.length} failed`);
    return report.failed.length === 0 ? 0 : 1;
}

if (require.main === module) {
    main().then(
        (status) => void (process.exitCode = status),
        (error: unknown) => {
            console.error(isUserFacing(error) ? (error as Error).message : error);
            if (error instanceof UsageError) console.error(USAGE);
            process.exitCode = error instanceof UsageError ? 2 : 1;
        },
    );
}
