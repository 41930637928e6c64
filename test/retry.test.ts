import * as assert from "assert";
import { describeHubError, HUB_RETRY_RULES } from "../components/iot/hubRetry";
import { Clock, RetriesExhaustedError, withRetry } from "../components/shared";

const httpError = (statusCode: number, headers: Record<string, string> = {}) =>
    Object.assign(new Error(`status ${statusCode}`), { response: { statusCode, headers } });

/** A clock whose sleeps pass at once and are recorded. */
function simulatedClock(): Clock & { waits: number[] } {
    let now = 0;
    const waits: number[] = [];
    return { waits, now: () => now, sleep: async (ms) => void (waits.push(ms), (now += ms)) };
}

describe("retry with IoT Hub's rules", () => {
    it("treats 429, 5xx and dropped connections as transient, other statuses as final", () => {
        const isTransient = HUB_RETRY_RULES.isTransient;
        assert.ok(isTransient(httpError(429)));
        assert.ok(isTransient(httpError(503)));
        assert.ok(isTransient(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" })));
        assert.ok(!isTransient(httpError(400)));
        assert.ok(!isTransient(httpError(404)));
        assert.ok(!isTransient(httpError(412)));
    });

    it("reads Retry-After in seconds or as an HTTP date", () => {
        const retryAfterMs = HUB_RETRY_RULES.retryAfterMs;
        assert.strictEqual(retryAfterMs(httpError(429, { "retry-after": "7" }), Date.now()), 7000);
        assert.strictEqual(retryAfterMs(httpError(429, { "retry-after": new Date(60_000).toUTCString() }), 0), 60_000);
        assert.strictEqual(retryAfterMs(httpError(429), Date.now()), undefined);
    });

    it("waits at least Retry-After, with jittered exponential backoff otherwise", async () => {
        const clock = simulatedClock();
        const failures = [httpError(429, { "retry-after": "2" }), httpError(503), httpError(503)];
        const attempt = async () => {
            const failure = failures.shift();
            if (failure) throw failure;
            return "done";
        };
        const result = await withRetry("op", attempt, HUB_RETRY_RULES, {
            baseDelayMs: 100,
            maxDelayMs: 10_000,
            deadlineMs: 60_000,
            random: () => 0.5,
            clock,
        });
        assert.strictEqual(result, "done");
        assert.deepStrictEqual(clock.waits, [2000, 100, 200]);
    });

    it("throws a final error at once, without retrying", async () => {
        let calls = 0;
        const attempt = async () => {
            calls++;
            throw httpError(404);
        };
        await assert.rejects(withRetry("op", attempt, HUB_RETRY_RULES), /status 404/);
        assert.strictEqual(calls, 1);
    });

    it("gives up with a clear error once the deadline would pass, on the injected clock", async () => {
        const clock = simulatedClock();
        const attempt = async () => {
            throw httpError(503);
        };
        await assert.rejects(
            withRetry("apply to edge-1", attempt, HUB_RETRY_RULES, {
                baseDelayMs: 1000,
                maxDelayMs: 1000,
                deadlineMs: 5000,
                random: () => 1,
                clock,
            }),
            (error: unknown) =>
                error instanceof RetriesExhaustedError &&
                error.attempts === 6 &&
                /apply to edge-1: IoT Hub still failing after 6 attempts \(HTTP 503/.test(error.message),
        );
        assert.strictEqual(clock.waits.length, 5);
    });

    it("asks the rules it is given, so another service's failures retry by their own rules", async () => {
        let calls = 0;
        const rules = {
            ...HUB_RETRY_RULES,
            service: "blob storage",
            isTransient: (error: unknown) => (error as { status?: number }).status === 500,
        };
        const attempt = async () => {
            calls++;
            if (calls < 3) throw Object.assign(new Error("busy"), { status: 500 });
            return calls;
        };
        assert.strictEqual(
            await withRetry("get blob", attempt, rules, { baseDelayMs: 1, maxDelayMs: 1, deadlineMs: 1000, clock: simulatedClock() }),
            3,
        );
    });

    it("never repeats a shared access signature or key in an error description", () => {
        const error = new Error("401 for SharedAccessSignature sr=hub&sig=abc123 and SharedAccessKey=c2VjcmV0");
        assert.doesNotMatch(describeHubError(error), /abc123|c2VjcmV0/);
    });
});
