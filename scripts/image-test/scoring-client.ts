// The scoring module's HTTP contract as a caller sees it: GET / health and POST /score, over one kept-alive
// connection, with the tutorial's labelled recording as the messages (the rows the pytest suite scores in-process).
import * as fs from "fs";
import * as http from "http";

export interface LabelledMessage {
    message: Record<string, unknown>;
    anomaly: boolean;
}

/** Every row of temperature_data.csv as a sensor-shaped message, as scoring/reference_data.py makes them. */
export function referenceMessages(csvFile: string): LabelledMessage[] {
    const [header, ...lines] = fs
        .readFileSync(csvFile, "utf8")
        .replace(/^\uFEFF/, "")
        .trim()
        .split(/\r?\n/);
    const columns = header.split(",");
    const first = Date.UTC(2024, 0, 1);
    return lines.map((line, index) => {
        const row = Object.fromEntries(line.split(",").map((value, i) => [columns[i], Number(value)]));
        return {
            message: {
                machine: { temperature: row.machine_temperature, pressure: row.machine_pressure },
                ambient: { temperature: row.ambient_temperature, humidity: row.ambient_humidity },
                timeCreated: new Date(first + index * 1000).toISOString().replace(".000Z", "Z"),
            },
            anomaly: row.anomaly === 1,
        };
    });
}

export class ScoringClient {
    // One socket, kept alive: a caller streaming messages as edgeHub-fed code or a gateway would.
    private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

    constructor(
        readonly host: string,
        readonly port: number,
    ) {}

    request(method: string, path: string, body?: string): Promise<{ status: number; json: unknown }> {
        return new Promise((resolve, reject) => {
            const request = http.request(
                {
                    host: this.host,
                    port: this.port,
                    method,
                    path,
                    agent: this.agent,
                    timeout: 5_000,
                    headers: body === undefined ? {} : { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) },
                },
                (response) => {
                    let text = "";
                    response.on("data", (chunk: Buffer) => (text += chunk.toString()));
                    response.on("end", () => {
                        try {
                            resolve({ status: response.statusCode ?? 0, json: JSON.parse(text) });
                        } catch {
                            reject(
                                new Error(`${method} ${path}: ${response.statusCode} with a body that is not JSON: ${text.slice(0, 200)}`),
                            );
                        }
                    });
                },
            );
            request.on("timeout", () => request.destroy(new Error(`${method} ${path}: no answer in 5 s`)));
            request.on("error", reject);
            request.end(body);
        });
    }

    /** Milliseconds until GET / first answers 200, polling every 10 ms from `since`. */
    async firstHealthyAnswer(since: number, timeoutMs: number): Promise<number> {
        while (Date.now() - since < timeoutMs) {
            const answer = await new ScoringClient(this.host, this.port).request("GET", "/").catch(() => undefined);
            if (answer?.status === 200) return Date.now() - since;
            await new Promise((resolve) => setTimeout(resolve, 10));
        }
        throw new Error(`GET http://${this.host}:${this.port}/ did not answer 200 within ${timeoutMs / 1000} s`);
    }

    /** Scores each message by itself; how many verdicts match the labels, and the latencies (ms). */
    async scoreEach(messages: LabelledMessage[]): Promise<{ right: number; latencies: number[] }> {
        let right = 0;
        const latencies: number[] = [];
        for (const { message, anomaly } of messages) {
            const started = process.hrtime.bigint();
            const answer = await this.request("POST", "/score", JSON.stringify(message));
            latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
            if (answer.status !== 200) throw new Error(`POST /score answered ${answer.status}: ${JSON.stringify(answer.json)}`);
            if ((answer.json as { anomaly?: unknown }).anomaly === anomaly) right++;
        }
        return { right, latencies };
    }

    close(): void {
        this.agent.destroy();
    }
}

export function percentile(values: number[], p: number): number {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
