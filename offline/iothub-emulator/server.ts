/**
 * The HTTP front of the emulators (this IoT Hub's and the Device Provisioning Service's, ../dps-emulator). Every
 * request goes through the same pipeline:
 *   log → read body → (latency) → swagger check → authorization → fault decision → handler → respond (or drop).
 * Faults other than dropAfterCommit are decided before the handler runs, so a faulted request changes nothing.
 * What differs per service comes in EmulatorServerParts: the matcher, how a request is authorized, the operations
 * and how an error is worded (IoT Hub's `{"Message": "ErrorCode:..."}` unless told otherwise).
 */
import * as http from "http";
import { AddressInfo } from "net";
import { FaultInjector } from "./fault-injector";
import { HubError, hubErrorBody } from "./hub-errors";
import { OperationRequest, OperationResponse, OperationTable } from "./operations";
import { RequestLogEntry, RequestStats } from "./request-stats";
import { MatchedRequest, RequestMatcher, SpecViolation } from "./swagger-validator";

export interface Violation {
    method: string;
    path: string;
    operationId?: string;
    message: string;
}

export interface EmulatorServerParts {
    /** The swagger validator, or routing alone when the emulator runs without the swagger. */
    validator: RequestMatcher;
    /** Throws a HubError (401) unless the request carries valid credentials; runs once the route is known. */
    authorize: (request: http.IncomingMessage, matched: MatchedRequest) => void;
    operations: OperationTable;
    faults: FaultInjector;
    stats: RequestStats;
    violations: Violation[];
    /** Read per request so tests can change it while the emulator runs. */
    latencyMs: () => number;
    /** Runs after every request that may have changed state: deployments reconcile, simulated agents report. */
    settle: () => void;
    /** The body and headers of an error answer; default IoT Hub's (hub-errors.ts). */
    errorResponse?: (error: HubError) => OperationResponse;
    /** Let the process exit while the server runs: the listening socket and every accepted connection are unref'd. */
    unref?: boolean;
}

export async function listenOnLoopback(parts: EmulatorServerParts): Promise<{ server: http.Server; port: number }> {
    const server = http.createServer((request, response) => {
        serve(parts, request, response).catch((error: unknown) => {
            // Only reached if the client went away mid-request or a handler has a bug; answer if still possible.
            if (!response.headersSent && !response.destroyed) {
                send(response, errorOf(parts, new HubError(500, "ServerError", String(error))));
            }
        });
    });
    await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, "127.0.0.1", resolve);
    });
    if (parts.unref) {
        server.unref();
        server.on("connection", (socket) => socket.unref());
    }
    return { server, port: (server.address() as AddressInfo).port };
}

async function serve(parts: EmulatorServerParts, request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    const method = request.method ?? "GET";
    const entry = parts.stats.begin(method, url.pathname);
    response.on("close", () => parts.stats.end(entry, response.headersSent ? response.statusCode : undefined));

    const body = await readBody(request);
    const latency = parts.latencyMs();
    if (latency > 0) await new Promise((resolve) => setTimeout(resolve, latency));

    let matched;
    try {
        matched = parts.validator.validate({ method, pathname: url.pathname, query: url.searchParams, headers: request.headers, body });
    } catch (error) {
        // Routing alone (no swagger) answers an unknown route or a body that is not JSON as the service would.
        if (error instanceof HubError) {
            send(response, errorOf(parts, error));
            return;
        }
        if (!(error instanceof SpecViolation)) throw error;
        recordViolation(parts, entry, error);
        send(response, errorOf(parts, new HubError(400, "ArgumentInvalid", `Swagger violation: ${error.message}`)));
        return;
    }
    parts.stats.identify(entry, matched.operationId);

    try {
        parts.authorize(request, matched);
    } catch (error) {
        if (!(error instanceof HubError)) throw error;
        send(response, errorOf(parts, error));
        return;
    }

    const fault = parts.faults.next(matched.operationId);
    if (fault) parts.stats.fault(entry, fault);
    if (fault === "drop") {
        request.socket.destroy();
        return;
    }
    if (fault === "throttle") {
        const throttled = errorOf(parts, new HubError(429, "ThrottlingException", "Too many requests"));
        send(response, { ...throttled, headers: { ...throttled.headers, "Retry-After": String(parts.faults.retryAfterSeconds) } });
        return;
    }
    if (fault === "unavailable") {
        send(response, errorOf(parts, new HubError(503, "ServiceUnavailable", "Service temporarily unavailable")));
        return;
    }

    const result = await runHandler(parts, matched.operationId, {
        pathParameters: matched.pathParameters,
        query: url.searchParams,
        headers: request.headers,
        body: matched.body,
    });
    if (fault === "dropAfterCommit") {
        request.socket.destroy();
        return;
    }
    send(response, result);
}

async function runHandler(parts: EmulatorServerParts, operationId: string, request: OperationRequest): Promise<OperationResponse> {
    const handler = parts.operations[operationId];
    if (!handler) return errorOf(parts, new HubError(501, "FeatureNotSupported", `emulator does not implement ${operationId}`));
    try {
        return await handler.handle(request);
    } catch (error) {
        if (error instanceof HubError) return errorOf(parts, error);
        throw error;
    } finally {
        // Runs on failure too: a bulk request can fail some devices after changing others.
        if (handler.mutates) parts.settle();
    }
}

function recordViolation(parts: EmulatorServerParts, entry: RequestLogEntry, violation: SpecViolation): void {
    entry.violation = violation.message;
    parts.violations.push({ method: entry.method, path: entry.path, operationId: violation.operationId, message: violation.message });
}

function errorOf(parts: EmulatorServerParts, error: HubError): OperationResponse {
    return (parts.errorResponse ?? hubErrorResponse)(error);
}

function hubErrorResponse(error: HubError): OperationResponse {
    return { status: error.status, body: hubErrorBody(error.code, error.message), headers: { "IotHub-ErrorCode": error.code } };
}

function send(response: http.ServerResponse, result: OperationResponse): void {
    const headers: Record<string, string> = { ...result.headers };
    if (result.body === undefined) {
        response.writeHead(result.status, headers).end();
        return;
    }
    const text = JSON.stringify(result.body);
    headers["Content-Type"] = "application/json; charset=utf-8";
    headers["Content-Length"] = String(Buffer.byteLength(text));
    response.writeHead(result.status, headers).end(text);
}

function readBody(request: http.IncomingMessage): Promise<string> {
    return new Promise((resolve, reject) => {
        const chunks: Buffer[] = [];
        request.on("data", (chunk: Buffer) => chunks.push(chunk));
        request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
        request.on("error", reject);
    });
}
