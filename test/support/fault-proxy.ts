// A pass-through HTTP proxy in front of a blob service (Azurite), for what Azurite cannot do: answer 429/5xx or drop
// a connection on demand, and show which requests reached it. Everything else is forwarded untouched, so a request
// that gets through is answered (and its SAS checked) by Azurite itself.
//
//   const proxy = await startFaultProxy(azurite.endpoint);   // http://127.0.0.1:<port>/devstoreaccount1/
//   proxy.failNext(503);                                      // the next request answers 503 ServerBusy
//   proxy.dropNext();                                         // the one after loses its connection
//   ... download from proxy.endpoint ...
//   proxy.requests                                            // [{ method, path: "container/blob", status }]
//   await proxy.stop();
import { randomUUID } from "crypto";
import * as http from "http";
import { AddressInfo } from "net";

export interface ProxiedRequest {
    method: string;
    /** Decoded "container/blob" (the query, which holds the SAS, is never recorded). */
    path: string;
    /** The status answered; 0 for a dropped connection. */
    status: number;
}

export interface FaultProxy {
    /** The target endpoint with the proxy's host and port. */
    endpoint: string;
    requests: ProxiedRequest[];
    /** The next `count` requests (default 1) answer `status` with an Azure-style error (queued in call order with dropNext). */
    failNext(status: number, count?: number): void;
    /** The next `count` requests (default 1) lose their connection without an answer. */
    dropNext(count?: number): void;
    /** Stops listening; calling it again does nothing. */
    stop(): Promise<void>;
}

const FAULTS: Record<number, [string, string]> = {
    429: ["TooManyRequests", "The request was throttled."],
    500: ["InternalError", "The server encountered an internal error. Please retry the request."],
    503: ["ServerBusy", "The server is currently unable to receive requests. Please retry your request."],
};

export async function startFaultProxy(targetEndpoint: string): Promise<FaultProxy> {
    const target = new URL(targetEndpoint);
    const prefix = target.pathname;
    const requests: ProxiedRequest[] = [];
    // One queue, so faults happen in the order the test asked for them.
    const faults: Array<number | "drop"> = [];

    const server = http.createServer((request, response) => {
        const pathname = new URL(request.url ?? "/", "http://proxy").pathname;
        let shown = pathname;
        try {
            shown = pathname.startsWith(prefix) ? decodeURIComponent(pathname.slice(prefix.length)) : pathname;
        } catch {
            // recorded as sent
        }
        const entry: ProxiedRequest = { method: request.method ?? "GET", path: shown, status: 0 };
        requests.push(entry);
        const fault = faults.shift();
        if (fault === "drop") {
            request.socket.destroy();
            return;
        }
        if (fault !== undefined) {
            const [code, text] = FAULTS[fault] ?? ["InjectedFault", "Injected fault."];
            const body = `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${text}\nRequestId:${randomUUID()}</Message></Error>`;
            entry.status = fault;
            response.writeHead(fault, {
                "Content-Type": "application/xml",
                "Content-Length": Buffer.byteLength(body),
                "x-ms-error-code": code,
            });
            response.end(body);
            return;
        }
        const upstream = http.request(
            {
                host: target.hostname,
                port: target.port,
                method: request.method,
                path: request.url,
                headers: { ...request.headers, host: target.host },
            },
            (answer) => {
                entry.status = answer.statusCode ?? 0;
                response.writeHead(answer.statusCode ?? 502, answer.headers);
                answer.pipe(response);
            },
        );
        upstream.on("error", () => request.socket.destroy());
        request.pipe(upstream);
    });
    await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, "127.0.0.1", resolve);
    });
    const { port } = server.address() as AddressInfo;
    let stopped: Promise<void> | undefined;

    return {
        endpoint: `http://127.0.0.1:${port}${prefix}`,
        requests,
        failNext: (status, count = 1) => void faults.push(...Array<number>(count).fill(status)),
        dropNext: (count = 1) => void faults.push(...Array<"drop">(count).fill("drop")),
        stop() {
            stopped ??= new Promise<void>((resolve, reject) => {
                server.closeAllConnections();
                server.close((error) => (error ? reject(error) : resolve()));
            });
            return stopped;
        },
    };
}
