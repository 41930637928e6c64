/**
 * What every local service emulator has, this IoT Hub's and the Device Provisioning Service's (../dps-emulator):
 * loopback servers sharing one request pipeline (server.ts) with one fault plan, one request log and one list of
 * swagger violations, a keep-alive agent for the SDK clients bound to them, and stop().
 */
import * as http from "http";
import { FaultInjector, FaultPlan } from "./fault-injector";
import { EmulatorStats, RequestLogEntry, RequestStats } from "./request-stats";
import { EmulatorServerParts, Violation, listenOnLoopback } from "./server";
import { RequestMatcher } from "./swagger-validator";

export interface LoopbackEmulatorOptions {
    /** Let the process exit while the emulator runs (an instance shared by a process and never stopped). */
    unref?: boolean;
    /** Delay before each request is handled, e.g. to make client concurrency visible in `stats.maxInFlight`. */
    latencyMs?: number;
    faults?: FaultPlan;
}

/** What a service's server needs beyond what the emulator shares across its servers. */
export type ServiceParts = Omit<EmulatorServerParts, "faults" | "stats" | "violations" | "latencyMs" | "unref">;

export abstract class LoopbackEmulator {
    /** Fault plan for the next requests: `emulator.faults.configure({ script: ["throttle"] })`, `emulator.faults.clear()`. */
    readonly faults = new FaultInjector();
    /** Delay before each request is handled; can be changed between requests. */
    latencyMs: number;
    // One keep-alive agent for every SDK client bound to this emulator, destroyed on stop() so no socket outlives it.
    protected readonly agent = new http.Agent({ keepAlive: true });
    /** The swagger validator, or routing alone; set by the subclass before it listens. */
    protected matcher?: RequestMatcher;
    private readonly requestStats = new RequestStats();
    private readonly recordedViolations: Violation[] = [];
    private readonly unref: boolean;
    private servers: http.Server[] = [];

    protected constructor(options: LoopbackEmulatorOptions) {
        if (options.faults) this.faults.configure(options.faults);
        this.latencyMs = options.latencyMs ?? 0;
        this.unref = options.unref ?? false;
    }

    /** Starts a server on 127.0.0.1 (an ephemeral port, returned) with the emulator's faults, records and latency. */
    protected async listen(parts: ServiceParts): Promise<number> {
        const { server, port } = await listenOnLoopback({
            ...parts,
            faults: this.faults,
            stats: this.requestStats,
            violations: this.recordedViolations,
            latencyMs: () => this.latencyMs,
            unref: this.unref,
        });
        this.servers.push(server);
        return port;
    }

    /** Whether requests are checked against the swagger (false only with `swagger: "if-present"` and no file). */
    get validating(): boolean {
        return this.matcher?.validates ?? false;
    }

    /** Requests that did not match the swagger (each also answered with 400). */
    get violations(): readonly Violation[] {
        return this.recordedViolations;
    }

    get requestLog(): readonly RequestLogEntry[] {
        return this.requestStats.log;
    }

    get stats(): EmulatorStats {
        return this.requestStats.snapshot();
    }

    /** Clears counters, request log and violations; the service's state stays. */
    resetRecords(): void {
        this.requestStats.reset();
        this.recordedViolations.length = 0;
    }

    async stop(): Promise<void> {
        this.agent.destroy();
        const servers = this.servers;
        this.servers = [];
        await Promise.all(
            servers.map(
                (server) =>
                    new Promise<void>((resolve, reject) => {
                        server.close((error) => (error ? reject(error) : resolve()));
                        server.closeAllConnections();
                    }),
            ),
        );
    }
}
