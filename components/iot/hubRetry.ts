// What IoT Hub's failures mean to the retry. azure-iothub does not retry: the hub throttles per unit (429 with
// Retry-After), and a hub under load or in failover answers 5xx or drops connections.
import { redactCredentials } from "../shared/redact";
import {
    DEFAULT_RETRY_POLICY,
    iotSdkRetryAfterMs,
    iotSdkStatus,
    IotSdkHttpError,
    isTransientIotSdkError,
    RetryPolicy,
    RetryRules,
    withRetry,
} from "../shared/retry";

/** HTTP status of an azure-iothub error, or undefined for a network failure. */
export const statusOf = iotSdkStatus;

/** A short description of a hub error that never includes request headers (they carry the SAS token). */
export function describeHubError(error: unknown): string {
    const status = statusOf(error);
    const message = redactCredentials((error as IotSdkHttpError)?.message ?? String(error));
    return status !== undefined ? `HTTP ${status}: ${message}` : message;
}

export const HUB_RETRY_RULES: RetryRules = {
    service: "IoT Hub",
    isTransient: isTransientIotSdkError,
    retryAfterMs: iotSdkRetryAfterMs,
    describe: describeHubError,
    advice: "try again later or check the hub's units and health",
};

/** A data-plane call with the hub's retry rules. */
export function withHubRetry<T>(operation: string, attempt: () => Promise<T>, policy: RetryPolicy = DEFAULT_RETRY_POLICY): Promise<T> {
    return withRetry(operation, attempt, HUB_RETRY_RULES, policy);
}
