/**
 * Stand-in devices for a target condition: edge devices whose twin tags satisfy it, for the offline engine to give
 * a canary ring the devices a real hub has tagged out of band (`az iot hub device-twin update --tags`). Only
 * conditions that are conjunctions of `tags.<path> = <literal>` comparisons can be satisfied this way.
 */
import { Condition } from "./query-language";
import { Json, JsonObject, isJsonObject, mergePatch } from "./json";

/** Tags under which a twin satisfies `condition`, or undefined when it is not a conjunction of tag equalities. */
export function tagsSatisfying(condition: Condition): JsonObject | undefined {
    switch (condition.kind) {
        case "everything":
            return {};
        case "and": {
            const [left, right] = [tagsSatisfying(condition.left), tagsSatisfying(condition.right)];
            return left && right ? mergePatch(left, right) : undefined;
        }
        case "compare": {
            if (condition.operator !== "=") return undefined;
            const [path, literal] =
                condition.left.kind === "path" && condition.right.kind === "literal"
                    ? [condition.left.path, condition.right.value]
                    : condition.right.kind === "path" && condition.left.kind === "literal"
                      ? [condition.right.path, condition.left.value]
                      : [undefined, undefined];
            if (!path || path[0] !== "tags" || path.length < 2 || literal === null || literal === undefined) return undefined;
            let value: Json = literal;
            for (const key of path.slice(1).reverse()) value = { [key]: value };
            return isJsonObject(value) ? value : undefined;
        }
        default:
            return undefined;
    }
}
