// A registered model's files, downloaded from its datastore with a read-only SAS, staged with the module's build
// context so a stack can ship a model registered elsewhere (a training run's). Any format: a single file, or a folder
// (every blob under its path), laid out as Azure ML lays it out in azureml-models/<name>/<version>/.
import {
    ModelDownloadError,
    parseRetryAfter,
    redactCredentials,
    RetriesExhaustedError,
    RetryPolicy,
    RetryRules,
    TRANSIENT_NETWORK_CODES,
    withRetry,
} from "../shared";
import { MODEL_DIR_IN_CONTEXT, moduleContextFiles, ModuleSources, StagedFiles, writeStagedContext } from "./moduleContext";

export interface StagedModel {
    name: string;
    version: string;
    /** Blob service endpoint ending in "/", e.g. https://acct.blob.core.windows.net/ (http for an emulator). */
    blobEndpoint: string;
    containerName: string;
    /** Blob name of the model file, or the path of a folder of blobs. */
    path: string;
    /** Read and list SAS (with or without "?"); a secret, kept out of messages and files. */
    sasToken: string;
}

export interface StageOptions {
    /** The module's runtime, user folder and requirements (the model comes from `model`). */
    sources: ModuleSources;
    /** Absolute folder to stage into; it ends up holding exactly the staged files. */
    destination: string;
    model: StagedModel;
    fetchImpl?: typeof fetch;
    /** Backoff for 429/5xx/network failures; tests shorten it. */
    retryPolicy?: RetryPolicy;
}

const DOWNLOAD_RETRY: RetryPolicy = { baseDelayMs: 250, maxDelayMs: 2_000, deadlineMs: 15_000 };
// Buffered in memory on the way to the staged folder: a model blob bigger than this is refused with a message.
const MAX_BLOB_BYTES = 2 * 1024 * 1024 * 1024 - 1;

export function blobUrl(blobEndpoint: string, containerName: string, path: string, sasToken: string): string {
    const endpoint = blobEndpoint.endsWith("/") ? blobEndpoint : `${blobEndpoint}/`;
    const query = sasToken.replace(/^\?/, "");
    return endpoint + [containerName, ...path.split("/")].map(encodeURIComponent).join("/") + (query ? `?${query}` : "");
}

/** Stages the module with the registered model downloaded into it; returns the folder's content hash and files. */
export async function stageBuildContext(options: StageOptions): Promise<{ sha256: string; files: string[] }> {
    // Download first: a failure leaves the previous staging untouched.
    const model = await downloadModel(options.model, options.fetchImpl ?? fetch, options.retryPolicy ?? DOWNLOAD_RETRY);
    const files = moduleContextFiles(options.sources, model);
    return writeStagedContext(options.destination, files, [options.sources.runtimeDir, options.sources.appDir]);
}

/** The model's blob as model/<name>, or each blob under its folder path as model/<folder>/<rest>. */
async function downloadModel(model: StagedModel, fetchImpl: typeof fetch, policy: RetryPolicy): Promise<StagedFiles> {
    const id = `${model.name}:${model.version}`;
    const base = model.path.replace(/\/+$/, "");
    const name = base.split("/").pop() ?? base;
    const get = (blob: string) =>
        fetchBlob(
            blobUrl(model.blobEndpoint, model.containerName, blob, model.sasToken),
            blobUrl(model.blobEndpoint, model.containerName, blob, ""),
            id,
            fetchImpl,
            policy,
            model.sasToken,
        );
    const files: StagedFiles = new Map();
    const single = await get(base);
    if (single !== undefined) {
        files.set(`${MODEL_DIR_IN_CONTEXT}/${name}`, { content: single, mode: 0o644 });
        return files;
    }
    const listing = await fetchBlob(
        listUrl(model, `${base}/`, model.sasToken),
        listUrl(model, `${base}/`, ""),
        id,
        fetchImpl,
        policy,
        model.sasToken,
    );
    const blobs = [...(listing?.toString("utf8") ?? "").matchAll(/<Blob>\s*<Name>([^<]*)<\/Name>/g)].map((m) => decodeXml(m[1]));
    for (const blob of blobs) {
        const content = await get(blob);
        if (content !== undefined) files.set(`${MODEL_DIR_IN_CONTEXT}/${name}/${blob.slice(base.length + 1)}`, { content, mode: 0o644 });
    }
    if (files.size === 0)
        throw new ModelDownloadError(
            id,
            blobUrl(model.blobEndpoint, model.containerName, base, ""),
            404,
            `model ${id}: no blob ${base} and none under ${base}/ in container ${model.containerName} (HTTP 404); check the version's modelUri`,
        );
    return files;
}

/** List Blobs under a prefix (the SAS needs list permission); one page holds 5000 blobs, more than a model folder. */
function listUrl(model: StagedModel, prefix: string, sasToken: string): string {
    const endpoint = model.blobEndpoint.endsWith("/") ? model.blobEndpoint : `${model.blobEndpoint}/`;
    const query = sasToken.replace(/^\?/, "");
    return `${endpoint}${encodeURIComponent(model.containerName)}?restype=container&comp=list&prefix=${encodeURIComponent(prefix)}${query ? `&${query}` : ""}`;
}

function decodeXml(text: string): string {
    return text.replace(/&(lt|gt|quot|apos|amp);/g, (_, e: string) => ({ lt: "<", gt: ">", quot: '"', apos: "'", amp: "&" })[e]!);
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
                    if (Number(response.headers.get("content-length")) > MAX_BLOB_BYTES) {
                        throw new ModelDownloadError(
                            id,
                            shown,
                            200,
                            `model ${id}: ${shown} is larger than ${MAX_BLOB_BYTES} bytes, more than one download can hold`,
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
    // A folder is listed only after the GET of its path answered 404, which the SAS was allowed to ask: a refused
    // listing is about listing. A blob SAS cannot list at all, and a container SAS needs the list permission.
    const folder =
        "the model's path is not a blob, so it is downloaded as a folder, and listing its blobs needs a container SAS (sr=c) with read and list (rl) permissions";
    if (new URL(shownUrl).searchParams.get("comp") === "list") {
        if (sas.get("sr") === "b") return `the SAS is a blob SAS (sr=b), which cannot list: ${folder}`;
        if (errorCode === "AuthorizationPermissionMismatch" || (permissions && !permissions.includes("l")))
            return `the SAS does not grant list permission (sp=${permissions}): ${folder}`;
    }
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
