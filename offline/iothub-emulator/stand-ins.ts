/**
 * Stand-in devices for a target condition: edge devices whose twin tags satisfy it, for the offline engine to give
 * a canary ring the devices a real hub has tagged out of band (`az iot hub device-twin update --tags`). Only
 * conditions that are conjunctions of `tags.<path> = <literal>` comparisons can be satisfied this way. And a stand-in
 * base deployment, for a layered deployment to land on as it lands on someone else's in a real hub.
 */
import type { Registry } from "azure-iothub";
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

/** The id of the stand-in base deployment addStandInBase creates. */
export const STAND_IN_BASE_ID = "stand-in-base";

/**
 * A base deployment targeting `targetCondition` at `priority` (a layer's devices at its basePriority): the IoT Edge
 * runtime's system modules and settings and no module of its own, as a base that another team owns may be. A layer
 * is merged only above one (deployment-store.ts). The offline engine's hook, beside the canary ring's stand-ins:
 *   if (hub && inputs.mode === "fleet" && inputs.deploymentLayer === "layered")
 *       await addStandInBase(hub.registry(), inputs.targetCondition, inputs.basePriority ?? 0);
 */
export async function addStandInBase(
    registry: Registry,
    targetCondition: string,
    priority: number,
    edgeRuntimeVersion = "1.6",
): Promise<void> {
    const docker = (image: string) => ({ type: "docker", settings: { image: `mcr.microsoft.com/${image}:${edgeRuntimeVersion}` } });
    const configuration = {
        id: STAND_IN_BASE_ID,
        schemaVersion: "1.0",
        labels: { standIn: "base" },
        targetCondition,
        priority,
        content: {
            modulesContent: {
                $edgeAgent: {
                    "properties.desired": {
                        schemaVersion: "1.1",
                        runtime: { type: "docker", settings: { minDockerVersion: "v1.25", registryCredentials: {} } },
                        systemModules: {
                            edgeAgent: docker("azureiotedge-agent"),
                            edgeHub: { ...docker("azureiotedge-hub"), status: "running", restartPolicy: "always" },
                        },
                        modules: {},
                    },
                },
                $edgeHub: {
                    "properties.desired": { schemaVersion: "1.2", routes: {}, storeAndForwardConfiguration: { timeToLiveSecs: 7200 } },
                },
            },
        },
    };
    await registry.addConfiguration(configuration as never);
}
