// Dynamic provider for IoT Edge deployments: check, diff and read, and create, update and delete dispatched to a mode:
//   device: the manifest applied to each listed device, bounded concurrency (deviceRollout.ts);
//   fleet:  an at-scale IoT Hub configuration whose id carries the content hash, optionally after a canary ring at a
//           higher priority (fleetRollout.ts), over the hub's configurations and their ids (hubConfigurations.ts);
//           a complete deployment, or (deploymentLayer layered) a layer on top of a base deployment (manifest/layer.ts).
// Both verify the rollout and, when verification fails (and rollbackOnFailure is on), undo it before the error is
// thrown. The inputs and outputs are edgeDeploymentTypes.ts; a rollout in words, deploymentDescription.ts.
import type * as pulumi from "@pulumi/pulumi";
import { dynamicResourceType } from "../shared/project";
import { Clock, DEFAULT_RETRY_POLICY, REAL_CLOCK, RetryPolicy } from "../shared/retry";
import { containsUnknown } from "../shared/unknown";
import { contentHash } from "./deploymentContent";
import { describeDeploymentChanges } from "./deploymentDescription";
import { rollOutDevices } from "./deviceRollout";
import { DEPLOYMENT_LAYERS, type EdgeDeploymentInputs, type EdgeDeploymentOutputs, type HubSession, isLayer } from "./edgeDeploymentTypes";
import { rollOutFleet, updateCanary } from "./fleetRollout";
import { RegistryFactory, connectWithSdk, hostNameOf } from "./hubClient";
import { type HubConfiguration, removeConfiguration, retarget, withoutRolloutLabel } from "./hubConfigurations";
import { describeHubError, statusOf, withHubRetry } from "./hubRetry";
import { baseOnlyProblems, isLayered } from "./manifest/layer";
import { formatProblem } from "./manifest/problems";
import { verifyConfiguration } from "./rollout";

// What the provider's module exported before the split, for the modules and tests that import it from here.
export { DEPLOYMENT_LAYERS, DEPLOYMENT_MODES, HUB_DEPLOYMENT_LIMITS } from "./edgeDeploymentTypes";
export type { CanarySettings, DeploymentLayer, DeploymentMode, EdgeDeploymentInputs, EdgeDeploymentOutputs } from "./edgeDeploymentTypes";
export { ROLLOUT_LABEL, canaryConfigurationId, fleetConfigurationId } from "./hubConfigurations";
export { describeDeploymentChanges, describeRolloutStages } from "./deploymentDescription";

/** The URN type of the deployment resource (registered by EdgeDeploymentResource as module "iot"). */
export const EDGE_DEPLOYMENT_TYPE = dynamicResourceType("iot", "EdgeDeployment");

export class EdgeDeploymentProvider implements pulumi.dynamic.ResourceProvider {
    constructor(
        private readonly connect: RegistryFactory = connectWithSdk,
        private readonly retry: RetryPolicy = DEFAULT_RETRY_POLICY,
        private readonly clock: Clock = REAL_CLOCK,
    ) {}

    async check(_olds: unknown, news: EdgeDeploymentInputs): Promise<pulumi.dynamic.CheckResult> {
        // Inputs not known yet (a preview) are checked when they are.
        const known = (value: unknown) => !containsUnknown(value);
        const failures: pulumi.dynamic.CheckFailure[] = [];
        if (known(news.mode) && news.mode !== "device" && news.mode !== "fleet")
            failures.push({ property: "mode", reason: `"${news.mode}" must be device or fleet` });
        if (news.mode === "fleet" && known(news.targetCondition) && !news.targetCondition) {
            failures.push({ property: "targetCondition", reason: "fleet mode needs a target condition" });
        }
        if (news.mode === "device" && Array.isArray(news.deviceIds) && news.deviceIds.length === 0) {
            failures.push({ property: "deviceIds", reason: "device mode needs at least one device" });
        }
        if (known(news.concurrency) && !(news.concurrency >= 1)) failures.push({ property: "concurrency", reason: "must be at least 1" });
        if (known(news.rollbackOnFailure) && news.rollbackOnFailure !== undefined && typeof news.rollbackOnFailure !== "boolean") {
            failures.push({ property: "rollbackOnFailure", reason: "must be true or false" });
        }
        failures.push(...checkCanary(news), ...checkLayer(news));
        return { inputs: news, failures };
    }

    async create(inputs: EdgeDeploymentInputs): Promise<pulumi.dynamic.CreateResult> {
        const session = this.session(inputs.serviceConnectionString);
        const outs = inputs.mode === "fleet" ? await rollOutFleet(session, inputs) : await rollOutDevices(session, inputs, undefined);
        return { id: outs.mode === "fleet" ? outs.configurationId : `${outs.name}-devices`, outs };
    }

    async diff(_id: string, olds: EdgeDeploymentOutputs, news: EdgeDeploymentInputs): Promise<pulumi.dynamic.DiffResult> {
        // Replacement is decided from known values only; an unknown input (a preview) is a change to look at again.
        const unknown = Object.values(news).some(containsUnknown);
        const changes = describeDeploymentChanges(olds, news);
        const replaces: string[] = [];
        if (!containsUnknown(news.mode) && olds.mode !== news.mode) replaces.push("mode");
        const connection = news.serviceConnectionString;
        if (!containsUnknown(connection) && olds.hostName !== hostNameOf(connection)) replaces.push("serviceConnectionString");
        // A fleet configuration's content cannot change in place: new content is a new configuration.
        const contentKnown = !containsUnknown(news.content) && !containsUnknown(news.registryPassword);
        if (news.mode === "fleet" && contentKnown && olds.contentHash !== contentHash(news.content, news.registryPassword))
            replaces.push("content");
        // Same hub name, other credentials: a rotated key, or a hub replaced under the same name (update re-creates).
        const credentialsChanged = connection !== olds.serviceConnectionString;
        return {
            changes: unknown || changes.length > 0 || replaces.length > 0 || credentialsChanged,
            replaces,
            deleteBeforeReplace: false,
        };
    }

    /**
     * Throws when verification fails, after rolling back: Pulumi then keeps the previous state (olds), so the next
     * `up` compares the program with the previous manifest again and, once the cause is fixed, rolls forward.
     */
    async update(_id: string, olds: EdgeDeploymentOutputs, news: EdgeDeploymentInputs): Promise<pulumi.dynamic.UpdateResult> {
        if (news.mode === "device") {
            // Only settings changed (rollback, verification, concurrency): nothing to send again.
            const sameDelivery =
                olds.mode === "device" &&
                olds.serviceConnectionString === news.serviceConnectionString &&
                olds.contentHash === contentHash(news.content, news.registryPassword) &&
                JSON.stringify(olds.deviceIds) === JSON.stringify(news.deviceIds);
            if (sameDelivery) return { outs: { ...olds, ...news, hostName: olds.hostName } };
            return { outs: await rollOutDevices(this.session(news.serviceConnectionString), news, olds) };
        }
        // Fleet, same content: only the mutable fields change (target condition, priority, labels, metrics, canary ring).
        const session = this.session(news.serviceConnectionString);
        const id = olds.configurationId;
        let canaryId: string;
        try {
            canaryId = await updateCanary(session, olds, news);
            await retarget(session, id, {
                targetCondition: news.targetCondition,
                priority: news.priority,
                labels: news.labels,
                metrics: news.metrics,
            });
        } catch (error) {
            // Gone (a hub replaced under the same name, or deleted in the portal): roll out again.
            if (statusOf(error) === 404) return { outs: await rollOutFleet(this.session(news.serviceConnectionString), news) };
            throw error;
        }
        if (news.verify.enabled) {
            await verifyConfiguration(session.registry, id, { ...news.verify, layered: isLayer(news) }, this.retry, this.clock);
        }
        return { outs: { ...olds, ...news, hostName: olds.hostName, configurationId: id, canaryConfigurationId: canaryId } };
    }

    async delete(_id: string, olds: EdgeDeploymentOutputs): Promise<void> {
        // Device mode leaves devices running their last manifest: there is no "unapply", and deleting the device
        // identities (EdgeDevice) is what takes a device out of service.
        if (olds.mode !== "fleet") return;
        const session = this.session(olds.serviceConnectionString);
        // The fleet's first: the ring's devices then still have the canary configuration (same content) to run.
        for (const id of [olds.configurationId, olds.canaryConfigurationId ?? ""].filter(Boolean)) {
            try {
                await removeConfiguration(session, id);
            } catch (error) {
                throw new Error(`deleting deployment ${id} failed: ${describeHubError(error)}`);
            }
        }
    }

    /** Fleet mode: the configuration as the hub holds it now (targeting edited in the portal shows as drift). */
    async read(id: string, props: EdgeDeploymentOutputs): Promise<pulumi.dynamic.ReadResult> {
        // Per-device content has no object of its own in the hub to read back; what was applied stays recorded.
        if (props.mode !== "fleet") return { id, props };
        const registry = this.connect(props.serviceConnectionString);
        try {
            const current = (await withHubRetry(`read deployment ${id}`, () => registry.getConfiguration(id), this.retry))
                .responseBody as unknown as HubConfiguration;
            return {
                id,
                props: {
                    ...props,
                    targetCondition: current.targetCondition,
                    priority: current.priority,
                    labels: withoutRolloutLabel(current.labels),
                    metrics: current.metrics?.queries ?? {},
                },
            };
        } catch (error) {
            if (statusOf(error) === 404) return {};
            throw error;
        }
    }

    /** The hub the connection string names, with this provider's retry policy and clock. */
    private session(serviceConnectionString: string): HubSession {
        return { registry: this.connect(serviceConnectionString), retry: this.retry, clock: this.clock };
    }
}

/** A layer: fleet mode, above its base, its content a layer with nothing of the base's (IoT Hub would apply it, or ignore it). */
function checkLayer(news: EdgeDeploymentInputs): pulumi.dynamic.CheckFailure[] {
    const known = (value: unknown) => !containsUnknown(value);
    const layer = news.deploymentLayer ?? "base";
    if (!known(layer)) return [];
    if (!DEPLOYMENT_LAYERS.includes(layer)) return [{ property: "deploymentLayer", reason: `"${layer}" must be base or layered` }];
    const failures: pulumi.dynamic.CheckFailure[] = [];
    if (layer === "layered" && news.mode === "device")
        failures.push({ property: "deploymentLayer", reason: "a layered deployment needs fleet mode, but mode is device" });
    if (isLayer(news) && known(news.priority) && known(news.basePriority) && !(news.priority > (news.basePriority ?? 0))) {
        const reason = `${news.priority} must be above the base deployment's priority (basePriority ${news.basePriority ?? 0}), or IoT Hub ignores the layer`;
        failures.push({ property: "priority", reason });
    }
    if (known(news.content)) {
        const problems = isLayer(news) ? baseOnlyProblems(news.content).map(formatProblem) : [];
        if (layer === "base" && isLayered(news.content)) problems.push("is a layer, but deploymentLayer is base");
        failures.push(...problems.map((reason) => ({ property: "content", reason })));
    }
    return failures;
}

function checkCanary(news: EdgeDeploymentInputs): pulumi.dynamic.CheckFailure[] {
    const canary = news.canary;
    if (canary === undefined || canary === null || (containsUnknown(canary) && typeof canary !== "object")) return [];
    const known = (value: unknown) => !containsUnknown(value);
    const failures: pulumi.dynamic.CheckFailure[] = [];
    const hasCondition = known(canary.condition) ? !!canary.condition : true;
    if (!hasCondition) return [];
    if (news.mode === "device") failures.push({ property: "canary", reason: "a canary stage needs fleet mode" });
    if (known(canary.priority) && known(news.priority) && !(canary.priority > news.priority)) {
        failures.push({ property: "canary.priority", reason: `${canary.priority} must exceed the fleet's priority ${news.priority}` });
    }
    if (known(canary.timeoutSeconds) && !(canary.timeoutSeconds >= 1))
        failures.push({ property: "canary.timeoutSeconds", reason: "must be at least 1" });
    if (known(canary.minSuccessCount) && !(Number.isInteger(canary.minSuccessCount) && canary.minSuccessCount >= 1)) {
        failures.push({ property: "canary.minSuccessCount", reason: "must be a whole number of at least 1" });
    }
    return failures;
}
