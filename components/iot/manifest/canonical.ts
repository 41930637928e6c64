// Stable key order for everything taken from the caller (env, routes, desired properties, create options), so
// the same configuration always serializes to the same bytes and the manifest's hash is a content id.

export function sortKeysDeep<T>(value: T): T {
    if (Array.isArray(value)) return value.map((item) => sortKeysDeep(item)) as T;
    if (value === null || typeof value !== "object") return value;
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) sorted[key] = sortKeysDeep((value as Record<string, unknown>)[key]);
    return sorted as T;
}

/** Byte length of a string in UTF-8, the unit IoT Hub's twin limits are stated in. */
export function utf8Length(text: string): number {
    let bytes = 0;
    for (const char of text) bytes += codePointUtf8Length(char.codePointAt(0) ?? 0);
    return bytes;
}

export function codePointUtf8Length(codePoint: number): number {
    if (codePoint < 0x80) return 1;
    if (codePoint < 0x800) return 2;
    if (codePoint < 0x10000) return 3;
    return 4;
}
