/**
 * Decides, per request, whether the emulator misbehaves the way a busy or flaky service does:
 *  - throttle:        429 with a Retry-After header, nothing changed;
 *  - unavailable:     503, nothing changed;
 *  - drop:            the connection is destroyed without a response, nothing changed;
 *  - dropAfterCommit: the request takes effect, then the connection is destroyed (the client cannot tell it worked).
 * Faults come from a script (consumed in order) and then from per-kind rates drawn from a seeded PRNG, so a run with
 * the same seed and the same request sequence injects the same faults.
 */
export type FaultKind = "throttle" | "unavailable" | "drop" | "dropAfterCommit";
export type ScriptStep = FaultKind | "pass";

export const FAULT_KINDS: readonly FaultKind[] = ["throttle", "unavailable", "drop", "dropAfterCommit"];

export interface FaultPlan {
    /** Probability per eligible request of each fault kind; the sum must not exceed 1. */
    rates?: Partial<Record<FaultKind, number>>;
    /** PRNG seed for `rates` (default 1). */
    seed?: number;
    /** Outcomes for the next eligible requests, in order, before `rates` apply. */
    script?: readonly ScriptStep[];
    /** Only requests to these swagger operationIds (e.g. "Devices_CreateOrUpdateIdentity") are eligible; default all. */
    operations?: readonly string[];
    /** Retry-After seconds sent with a throttle fault (default 1). */
    retryAfterSeconds?: number;
}

/** mulberry32: tiny, fast, good enough to spread faults evenly, and fully determined by its seed. */
function seededRandom(seed: number): () => number {
    let state = seed >>> 0;
    return () => {
        state = (state + 0x6d2b79f5) >>> 0;
        let t = state;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

export class FaultInjector {
    private plan: FaultPlan = {};
    private script: ScriptStep[] = [];
    private random = seededRandom(1);

    /** Replaces the current plan (and restarts the PRNG from the plan's seed). */
    configure(plan: FaultPlan): void {
        const rates = Object.values(plan.rates ?? {});
        if (rates.some((rate) => rate < 0 || rate > 1) || rates.reduce((sum, rate) => sum + rate, 0) > 1) {
            throw new RangeError("fault rates must be within [0, 1] and sum to at most 1");
        }
        this.plan = plan;
        this.script = [...(plan.script ?? [])];
        this.random = seededRandom(plan.seed ?? 1);
    }

    clear(): void {
        this.configure({});
    }

    get retryAfterSeconds(): number {
        return this.plan.retryAfterSeconds ?? 1;
    }

    /** The fault to inject into the next request to `operationId`, if any. */
    next(operationId: string): FaultKind | undefined {
        if (this.plan.operations && !this.plan.operations.includes(operationId)) return undefined;
        const step = this.script.shift();
        if (step !== undefined) return step === "pass" ? undefined : step;
        if (!this.plan.rates) return undefined;
        // Exactly one draw per eligible request keeps the sequence reproducible whatever the outcome.
        let draw = this.random();
        for (const kind of FAULT_KINDS) {
            draw -= this.plan.rates[kind] ?? 0;
            if (draw < 0) return kind;
        }
        return undefined;
    }
}
