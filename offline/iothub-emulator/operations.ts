/** The contract between the HTTP server and the service logic: one handler per swagger operationId. */
import { IncomingHttpHeaders } from "http";
import { DeploymentStore } from "./deployment-store";
import { DeviceStore } from "./device-store";

export interface OperationRequest {
    pathParameters: Record<string, string>;
    query: URLSearchParams;
    headers: IncomingHttpHeaders;
    /** Parsed JSON body, already validated against the operation's swagger body schema. */
    body: unknown;
}

export interface OperationResponse {
    status: number;
    body?: unknown;
    headers?: Record<string, string>;
}

export interface OperationHandler {
    /** Whether the operation can change devices or configurations (deployments are reconciled afterwards). */
    mutates: boolean;
    /** IoT Hub's handlers answer at once; the DPS emulator's registration calls its linked hub, asynchronously. */
    handle(request: OperationRequest): OperationResponse | Promise<OperationResponse>;
}

export type OperationTable = Record<string, OperationHandler>;

export interface HubStores {
    devices: DeviceStore;
    deployments: DeploymentStore;
}

export function ifMatchHeader(request: OperationRequest): string | undefined {
    const value = request.headers["if-match"];
    return Array.isArray(value) ? value[0] : value;
}

export function topParameter(request: OperationRequest): number | undefined {
    const top = request.query.get("top");
    return top === null ? undefined : Number(top);
}
