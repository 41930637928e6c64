import { preconditionFailed } from "./hub-errors";

/** Issues opaque etags shaped like the service's (base64 of a counter, e.g. "MQ=="); unique within one emulator. */
export class EtagSource {
    private counter = 0;

    next(): string {
        this.counter += 1;
        return Buffer.from(String(this.counter)).toString("base64");
    }

    /** Starts the sequence again (the emulator's reset: a fresh hub issues the same etags). */
    reset(): void {
        this.counter = 0;
    }
}

/**
 * Enforces an If-Match header against the current etag: `*` or the same etag passes, anything else is 412.
 * Clients send etags quoted (the SDK's `_ensureQuoted`) and sometimes weak (`W/"..."`); both forms compare equal.
 */
export function checkIfMatch(currentEtag: string, ifMatch: string, what: string): void {
    const wanted = ifMatch.replace(/^W\//, "").replace(/^"(.*)"$/, "$1");
    if (wanted !== "*" && wanted !== currentEtag) {
        throw preconditionFailed(`${what}: If-Match ${ifMatch} does not match current etag "${currentEtag}"`);
    }
}
