// One retry for every service the project calls (IoT Hub's data plane, blob storage): exponential backoff with
// full jitter, never shorter than the service's Retry-After, given up at a deadline. What is worth retrying and
// how long the service asked to wait differ per service, so each caller passes its RetryRules.
import { RetriesExhaustedError } from "./errors";

/** Time as retries and rollout checks see it; tests pass a simulated one. */
export interface Clock {
    now(): number;
    sleep(ms: number): Promise<void>;
}

export const REAL_CLOCK: Clock = { now: () => Date.now(), sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)) };

export interface RetryPolicy {
    /** First backoff, doubled on each attempt. */
    baseDelayMs: number;
    /** Longest single wait (Retry-After is honoured up to this). */
    maxDelayMs: number;
    /** Give up once this much time has passed since the first attempt. */
    deadlineMs: number;
    /** Injected for tests; Math.random in production. */
    random?: () => number;
    /** Injected for tests; REAL_CLOCK in production. */
    clock?: Clock;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { baseDelayMs: 250, maxDelayMs: 20_000, deadlineMs: 180_000 };

/** What a service's failures mean to a retry. */
export interface RetryRules {
    /** The service's name in the give-up message: "IoT Hub". */
    service: string;
    /** Whether another attempt may succeed (throttling, 5xx, a dropped connection). */
    isTransient(error: unknown): boolean;
    /** The wait the service asked for (Retry-After), in milliseconds, if it asked. */
    retryAfterMs(error: unknown, now: number): number | undefined;
    /** The failure in words, free of credentials. */
    describe(error: unknown): string;
    /** What to do when the service keeps failing. */
    advice: string;
}

/** Retry-After in milliseconds, from its value in seconds or as an HTTP date. */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
    if (!value) return undefined;
    if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
    const date = Date.parse(value);
    return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Network failures that a new connection may not meet again. */
export const TRANSIENT_NETWORK_CODES = new Set([
    "ECONNRESET",
    "ECONNREFUSED",
    "ETIMEDOUT",
    "EPIPE",
    "EAI_AGAIN",
    "ENOTFOUND",
    "ESOCKETTIMEDOUT",
]);

/**
 * Runs `attempt` until it succeeds, fails with a non-transient error (thrown as is), or the deadline passes
 * (RetriesExhaustedError). Waits use full jitter (a random delay up to the exponential cap) so a fleet of retries
 * does not synchronise, and never less than the service's Retry-After.
 */
export async function withRetry<T>(
    operation: string,
    attempt: () => Promise<T>,
    rules: RetryRules,
    policy: RetryPolicy = DEFAULT_RETRY_POLICY,
): Promise<T> {
    const random = policy.random ?? Math.random;
    const clock = policy.clock ?? REAL_CLOCK;
    const started = clock.now();
    for (let attempts = 1; ; attempts++) {
        try {
            return await attempt();
        } catch (error) {
            if (!rules.isTransient(error)) throw error;
            const exponential = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempts - 1));
            const delay = Math.min(policy.maxDelayMs, Math.max(rules.retryAfterMs(error, clock.now()) ?? 0, random() * exponential));
            if (clock.now() - started + delay > policy.deadlineMs) {
                const message = `${operation}: ${rules.service} still failing after ${attempts} attempts (${rules.describe(error)}); ${rules.advice}`;
                throw new RetriesExhaustedError(operation, attempts, error, message);
            }
            await clock.sleep(delay);
        }
    }
}

/**
 * An error of the azure-iot-* SDKs' HTTP transport (azure-iot-http-base, under azure-iothub and
 * azure-iot-provisioning-service alike): the HTTP answer, if any, or a network failure's code.
 */
export interface IotSdkHttpError {
    code?: string;
    message?: string;
    responseBody?: unknown;
    response?: { statusCode?: number; headers?: Record<string, string | string[] | undefined> };
}

/** HTTP status of an azure-iot-* SDK error, or undefined for a network failure. */
export function iotSdkStatus(error: unknown): number | undefined {
    return (error as IotSdkHttpError)?.response?.statusCode;
}

/** What both services throttle or fail with for a while: 429, 5xx, and dropped or refused connections. */
export function isTransientIotSdkError(error: unknown): boolean {
    const status = iotSdkStatus(error);
    if (status !== undefined) return status === 429 || status >= 500;
    const e = error as IotSdkHttpError;
    return TRANSIENT_NETWORK_CODES.has(e?.code ?? "") || /socket hang up/i.test(e?.message ?? "");
}

/** The Retry-After of an azure-iot-* SDK error's answer, in milliseconds from `now`. */
export function iotSdkRetryAfterMs(error: unknown, now: number): number | undefined {
    const header = (error as IotSdkHttpError)?.response?.headers?.["retry-after"];
    return parseRetryAfter(Array.isArray(header) ? header[0] : header, now);
}
