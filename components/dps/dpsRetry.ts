// What the Device Provisioning Service's failures mean to the retry. azure-iot-provisioning-service does not retry:
// DPS throttles service operations (429 with Retry-After), answers 5xx when busy or failing over, and connections
// drop. Its errors are azure-iot-http-base's: `response` (status, headers) and `responseBody`, DPS's
// `{ errorCode, trackingId, message }` (the SDK's own message is "Error: " and that body, as it looks for IoT Hub's
// `Message`).
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

/** HTTP status of a DPS SDK error, or undefined for a network failure. */
export const statusOf = iotSdkStatus;

/**
 * A short description of a DPS error: the status and the service's own message, never request headers (they carry
 * the SAS token); `secrets` (keys the caller holds) are scrubbed too.
 */
export function describeDpsError(error: unknown, ...secrets: string[]): string {
    const e = error as IotSdkHttpError;
    let message = e?.message ?? String(error);
    if (typeof e?.responseBody === "string") {
        try {
            const body = JSON.parse(e.responseBody) as { message?: unknown; errorCode?: unknown };
            if (typeof body.message === "string") message = body.errorCode ? `${body.message} (error ${body.errorCode})` : body.message;
        } catch {
            // Not JSON: the SDK's message stands.
        }
    }
    const status = statusOf(error);
    const clean = redactCredentials(message, ...secrets);
    return status !== undefined ? `HTTP ${status}: ${clean}` : clean;
}

export const DPS_RETRY_RULES: RetryRules = {
    service: "Device Provisioning Service",
    isTransient: isTransientIotSdkError,
    retryAfterMs: iotSdkRetryAfterMs,
    describe: (error) => describeDpsError(error),
    advice: "try again later, or check the provisioning service's health and its operations quota",
};

/** A service API call with DPS's retry rules. */
export function withDpsRetry<T>(operation: string, attempt: () => Promise<T>, policy: RetryPolicy = DEFAULT_RETRY_POLICY): Promise<T> {
    return withRetry(operation, attempt, DPS_RETRY_RULES, policy);
}
