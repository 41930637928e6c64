// An EdgeDeployment in words: what a rollout would change (the provider's diff, the previews) and its stages in order
// (the offline plan and diff). Values not known yet (a preview) are said to be so. Part of the serialized provider
// (single-file imports only).
import { containsUnknown } from "../shared/unknown";
import { describeContentChanges, modulesOf, routesOf } from "./deploymentContent";
import { type CanarySettings, type EdgeDeploymentInputs, canaryOf, isLayer } from "./edgeDeploymentTypes";
import { configurationBase } from "./hubConfigurations";
import { registryCredentialsOf } from "./manifest/layer";
import type { VerifySettings } from "./rollout";

/** Everything a rollout would change, in words: manifest changes in module terms plus the targeting fields. */
export function describeDeploymentChanges(olds: Partial<EdgeDeploymentInputs> | undefined, news: EdgeDeploymentInputs): string[] {
    // An input not known yet (a preview, when something it comes from is created or replaced) is said to be so.
    const changes = containsUnknown(news.content) ? ["manifest: known after apply"] : describeContentChanges(olds?.content, news.content);
    const field = (label: string, a: unknown, b: unknown) => {
        if (containsUnknown(b)) changes.push(`${label}: known after apply`);
        else if (JSON.stringify(a) !== JSON.stringify(b)) changes.push(`${label}: ${JSON.stringify(a)} -> ${JSON.stringify(b)}`);
    };
    field("mode", olds?.mode, news.mode);
    if (news.mode === "device") field("devices", olds?.deviceIds, news.deviceIds);
    if (news.mode === "fleet") {
        field("target condition", olds?.targetCondition, news.targetCondition);
        field("priority", olds?.priority, news.priority);
        field("labels", olds?.labels, news.labels);
        field("metrics", olds?.metrics, news.metrics);
        if (isLayer(olds) || isLayer(news)) {
            field("layer", olds && (olds.deploymentLayer ?? "base"), news.deploymentLayer ?? "base");
            if (isLayer(news)) field("base priority", olds?.basePriority, news.basePriority);
        }
        if (containsUnknown(news.canary)) changes.push("canary: known after apply");
        else {
            const [was, now] = [describeCanary(canaryOf(olds)), describeCanary(canaryOf(news))];
            if (was !== now) changes.push(`canary: ${was} -> ${now}`);
        }
    }
    // State written before the key existed had rollback on.
    if (olds) field("rollback on failure", olds.rollbackOnFailure ?? true, news.rollbackOnFailure ?? true);
    if (olds && containsUnknown(news.registryPassword)) changes.push("registry password: known after apply");
    else if (olds && olds.registryPassword !== news.registryPassword) changes.push("registry password rotated");
    return changes;
}

function describeCanary(canary: CanarySettings | undefined): string {
    if (!canary) return "none";
    return `${canary.condition} at priority ${canary.priority}, ${canary.minSuccessCount} device(s) within ${canary.timeoutSeconds}s`;
}

/**
 * The rollout's stages in order, for the offline plan and diff: what receives the content first, with which target
 * condition and priority, what must verify, and what a failure does. Values not known yet are said to be so.
 */
export function describeRolloutStages(inputs: EdgeDeploymentInputs): string[] {
    const show = (value: unknown) =>
        containsUnknown(value) ? "(known after apply)" : typeof value === "string" ? value : JSON.stringify(value);
    const verify = inputs.verify ?? ({} as VerifySettings);
    const verified = verify.enabled === true || containsUnknown(verify.enabled);
    const rollback = inputs.rollbackOnFailure !== false;
    if (inputs.mode !== "fleet") {
        const devices = Array.isArray(inputs.deviceIds) ? inputs.deviceIds.map(show).join(", ") : show(inputs.deviceIds);
        const lines = [`stage 1: the manifest applied to each device (${devices}), ${show(inputs.concurrency)} at a time`];
        if (!verified) lines.push("not verified (verifyRollout false), so never rolled back");
        else {
            lines.push(
                `verified: every device's edgeAgent reports ${show(verify.moduleName)} running the new image within ${show(verify.timeoutSeconds)}s`,
            );
            lines.push(
                rollback
                    ? "on failure: the previous manifest is re-applied to every device sent the new one, then the up fails"
                    : "on failure: the devices keep the new manifest (rollbackOnFailure false)",
            );
        }
        return lines;
    }
    const base = containsUnknown(inputs.name) ? "(known after apply)" : configurationBase(inputs.name);
    const layered = isLayer(inputs);
    const kind = layered ? "layer" : "deployment";
    const lines: string[] = [];
    const canary = inputs.canary && (containsUnknown(inputs.canary) || inputs.canary.condition) ? inputs.canary : undefined;
    if (canary) {
        lines.push(
            `stage 1: canary ${kind} ${base}-<content hash>-canary, target ${show(canary.condition)}, priority ${show(canary.priority)}, ` +
                `must verify ${show(canary.minSuccessCount)} device(s) within ${show(canary.timeoutSeconds)}s`,
        );
    }
    const fleetCheck = verified
        ? `must verify every targeted device within ${show(verify.timeoutSeconds)}s`
        : "not verified (verifyRollout false)";
    const above = layered ? ` (above the base deployment's ${show(inputs.basePriority ?? 0)})` : "";
    lines.push(
        `stage ${canary ? 2 : 1}: fleet ${kind} ${base}-<content hash>, target ${show(inputs.targetCondition)}, priority ${show(inputs.priority)}${above}, ${fleetCheck}`,
    );
    if (layered) lines.push(`adds to the base deployment: ${layerAdds(inputs)}`);
    lines.push(`then: the previous ${kind} is deleted`);
    if (canary || verified) {
        const back = layered ? "previous layer, or to their base deployment alone" : "previous one by priority";
        lines.push(
            rollback
                ? `on failure: the new ${kind}(s) are removed, the devices return to the ${back}, then the up fails`
                : `on failure: the new ${kind}(s) stay (rollbackOnFailure false)`,
        );
    }
    return lines;
}

/** What a layer puts on top of its base: modules (with their images), routes, registry credentials, module twins. */
function layerAdds(inputs: EdgeDeploymentInputs): string {
    const content = inputs.content;
    if (containsUnknown(content)) return "(known after apply)";
    const modules = Object.entries(modulesOf(content)).map(([name, m]) => `${name} (${m.image})`);
    const twins = Object.keys(content.modulesContent).filter((twin) => !twin.startsWith("$"));
    return [
        `module(s) ${modules.join(", ")}`,
        `route(s) ${Object.keys(routesOf(content)).join(", ") || "none"}`,
        `registry credentials for ${
            registryCredentialsOf(content)
                .map((c) => c.address)
                .join(", ") || "none"
        }`,
        ...(twins.length > 0 ? [`desired properties of ${twins.join(", ")}`] : []),
    ].join("; ");
}
