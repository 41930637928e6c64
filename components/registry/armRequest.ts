// Azure Resource Manager requests for the two registry-token operations azure-native has no resource or function
// for: the registry's generateCredentials action (the only way a token gets a password: its `value` is read-only
// in the API) and the token PATCH that drops a password (as `az acr token credential delete` does). Over fetch, with
// ARM's retry rules and its long-running-operation protocol (202 + Location, or Azure-AsyncOperation). The bearer
// token is azure-native's own (authorization.getClientToken), so these calls run as the identity that deploys
// everything else. Imported by the dynamic provider alone: single files only, no face.
import { redactCredentials } from "../shared/redact";
import {
    Clock,
    DEFAULT_RETRY_POLICY,
    parseRetryAfter,
    REAL_CLOCK,
    RetryPolicy,
    RetryRules,
    TRANSIENT_NETWORK_CODES,
    withRetry,
} from "../shared/retry";

/** Azure Resource Manager of the public cloud, where getClientToken's default audience points. */
export const ARM_ENDPOINT = "https://management.azure.com";
/** The API version azure-native 3.28.0 uses for registry tokens and scope maps. */
export const TOKENS_API_VERSION = "2024-11-01-preview";

/** The part of fetch these calls use; tests and the offline engine pass one that answers as ARM would. */
export type ArmFetch = (
    url: string,
    init: { method: string; headers: Record<string, string>; body?: string; signal?: AbortSignal },
) => Promise<Response>;

export interface ArmSession {
    /** Bearer token for ARM; never logged, never in an error message. */
    bearerToken: string;
    fetch: ArmFetch;
    retry?: RetryPolicy;
    clock?: Clock;
}

export interface ArmResponse {
    status: number;
    headers: Headers;
    body: unknown;
}

/** ARM refused a request: its HTTP status, error code and message (never the bearer token). */
export class ArmError extends Error {
    constructor(
        readonly operation: string,
        readonly status: number | undefined,
        readonly code: string,
        detail: string,
        readonly retryAfter?: string | null,
        readonly networkCode?: string,
    ) {
        super(`${operation}: ${status !== undefined ? `HTTP ${status} ` : ""}${code}${detail ? `: ${detail}` : ""}`);
        this.name = "ArmError";
    }
}

export const ARM_RETRY_RULES: RetryRules = {
    service: "Azure Resource Manager",
    isTransient: (error) => {
        if (!(error instanceof ArmError)) return false;
        if (error.status === undefined) return TRANSIENT_NETWORK_CODES.has(error.networkCode ?? "");
        return error.status === 429 || error.status >= 500;
    },
    retryAfterMs: (error, now) => parseRetryAfter((error as ArmError).retryAfter, now),
    describe: (error) => redactCredentials((error as Error).message ?? String(error)),
    advice: "try again later (Azure status: https://azure.status.microsoft/)",
};

// Long-running operations of a registry token finish in seconds; this is the bound on a stuck one.
const OPERATION_DEADLINE_MS = 10 * 60_000;
const DEFAULT_POLL_MS = 2_000;
const REQUEST_TIMEOUT_MS = 60_000;

/** One request (a path under ARM, or an ARM URL it returned), retried on throttling, 5xx and dropped connections. */
export function armRequest(session: ArmSession, method: string, pathOrUrl: string, body?: unknown): Promise<ArmResponse> {
    const url = armUrl(pathOrUrl);
    const operation = `${method} ${new URL(url).pathname}`;
    return withRetry(
        operation,
        async () => {
            let response: Response;
            try {
                response = await session.fetch(url, {
                    method,
                    headers: {
                        Authorization: `Bearer ${session.bearerToken}`,
                        ...(body !== undefined && { "Content-Type": "application/json" }),
                    },
                    ...(body !== undefined && { body: JSON.stringify(body) }),
                    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
                });
            } catch (error) {
                // A request that timed out is retried like a dropped connection (a repeated generateCredentials only
                // mints another password, and the last one returned is the one kept).
                const cause = (error as { cause?: { code?: string } }).cause;
                const timedOut = (error as Error).name === "TimeoutError";
                throw new ArmError(
                    operation,
                    undefined,
                    "network failure",
                    redactCredentials(String((error as Error).message ?? error), session.bearerToken),
                    null,
                    timedOut ? "ETIMEDOUT" : (cause?.code ?? (error as { code?: string }).code),
                );
            }
            const text = await response.text();
            const parsed = parseJson(text);
            if (!response.ok) {
                const armError = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
                throw new ArmError(
                    operation,
                    response.status,
                    armError?.code ?? response.statusText ?? "error",
                    redactCredentials(armError?.message ?? "", session.bearerToken),
                    response.headers.get("retry-after"),
                );
            }
            return { status: response.status, headers: response.headers, body: parsed };
        },
        ARM_RETRY_RULES,
        session.retry ?? DEFAULT_RETRY_POLICY,
    );
}

/**
 * A request that may be a long-running operation, to its end: the final body. An Azure-AsyncOperation header is
 * polled until the operation succeeds (then the resource, or a POST's Location, is read); a 202 with only a
 * Location is polled until it stops answering 202. Waits follow Retry-After.
 */
export async function armOperation(session: ArmSession, method: string, path: string, body?: unknown): Promise<unknown> {
    const clock = session.clock ?? session.retry?.clock ?? REAL_CLOCK;
    const started = clock.now();
    const first = await armRequest(session, method, path, body);
    const asyncOperation = first.headers.get("azure-asyncoperation");
    const location = first.headers.get("location");
    if (!asyncOperation && first.status !== 202) return first.body;
    let last = first;
    const waitAndPoll = async (url: string) => {
        const wait = parseRetryAfter(last.headers.get("retry-after"), clock.now()) ?? DEFAULT_POLL_MS;
        if (clock.now() - started + wait > OPERATION_DEADLINE_MS) {
            throw new ArmError(
                `${method} ${new URL(armUrl(path)).pathname}`,
                undefined,
                "operation timed out",
                `not finished after ${OPERATION_DEADLINE_MS / 60_000} minutes`,
            );
        }
        await clock.sleep(wait);
        last = await armRequest(session, "GET", url);
        return last;
    };
    if (asyncOperation) {
        for (;;) {
            const poll = await waitAndPoll(asyncOperation);
            const status = String((poll.body as { status?: string } | undefined)?.status ?? "");
            if (/^succeeded$/i.test(status)) break;
            if (/^(failed|canceled|cancelled)$/i.test(status)) {
                const error = (poll.body as { error?: { code?: string; message?: string } }).error;
                throw new ArmError(
                    `${method} ${new URL(armUrl(path)).pathname}`,
                    undefined,
                    error?.code ?? status,
                    redactCredentials(error?.message ?? "", session.bearerToken),
                );
            }
        }
        if (method === "POST") return location ? (await armRequest(session, "GET", location)).body : first.body;
        return (await armRequest(session, "GET", path)).body;
    }
    if (!location) return first.body;
    while ((await waitAndPoll(location)).status === 202);
    return last.body;
}

/** The bearer token goes to ARM only: an operation URL on another host is refused, not followed. */
function armUrl(pathOrUrl: string): string {
    if (!/^https?:\/\//i.test(pathOrUrl)) return `${ARM_ENDPOINT}${pathOrUrl}`;
    if (new URL(pathOrUrl).origin !== new URL(ARM_ENDPOINT).origin)
        throw new Error(`refusing to send an ARM token to ${new URL(pathOrUrl).origin}`);
    return pathOrUrl;
}

function parseJson(text: string): unknown {
    if (!text) return undefined;
    try {
        return JSON.parse(text);
    } catch {
        return undefined;
    }
}
