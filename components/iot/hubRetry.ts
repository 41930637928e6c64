// What IoT Hub's failures mean to the retry. azure-iothub does not retry: the hub throttles per unit (429 with
// Retry-After), and a hub under load or in failover answers 5xx or drops connections.
import { redactCredentials } from "../shared/redact";
import { DEFAULT_RETRY_POLICY, parseRetryAfter, RetryPolicy, RetryRules, TRANSIENT_NETWORK_CODES, withRetry } from "../shared/retry";

interface HubError {
    code?: string;
    message?: string;
    response?: { statusCode?: number; headers?: Record<string, string | string[] | undefined> };
}

/** HTTP status of an azure-iothub error, or undefined for a network failure. */
export function statusOf(error: unknown): number | undefined {
    return (error as HubError)?.response?.statusCode;
}

/** A short description of a hub error that never includes request headers (they carry the SAS token). */
export function describeHubError(error: unknown): string {
    const status = statusOf(error);
    const message = redactCredentials((error as HubError)?.message ?? String(error));
    return status !== undefined ? `HTTP ${status}: ${message}` : message;
}

export const HUB_RETRY_RULES: RetryRules = {
    service: "IoT Hub",
    isTransient(error) {
        const status = statusOf(error);
        if (status !== undefined) return status === 429 || status >= 500;
        const e = error as HubError;
        return TRANSIENT_NETWORK_CODES.has(e?.code ?? "") || /socket hang up/i.test(e?.message ?? "");
    },
    retryAfterMs(error, now) {
        const header = (error as HubError)?.response?.headers?.["retry-after"];
        return parseRetryAfter(Array.isArray(header) ? header[0] : header, now);
    },
    describe: describeHubError,
    advice: "try again later or check the hub's units and health",
};

/** A data-plane call with the hub's retry rules. */
export function withHubRetry<T>(operation: string, attempt: () => Promise<T>, policy: RetryPolicy = DEFAULT_RETRY_POLICY): Promise<T> {
    return withRetry(operation, attempt, HUB_RETRY_RULES, policy);
}
