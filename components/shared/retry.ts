// azure-iothub does not retry. IoT Hub throttles per unit (429 with Retry-After), and a hub under load or in
// failover answers 5xx or drops connections, so every data-plane call goes through this backoff.

export interface RetryPolicy {
    /** First backoff, doubled on each attempt. */
    baseDelayMs: number;
    /** Longest single wait (Retry-After is honoured up to this). */
    maxDelayMs: number;
    /** Give up once this much time has passed since the first attempt. */
    deadlineMs: number;
    /** Injected for tests; Math.random in production. */
    random?: () => number;
    /** Injected for tests; setTimeout in production. */
    sleep?: (ms: number) => Promise<void>;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { baseDelayMs: 250, maxDelayMs: 20_000, deadlineMs: 180_000 };

interface HubError {
    code?: string;
    message?: string;
    response?: { statusCode?: number; headers?: Record<string, string | string[] | undefined> };
}

const TRANSIENT_NETWORK_CODES = new Set(["ECONNRESET", "ECONNREFUSED", "ETIMEDOUT", "EPIPE", "EAI_AGAIN", "ENOTFOUND", "ESOCKETTIMEDOUT"]);

/** HTTP status of an azure-iothub error, or undefined for a network failure. */
export function statusOf(error: unknown): number | undefined {
    return (error as HubError)?.response?.statusCode;
}

export function isTransient(error: unknown): boolean {
    const status = statusOf(error);
    if (status !== undefined) return status === 429 || status >= 500;
    const e = error as HubError;
    return TRANSIENT_NETWORK_CODES.has(e?.code ?? "") || /socket hang up/i.test(e?.message ?? "");
}

/** Retry-After in milliseconds (seconds or an HTTP date), if the hub sent one. */
export function retryAfterMs(error: unknown, now = Date.now()): number | undefined {
    const header = (error as HubError)?.response?.headers?.["retry-after"];
    const value = Array.isArray(header) ? header[0] : header;
    if (!value) return undefined;
    if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
    const date = Date.parse(value);
    return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

export class RetriesExhaustedError extends Error {
    constructor(
        readonly operation: string,
        readonly attempts: number,
        readonly lastError: unknown,
    ) {
        super(`${operation}: IoT Hub still failing after ${attempts} attempts (${describeHubError(lastError)}); try again later or check the hub's units and health`);
        this.name = "RetriesExhaustedError";
    }
}

/** A short description of a hub error that never includes request headers (they carry the SAS token). */
export function describeHubError(error: unknown): string {
    const status = statusOf(error);
    const e = error as HubError;
    const message = (e?.message ?? String(error))
        .replace(/\bsig=[^&\s;"]*/gi, "sig=[redacted]")
        .replace(/SharedAccessKey=[^;\s"]*/gi, "SharedAccessKey=[redacted]");
    return status !== undefined ? `HTTP ${status}: ${message}` : message;
}

/**
 * Runs `attempt` until it succeeds, fails with a non-transient error (thrown as is), or the deadline passes.
 * Waits use full jitter (a random delay up to the exponential cap) so a fleet of retries does not synchronise,
 * and never less than the hub's Retry-After.
 */
export async function withRetry<T>(operation: string, attempt: () => Promise<T>, policy: RetryPolicy = DEFAULT_RETRY_POLICY): Promise<T> {
    const random = policy.random ?? Math.random;
    const sleep = policy.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    const started = Date.now();
    for (let attempts = 1; ; attempts++) {
        try {
            return await attempt();
        } catch (error) {
            if (!isTransient(error)) throw error;
            const exponential = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempts - 1));
            const delay = Math.min(policy.maxDelayMs, Math.max(retryAfterMs(error) ?? 0, random() * exponential));
            if (Date.now() - started + delay > policy.deadlineMs) throw new RetriesExhaustedError(operation, attempts, error);
            await sleep(delay);
        }
    }
}
