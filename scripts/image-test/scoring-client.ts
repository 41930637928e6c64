// The scoring module's HTTP contract as a caller sees it (Azure ML's: GET / answers Healthy, POST /score), over one
// kept-alive connection, as edgeHub-fed code or a gateway calling the module would.
import * as http from "http";

export interface Answer {
    status: number;
    headers: http.IncomingHttpHeaders;
    text: string;
    /** The body parsed as JSON, or undefined when it is not JSON. */
    json: unknown;
}

export class ScoringClient {
    // One socket, kept alive.
    private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

    constructor(
        readonly host: string,
        readonly port: number,
    ) {}

    request(method: string, path: string, body?: string | Buffer): Promise<Answer> {
        return new Promise((resolve, reject) => {
            const request = http.request(
                {
                    host: this.host,
                    port: this.port,
                    method,
                    path,
                    agent: this.agent,
                    timeout: 30_000,
                    headers: body === undefined ? {} : { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) },
                },
                (response) => {
                    const chunks: Buffer[] = [];
                    response.on("data", (chunk: Buffer) => chunks.push(chunk));
                    response.on("end", () => {
                        const text = Buffer.concat(chunks).toString("utf8");
                        let json: unknown;
                        try {
                            json = JSON.parse(text);
                        } catch {
                            json = undefined;
                        }
                        resolve({ status: response.statusCode ?? 0, headers: response.headers, text, json });
                    });
                },
            );
            request.on("timeout", () => request.destroy(new Error(`${method} ${path}: no answer in 30 s`)));
            request.on("error", reject);
            request.end(body);
        });
    }

    /** Milliseconds until GET / first answers 200, polling every 10 ms from `since`. */
    async firstHealthyAnswer(since: number, timeoutMs: number): Promise<number> {
        while (Date.now() - since < timeoutMs) {
            const probe = new ScoringClient(this.host, this.port);
            const answer = await probe.request("GET", "/").catch(() => undefined);
            probe.close();
            if (answer?.status === 200) return Date.now() - since;
            await new Promise((resolve) => setTimeout(resolve, 10));
        }
        throw new Error(`GET http://${this.host}:${this.port}/ did not answer 200 within ${timeoutMs / 1000} s`);
    }

    /** Latencies (ms) of `count` POST /score of one body, each answered 200. */
    async latencies(body: string, count: number): Promise<number[]> {
        const latencies: number[] = [];
        for (let i = 0; i < count; i++) {
            const started = process.hrtime.bigint();
            const answer = await this.request("POST", "/score", body);
            latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
            if (answer.status !== 200) throw new Error(`POST /score answered ${answer.status}: ${answer.text.slice(0, 200)}`);
        }
        return latencies;
    }

    close(): void {
        this.agent.destroy();
    }
}

export function percentile(values: number[], p: number): number {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** Deep equality with numbers compared to a relative and absolute tolerance (another machine's float kernels). */
export function sameAnswer(actual: unknown, expected: unknown, tolerance = 1e-6): boolean {
    if (typeof actual === "number" && typeof expected === "number")
        return actual === expected || Math.abs(actual - expected) <= tolerance * Math.max(1, Math.abs(expected));
    if (Array.isArray(actual) && Array.isArray(expected))
        return actual.length === expected.length && actual.every((value, i) => sameAnswer(value, expected[i], tolerance));
    if (actual && expected && typeof actual === "object" && typeof expected === "object") {
        const keys = Object.keys(expected as object);
        return (
            keys.length === Object.keys(actual as object).length &&
            keys.every((key) => sameAnswer((actual as Record<string, unknown>)[key], (expected as Record<string, unknown>)[key], tolerance))
        );
    }
    return actual === expected;
}
