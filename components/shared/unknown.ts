// The value a dynamic provider receives during `pulumi preview` for an input that depends on something not created
// yet (the Pulumi SDK's rpc.unknownValue). check and diff must accept it anywhere and decide only from known values.

export const UNKNOWN_VALUE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** Whether a value is, or holds anywhere inside it, an input not known yet. */
export function containsUnknown(value: unknown): boolean {
    if (value === UNKNOWN_VALUE) return true;
    if (Array.isArray(value)) return value.some(containsUnknown);
    return value !== null && typeof value === "object" && Object.values(value).some(containsUnknown);
}
