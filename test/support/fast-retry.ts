// A retry policy for tests: real backoff logic, with waits scaled down so suites stay fast.
import type { RetryPolicy } from "../../components/shared/retry";

export const FAST_RETRY: RetryPolicy = {
    baseDelayMs: 1,
    maxDelayMs: 20,
    deadlineMs: 10_000,
    clock: { now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 20))) },
};
