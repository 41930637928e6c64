// Reading JSON that may not match its static type: manifests from files, or edited by hand, reach the validator.

export type Json = Record<string, unknown>;

export const UINT32_MAX = 4294967295;

/** The value as an object, or undefined for anything else (arrays included). */
export function record(value: unknown): Json | undefined {
    return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Json) : undefined;
}

export function isIntegerBetween(value: unknown, min: number, max: number): boolean {
    return typeof value === "number" && Number.isInteger(value) && value >= min && value <= max;
}
