// IoT Hub's rules for twin documents, which apply to every module twin a manifest sets (edgeAgent's, edgeHub's
// and each module's desired properties). From "Understand and use device twins in IoT Hub": desired properties
// are limited to 32 KB, computed as the sum over all properties of the key's UTF-8 length plus the value's size
// (strings by UTF-8 length without C0/C1 control characters, numbers 8 bytes, booleans 4, objects the sum of
// their members); keys may not contain control characters, '.', '$' or spaces.
import { utf8Length } from "./canonical";

export const TWIN_DESIRED_MAX_BYTES = 32 * 1024;

const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/g;
const FORBIDDEN_KEY_CHARACTERS = /[\u0000-\u001f\u007f-\u009f.$ ]/;

/** Size of a twin value as IoT Hub counts it against the 32 KB limit. */
export function twinSize(value: unknown): number {
    if (typeof value === "string") return utf8Length(value.replace(CONTROL_CHARACTERS, ""));
    if (typeof value === "number") return 8;
    if (typeof value === "boolean") return 4;
    if (Array.isArray(value)) return value.reduce((sum: number, item) => sum + twinSize(item), 0);
    if (value !== null && typeof value === "object") {
        return Object.entries(value).reduce((sum, [key, member]) => sum + utf8Length(key) + twinSize(member), 0);
    }
    return 0;
}

/** Dotted paths of keys IoT Hub would refuse, e.g. "modules.my module". */
export function forbiddenTwinKeys(value: unknown, path = ""): string[] {
    if (Array.isArray(value)) return value.flatMap((item, index) => forbiddenTwinKeys(item, `${path}[${index}]`));
    if (value === null || typeof value !== "object") return [];
    return Object.entries(value).flatMap(([key, member]) => {
        const memberPath = path ? `${path}.${key}` : key;
        return [...(FORBIDDEN_KEY_CHARACTERS.test(key) ? [memberPath] : []), ...forbiddenTwinKeys(member, memberPath)];
    });
}
