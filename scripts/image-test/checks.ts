// Counting for the image test: each check passes or fails with one line; a failed step the later ones need stops
// the run (counted once, as a failure). Ends with "N passed, N failed", as npm test does.

/** A failed step that the rest depends on; already counted and printed. */
export class StepFailed extends Error {}

export class Checks {
    passed = 0;
    failed = 0;

    /** Runs `work`; its string result is printed as the detail. A failure is counted and printed, not thrown. */
    async check(name: string, work: () => Promise<string | void> | string | void): Promise<boolean> {
        const started = Date.now();
        try {
            const detail = await work();
            this.passed++;
            console.log(`ok    ${name}${detail ? `: ${detail}` : ""} (${seconds(started)})`);
            return true;
        } catch (error) {
            this.failed++;
            console.log(`FAIL  ${name}: ${(error as Error).message} (${seconds(started)})`);
            return false;
        }
    }

    /** A check the rest needs: its value, or StepFailed after counting the failure. */
    async step<T>(name: string, work: () => Promise<T>, detail: (value: T) => string = () => ""): Promise<T> {
        let value: T | undefined;
        const ok = await this.check(name, async () => {
            value = await work();
            return detail(value);
        });
        if (!ok) throw new StepFailed(name);
        return value as T;
    }

    summary(): string {
        return `${this.passed} passed, ${this.failed} failed`;
    }
}

function seconds(since: number): string {
    return `${((Date.now() - since) / 1000).toFixed(1)} s`;
}

export function assertThat(condition: unknown, message: string): asserts condition {
    if (!condition) throw new Error(message);
}

export function megabytes(bytes: number): string {
    return `${(bytes / 1e6).toFixed(1)} MB`;
}
