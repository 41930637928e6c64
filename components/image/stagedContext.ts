// A copy of the scoring build context that carries a registered model's file instead of the local one, so a stack
// can ship a model registered elsewhere. Docker builds the copy and the image tag hashes it, so it must be exact.
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import {
    ModelDownloadError,
    parseRetryAfter,
    redactCredentials,
    RetriesExhaustedError,
    RetryPolicy,
    RetryRules,
    TRANSIENT_NETWORK_CODES,
    withRetry,
    writeFileAtomically,
} from "../shared";
import { hashBuildContext, listFiles, readDockerignore } from "./buildContext";

export interface StagedModel {
    name: string;
    version: string;
    /** Blob service endpoint ending in "/", e.g. https://acct.blob.core.windows.net/ (http for an emulator). */
    blobEndpoint: string;
    containerName: string;
    /** Blob name of model.json, or of a folder that holds it. */
    path: string;
    /** Read-only SAS (with or without "?"); a secret, kept out of messages and files. */
    sasToken: string;
}

export interface StageOptions {
    /** Absolute path of the source context (scoring/). */
    context: string;
    /** Absolute folder to stage into; it ends up holding exactly the staged files. */
    destination: string;
    /** Where the Dockerfile copies the model from, relative to the context ("model/model.json"). */
    modelFile: string;
    model: StagedModel;
    fetchImpl?: typeof fetch;
    /** Backoff for 429/5xx/network failures; tests shorten it. */
    retryPolicy?: RetryPolicy;
}

/** What scoring/score.py's DecisionTreeModel accepts; scoring/train.py writes it. */
export const MODEL_FORMAT = "edgeml-decision-tree/1";
const FEATURES = ["machine_temperature", "machine_pressure", "ambient_temperature", "ambient_humidity"];
const DOWNLOAD_RETRY: RetryPolicy = { baseDelayMs: 250, maxDelayMs: 2_000, deadlineMs: 15_000 };
// The tree is kilobytes; anything this big is some other artifact, not worth buffering.
const MAX_MODEL_BYTES = 64 * 1024 * 1024;
const TOOL_ADVICE = `the scoring module loads the JSON decision tree written by scoring/train.py (model.json, format "${MODEL_FORMAT}"): register that file, or a folder holding it, as a new version`;

export function blobUrl(blobEndpoint: string, containerName: string, path: string, sasToken: string): string {
    const endpoint = blobEndpoint.endsWith("/") ? blobEndpoint : `${blobEndpoint}/`;
    const query = sasToken.replace(/^\?/, "");
    return endpoint + [containerName, ...path.split("/")].map(encodeURIComponent).join("/") + (query ? `?${query}` : "");
}

/** Stages `context` into `destination` with the model downloaded from blob storage; returns its content hash and files. */
export async function stageBuildContext(options: StageOptions): Promise<{ sha256: string; files: string[] }> {
    const context = path.resolve(options.context);
    const destination = path.resolve(options.destination);
    const modelFile = options.modelFile.replace(/\\/g, "/").replace(/^(\.\/)+/, "");
    const inside = (a: string, b: string) => a === b || a.startsWith(b + path.sep);
    // Cleaning the destination deletes files: it must never hold the source.
    if (inside(context, destination) || inside(destination, context))
        throw new pulumi.RunError(`staging folder ${destination} overlaps the build context ${context}`);
    const ignored = readDockerignore(context);
    if (ignored(modelFile))
        throw new pulumi.RunError(`${context}/.dockerignore excludes ${modelFile}, so the Dockerfile could not copy the model`);

    // Download first: a failure leaves the previous staging untouched.
    const model = await downloadModel(options.model, options.fetchImpl ?? fetch, options.retryPolicy ?? DOWNLOAD_RETRY);
    const staged = new Map<string, { content: Buffer; mode: number }>();
    // listFiles includes the Dockerfile and .dockerignore, which Docker always reads; the copied .dockerignore
    // also makes the staged folder hash as Docker sees it.
    for (const file of listFiles(context, ignored)) {
        const stat = fs.statSync(path.join(context, file), { throwIfNoEntry: false });
        if (file !== modelFile && stat?.isFile())
            staged.set(file, { content: fs.readFileSync(path.join(context, file)), mode: stat.mode & 0o777 });
    }
    staged.set(modelFile, { content: model, mode: 0o644 });

    fs.mkdirSync(destination, { recursive: true });
    removeStale(destination, new Set(staged.keys()));
    for (const [file, { content, mode }] of staged) writeIfChanged(path.join(destination, file), content, mode);
    return { sha256: hashBuildContext(destination), files: [...staged.keys()].sort() };
}

/** Why `bytes` is not a tree scoring/score.py can load (the checks of DecisionTreeModel.__init__), or undefined. */
export function modelShapeProblem(bytes: Buffer): string | undefined {
    // Parsed JSON of unknown shape, checked field by field below exactly as score.py checks it.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    let doc: any;
    try {
        // Python's json.load rejects a BOM and invalid UTF-8 too.
        doc = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes));
    } catch {
        return "it is not UTF-8 JSON";
    }
    const isObject = (v: unknown) => typeof v === "object" && v !== null && !Array.isArray(v);
    if (!isObject(doc)) return "it is not a JSON object";
    if (doc.format !== MODEL_FORMAT) return `its format is ${JSON.stringify(doc.format) ?? "missing"}, not "${MODEL_FORMAT}"`;
    if (!Array.isArray(doc.features) || doc.features.length === 0 || !doc.features.every((f: unknown) => FEATURES.includes(f as string))) {
        return `features must be a non-empty list of ${FEATURES.join(", ")}`;
    }
    const lists = ["classes", "feature", "threshold", "left", "right", "probabilities"];
    const tree = doc.tree;
    if (!isObject(tree) || !lists.every((k) => Array.isArray(tree[k]))) return `tree must be an object with the lists ${lists.join(", ")}`;
    if (tree.feature.length === 0 || lists.slice(2).some((k) => tree[k].length !== tree.feature.length))
        return "tree must have one entry per node in each of its node lists";
    if (!tree.classes.includes(doc.anomalyClass))
        return `anomalyClass ${JSON.stringify(doc.anomalyClass) ?? "(missing)"} is not one of tree.classes`;
    return undefined;
}

async function downloadModel(model: StagedModel, fetchImpl: typeof fetch, policy: RetryPolicy): Promise<Buffer> {
    const id = `${model.name}:${model.version}`;
    const base = model.path.replace(/\/+$/, "");
    // A folder registration (custom_model) holds model.json; a path not ending in .json is taken to be a folder.
    const candidates =
        base.split("/").pop() === "model.json" ? [base] : /\.json$/i.test(base) ? [base, `${base}/model.json`] : [`${base}/model.json`];
    const tried: string[] = [];
    for (const candidate of candidates) {
        const shown = blobUrl(model.blobEndpoint, model.containerName, candidate, "");
        tried.push(shown);
        const bytes = await fetchBlob(
            blobUrl(model.blobEndpoint, model.containerName, candidate, model.sasToken),
            shown,
            id,
            fetchImpl,
            policy,
            model.sasToken,
        );
        if (bytes === undefined) continue;
        const problem = modelShapeProblem(bytes);
        if (problem)
            throw new ModelDownloadError(
                id,
                shown,
                200,
                `model ${id}: ${shown} is not a model the scoring module can load (${problem}); ${TOOL_ADVICE}`,
            );
        return bytes;
    }
    throw new ModelDownloadError(
        id,
        tried[0],
        404,
        `model ${id}: no model.json at ${tried.join(" or ")} (HTTP 404); check the version's modelUri — ${TOOL_ADVICE}`,
    );
}

/** A failed blob request as the retry sees it: the HTTP status (none for a network failure) and Retry-After. */
interface BlobFailure {
    message: string;
    status?: number;
    retryAfter?: string | null;
    /** A network failure's code (ECONNRESET, ...). */
    code?: string;
    /** The storage service's error code (x-ms-error-code), e.g. AuthorizationPermissionMismatch. */
    errorCode?: string;
}

const BLOB_RETRY_RULES: RetryRules = {
    service: "blob storage",
    isTransient: (error) => {
        const { status, code } = error as BlobFailure;
        return status !== undefined ? status === 429 || status >= 500 : TRANSIENT_NETWORK_CODES.has(code ?? "");
    },
    retryAfterMs: (error, now) => parseRetryAfter((error as BlobFailure).retryAfter, now),
    describe: (error) => redactCredentials((error as Error).message ?? String(error)),
    advice: "try again later",
};

/** The blob's bytes, or undefined on 404; retries 429/5xx/network failures, then throws ModelDownloadError. */
async function fetchBlob(
    url: string,
    shown: string,
    id: string,
    fetchImpl: typeof fetch,
    policy: RetryPolicy,
    secret: string,
): Promise<Buffer | undefined> {
    try {
        return await withRetry(
            `GET ${shown}`,
            async () => {
                try {
                    const response = await fetchImpl(url, { signal: AbortSignal.timeout(60_000) });
                    if (response.status === 404) return void (await response.arrayBuffer());
                    if (!response.ok) {
                        const code =
                            /<Code>([^<]*)<\/Code>/.exec(await response.text())?.[1] ?? response.headers.get("x-ms-error-code") ?? "";
                        const failure: BlobFailure = {
                            message: `HTTP ${response.status} ${code}`.trim(),
                            status: response.status,
                            retryAfter: response.headers.get("retry-after"),
                            errorCode: code,
                        };
                        throw failure;
                    }
                    if (Number(response.headers.get("content-length")) > MAX_MODEL_BYTES) {
                        throw new ModelDownloadError(
                            id,
                            shown,
                            200,
                            `model ${id}: ${shown} is larger than ${MAX_MODEL_BYTES} bytes; ${TOOL_ADVICE}`,
                        );
                    }
                    return Buffer.from(await response.arrayBuffer());
                } catch (error) {
                    throw networkFailure(error);
                }
            },
            BLOB_RETRY_RULES,
            policy,
        );
    } catch (error) {
        if (error instanceof ModelDownloadError) throw error;
        const last = error instanceof RetriesExhaustedError ? error.lastError : error;
        const status = (last as BlobFailure).status;
        const attempts = error instanceof RetriesExhaustedError ? ` after ${error.attempts} attempts` : "";
        const advice =
            status === 403
                ? refusedSasAdvice((last as BlobFailure).errorCode, secret, shown)
                : status === 429 || (status ?? 0) >= 500
                  ? "the storage service is busy or unavailable; try again later"
                  : status
                    ? "unexpected answer from blob storage"
                    : "check that this machine can reach the storage account (network, firewall, proxy)";
        const message = `model ${id}: downloading ${shown} failed${attempts} (${(last as BlobFailure).message}): ${advice}`;
        throw new ModelDownloadError(id, shown, status, redactCredentials(message, secret));
    }
}

/**
 * Why the storage account refused the SAS (403): from its error code and the SAS's own unsigned fields (expiry,
 * start, permissions, protocols), never its signature.
 */
function refusedSasAdvice(errorCode: string | undefined, sasToken: string, shownUrl: string, now = Date.now()): string {
    const sas = new URLSearchParams(sasToken.replace(/^\?/, ""));
    const [expiry, start, permissions, protocols] = ["se", "st", "sp", "spr"].map((field) => sas.get(field) ?? "");
    const clock = `this machine's clock says ${new Date(now).toISOString().replace(/\.\d{3}Z$/, "Z")}`;
    if (expiry && Date.parse(expiry) <= now)
        return `the SAS expired at ${expiry} (${clock}): run again for a fresh one, and check the clock if it was just issued`;
    if (start && Date.parse(start) > now) return `the SAS is not valid before ${start} (${clock}): check the clock`;
    if (errorCode === "AuthorizationPermissionMismatch" || (permissions && !permissions.includes("r"))) {
        return `the SAS does not grant read permission (sp=${permissions}): downloading needs a SAS with read (r) permission on the container or blob`;
    }
    if (errorCode === "AuthorizationProtocolMismatch")
        return `the SAS allows ${protocols || "another protocol"} only, and ${new URL(shownUrl).protocol.replace(":", "")} was used`;
    return "the storage account refused the SAS: the deploying identity needs Microsoft.Storage/storageAccounts/listServiceSas/action on the account, the account must allow shared key access (a service SAS is signed with the account key) and its firewall must admit this machine; or the SAS expired (run again for a fresh one)";
}

// undici reports dropped sockets and timeouts with its own codes; the retry rules know the Node ones.
const UNDICI_CODES: Record<string, string> = {
    UND_ERR_SOCKET: "ECONNRESET",
    UND_ERR_CLOSED: "ECONNRESET",
    UND_ERR_CONNECT_TIMEOUT: "ETIMEDOUT",
    UND_ERR_HEADERS_TIMEOUT: "ETIMEDOUT",
    UND_ERR_BODY_TIMEOUT: "ETIMEDOUT",
};

function networkFailure(error: unknown): unknown {
    if (error instanceof ModelDownloadError || (error as BlobFailure).status !== undefined) return error;
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const code = (error as Error).name === "TimeoutError" ? "ETIMEDOUT" : (UNDICI_CODES[cause?.code ?? ""] ?? cause?.code);
    const failure: BlobFailure = { message: `network error: ${cause?.message ?? (error as Error).message ?? String(error)}`, code };
    return failure;
}

/** Deletes what is not staged (stale files, leftover temp files, emptied folders) so the folder matches exactly. */
function removeStale(root: string, keep: Set<string>, relative = ""): void {
    for (const entry of fs.readdirSync(path.join(root, relative), { withFileTypes: true })) {
        const file = relative ? `${relative}/${entry.name}` : entry.name;
        if (entry.isDirectory() && [...keep].some((k) => k.startsWith(`${file}/`))) removeStale(root, keep, file);
        else if (!(entry.isFile() && keep.has(file))) fs.rmSync(path.join(root, file), { recursive: true, force: true });
    }
}

/** Unchanged files are left alone (same bytes and mode), so restaging an unchanged model touches nothing. */
function writeIfChanged(file: string, content: Buffer, mode: number): void {
    const current = fs.statSync(file, { throwIfNoEntry: false });
    if (current?.isFile() && (current.mode & 0o777) === mode && fs.readFileSync(file).equals(content)) return;
    writeFileAtomically(file, content, mode);
}
