import * as assert from "assert";
import { RetriesExhaustedError, describeHubError, isTransient, retryAfterMs, withRetry } from "../components/shared/retry";

const httpError = (statusCode: number, headers: Record<string, string> = {}) =>
    Object.assign(new Error(`status ${statusCode}`), { response: { statusCode, headers } });

describe("IoT Hub retry policy", () => {
    it("treats 429, 5xx and dropped connections as transient, other statuses as final", () => {
        assert.ok(isTransient(httpError(429)));
        assert.ok(isTransient(httpError(503)));
        assert.ok(isTransient(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" })));
        assert.ok(!isTransient(httpError(400)));
        assert.ok(!isTransient(httpError(404)));
        assert.ok(!isTransient(httpError(412)));
    });

    it("reads Retry-After in seconds or as an HTTP date", () => {
        assert.strictEqual(retryAfterMs(httpError(429, { "retry-after": "7" })), 7000);
        assert.strictEqual(retryAfterMs(httpError(429, { "retry-after": new Date(60_000).toUTCString() }), 0), 60_000);
        assert.strictEqual(retryAfterMs(httpError(429)), undefined);
    });

    it("waits at least Retry-After, with jittered exponential backoff otherwise", async () => {
        const waits: number[] = [];
        const failures = [httpError(429, { "retry-after": "2" }), httpError(503), httpError(503)];
        const result = await withRetry("op", async () => {
            const failure = failures.shift();
            if (failure) throw failure;
            return "done";
        }, { baseDelayMs: 100, maxDelayMs: 10_000, deadlineMs: 60_000, random: () => 0.5, sleep: async (ms) => void waits.push(ms) });
        assert.strictEqual(result, "done");
        assert.deepStrictEqual(waits, [2000, 100, 200]);
    });

    it("throws a final error at once, without retrying", async () => {
        let calls = 0;
        await assert.rejects(withRetry("op", async () => { calls++; throw httpError(404); }), /status 404/);
        assert.strictEqual(calls, 1);
    });

    it("gives up with a clear error once the deadline would pass", async () => {
        let clock = 0;
        const realNow = Date.now;
        Date.now = () => clock;
        try {
            await assert.rejects(
                withRetry("apply to edge-1", async () => { throw httpError(503); }, { baseDelayMs: 1000, maxDelayMs: 1000, deadlineMs: 5000, random: () => 1, sleep: async (ms) => void (clock += ms) }),
                (error: unknown) => error instanceof RetriesExhaustedError && error.attempts === 6 && /apply to edge-1: IoT Hub still failing after 6 attempts \(HTTP 503/.test(error.message),
            );
        } finally {
            Date.now = realNow;
        }
    });

    it("never repeats a shared access signature or key in an error description", () => {
        const error = new Error("401 for SharedAccessSignature sr=hub&sig=abc123 and SharedAccessKey=c2VjcmV0");
        assert.doesNotMatch(describeHubError(error), /abc123|c2VjcmV0/);
    });
});
