import { HubError, badRequest } from "./hub-errors";
import { Json, JsonObject, isJsonObject } from "./json";

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
            // Dotted keys ("properties.desired.modules.x") belong to layers (layerPaths); in a base they are not modelled.
            throw new HubError(
                501,
                "FeatureNotSupported",
                `emulator does not support dotted paths in a base deployment (${otherKeys.join(", ")})`,
            );
        }
        result.set(moduleId, desired);
    }
    return result;
}

/**
 * A layered deployment's content: its `$edgeAgent` has no "properties.desired" (how azure-iot-cli-extension tells a
 * layer from a base deployment); what it sets is in dot notation, `properties.desired.modules.<name>`.
 */
export function isLayeredContent(modulesContent: JsonObject): boolean {
    return isJsonObject(modulesContent.$edgeAgent) && !(DESIRED_KEY in modulesContent.$edgeAgent);
}

/** One thing a layer sets: in `moduleId`'s desired properties, at `path` ([]: the whole desired properties). */
export interface LayerPath {
    moduleId: string;
    path: string[];
    value: Json;
}

/**
 * What a layer sets, in order, rejecting a layer without `$edgeAgent` (Microsoft: "all layered deployments must
 * include an edgeAgent object to be considered valid"; an empty one will do), a module entry that is not an object,
 * and keys other than "properties.desired" (an object) and "properties.desired.<path>".
 */
export function layerPaths(modulesContent: JsonObject): LayerPath[] {
    if (!isJsonObject(modulesContent.$edgeAgent)) {
        throw badRequest("InvalidConfigurationContent", "a layered deployment needs $edgeAgent, an empty object at least");
    }
    const paths: LayerPath[] = [];
    for (const [moduleId, content] of Object.entries(modulesContent)) {
        if (!isJsonObject(content)) throw badRequest("InvalidConfigurationContent", `modulesContent.${moduleId} must be an object`);
        for (const [key, value] of Object.entries(content)) {
            const path =
                key === DESIRED_KEY ? [] : key.startsWith(`${DESIRED_KEY}.`) ? key.slice(DESIRED_KEY.length + 1).split(".") : undefined;
            if (!path || path.includes("") || (path.length === 0 && !isJsonObject(value))) {
                throw badRequest(
                    "InvalidConfigurationContent",
                    `modulesContent.${moduleId}: "${key}" is not ${DESIRED_KEY} or ${DESIRED_KEY}.<path>`,
                );
            }
            paths.push({ moduleId, path, value });
        }
    }
    return paths;
}
