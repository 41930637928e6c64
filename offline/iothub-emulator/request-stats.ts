/** Counters and a log of every request the emulator served, for assertions and benchmarks. */
import { FAULT_KINDS, FaultKind } from "./fault-injector";

export interface RequestLogEntry {
    sequence: number;
    method: string;
    path: string;
    /** Swagger operationId, once the request matched the spec. */
    operationId?: string;
    /** HTTP status sent; undefined while in flight and for dropped connections. */
    status?: number;
    fault?: FaultKind;
    violation?: string;
    startedAt: number;
    durationMs?: number;
}

export interface EmulatorStats {
    totalRequests: number;
    requestsPerOperation: Record<string, number>;
    faultsInjected: Record<FaultKind, number>;
    inFlight: number;
    /** Most requests being served at the same moment since the last reset, e.g. to check a client's concurrency cap. */
    maxInFlight: number;
}

export class RequestStats {
    readonly log: RequestLogEntry[] = [];
    private stats = RequestStats.empty(0);

    private static empty(inFlight: number): EmulatorStats {
        const faultsInjected = Object.fromEntries(FAULT_KINDS.map((kind) => [kind, 0])) as Record<FaultKind, number>;
        return { totalRequests: 0, requestsPerOperation: {}, faultsInjected, inFlight, maxInFlight: inFlight };
    }

    begin(method: string, path: string): RequestLogEntry {
        this.stats.totalRequests += 1;
        this.stats.inFlight += 1;
        this.stats.maxInFlight = Math.max(this.stats.maxInFlight, this.stats.inFlight);
        const entry: RequestLogEntry = { sequence: this.stats.totalRequests, method, path, startedAt: Date.now() };
        this.log.push(entry);
        return entry;
    }

    identify(entry: RequestLogEntry, operationId: string): void {
        entry.operationId = operationId;
        this.stats.requestsPerOperation[operationId] = (this.stats.requestsPerOperation[operationId] ?? 0) + 1;
    }

    fault(entry: RequestLogEntry, kind: FaultKind): void {
        entry.fault = kind;
        this.stats.faultsInjected[kind] += 1;
    }

    end(entry: RequestLogEntry, status: number | undefined): void {
        this.stats.inFlight -= 1;
        entry.status = status;
        entry.durationMs = Date.now() - entry.startedAt;
    }

    snapshot(): EmulatorStats {
        return structuredClone(this.stats);
    }

    /** Clears counters and log; requests still in flight keep counting towards the new maxInFlight. */
    reset(): void {
        this.log.length = 0;
        this.stats = RequestStats.empty(this.stats.inFlight);
    }
}
