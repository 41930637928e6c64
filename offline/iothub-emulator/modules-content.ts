import { HubError, badRequest } from "./hub-errors";
import { JsonObject, isJsonObject } from "./json";

/** Module twins every IoT Edge device has from the moment it is created, and every full deployment must configure. */
export const SYSTEM_MODULES = ["$edgeAgent", "$edgeHub"] as const;

const DESIRED_KEY = "properties.desired";

/**
 * Reads the desired properties per module out of a deployment's `modulesContent`
 * (`{"$edgeAgent": {"properties.desired": {...}}, ...}`), rejecting what the service rejects: a full deployment
 * without both system modules, or a module entry without an object of desired properties.
 */
export function desiredPropertiesByModule(modulesContent: JsonObject): Map<string, JsonObject> {
    const missing = SYSTEM_MODULES.filter((moduleId) => !(moduleId in modulesContent));
    if (missing.length > 0) {
        throw badRequest("InvalidConfigurationContent", `modulesContent is missing ${missing.join(" and ")}`);
    }
    const result = new Map<string, JsonObject>();
    for (const [moduleId, content] of Object.entries(modulesContent)) {
        const desired = isJsonObject(content) ? content[DESIRED_KEY] : undefined;
        if (!isJsonObject(content) || !isJsonObject(desired)) {
            throw badRequest("InvalidConfigurationContent", `modulesContent.${moduleId} needs an object "${DESIRED_KEY}"`);
        }
        const otherKeys = Object.keys(content).filter((key) => key !== DESIRED_KEY);
        if (otherKeys.length > 0) {
            // Keys like "properties.desired.modules.x" belong to layered deployments, which the emulator does not model.
            throw new HubError(501, "FeatureNotSupported", `emulator does not support layered content (${otherKeys.join(", ")})`);
        }
        result.set(moduleId, desired);
    }
    return result;
}
