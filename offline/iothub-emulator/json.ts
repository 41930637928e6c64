/** JSON values as they travel over the wire, and the JSON Merge Patch (RFC 7396) that IoT Hub uses for twin updates. */

export type Json = null | boolean | number | string | Json[] | JsonObject;
export interface JsonObject {
    [key: string]: Json;
}

export function isJsonObject(value: unknown): value is JsonObject {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Returns `target` with `patch` merged in: nested objects merge key by key, `null` removes a key, anything else
 * replaces. This is how IoT Hub applies PATCH /twins bodies to tags and desired properties (and how a device's
 * reported-property updates are applied).
 */
export function mergePatch(target: JsonObject, patch: JsonObject): JsonObject {
    const result: JsonObject = { ...target };
    for (const [key, value] of Object.entries(patch)) {
        if (value === null) {
            delete result[key];
        } else if (isJsonObject(value)) {
            const existing = result[key];
            result[key] = mergePatch(isJsonObject(existing) ? existing : {}, value);
        } else {
            result[key] = structuredClone(value);
        }
    }
    return result;
}
