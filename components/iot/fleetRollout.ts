// Fleet mode's rollout: an at-scale IoT Hub configuration (target condition, priority, labels, metrics). Its content
// is immutable, so new content is a new configuration whose id carries the content hash: Pulumi creates it before
// deleting the old one, and devices never go without a deployment. An optional canary stage puts the new content on
// a ring first (a configuration at a higher priority) and verifies it there. When verification fails (and
// rollbackOnFailure is on) the new configurations are removed (the engine deletes the old one only after a create
// succeeds, so it is still there), the devices return to it by priority, and its devices must report it again,
// before the error is thrown. A layered deployment (manifest/layer.ts) rolls out the same way: its content cannot
// change in IoT Hub either, so new content is a new layer, verified, then the old one removed; a failed layer is
// removed and its devices return to the previous layer, or to their base deployment alone. Part of the serialized
// provider (single-file imports only).
import { RolloutError } from "../shared/errors";
import { contentHash, moduleImage, withRegistryPassword } from "./deploymentContent";
import {
    type CanarySettings,
    type EdgeDeploymentInputs,
    type EdgeDeploymentOutputs,
    HUB_DEPLOYMENT_LIMITS,
    type HubSession,
    canaryOf,
    isLayer,
} from "./edgeDeploymentTypes";
import { hostNameOf } from "./hubClient";
import {
    ROLLOUT_LABEL,
    type Targeting,
    VERIFYING,
    addConfiguration,
    canaryConfigurationId,
    fleetConfigurationId,
    ownConfigurations,
    removeConfiguration,
    removeLeftovers,
    retarget,
} from "./hubConfigurations";
import { describeHubError, statusOf } from "./hubRetry";
import type { DeploymentContent } from "./manifest";
import { ConfigurationVerify, describeConfigurationWatch, listed, unconfirmedDevices, watchConfiguration } from "./rollout";

/** Stage 1 (optional): the canary ring; stage 2: the fleet. Each verified stage clears its label. */
export async function rollOutFleet(session: HubSession, inputs: EdgeDeploymentInputs): Promise<EdgeDeploymentOutputs> {
    const content = withRegistryPassword(inputs.content, inputs.registryPassword);
    const hash = contentHash(inputs.content, inputs.registryPassword);
    const configurationId = fleetConfigurationId(inputs.name, hash);
    const canary = canaryOf(inputs);
    const canaryId = canary ? canaryConfigurationId(inputs.name, hash) : "";
    const held = await removeLeftovers(session, inputs.name, [configurationId, canaryId]);
    refuseOverLimit(
        inputs,
        held,
        [canaryId, configurationId].filter((id) => id && !held.includes(id)),
    );
    const created: string[] = [];
    const labelled: string[] = [];
    if (canary) {
        await addConfiguration(
            session,
            canaryId,
            content,
            { ...targetingOf(inputs), targetCondition: canary.condition, priority: canary.priority },
            true,
        );
        created.push(canaryId);
        labelled.push(canaryId);
        await verifyStage(session, inputs, created, canaryId, "canary stage", canaryVerify(inputs, canary));
    }
    await addConfiguration(session, configurationId, content, targetingOf(inputs), inputs.verify.enabled);
    created.push(configurationId);
    if (inputs.verify.enabled) {
        labelled.push(configurationId);
        await verifyStage(session, inputs, created, configurationId, canary ? "fleet stage" : "", fleetVerify(inputs));
    }
    for (const id of labelled) await retarget(session, id, undefined, inputs.labels);
    return {
        ...inputs,
        hostName: hostNameOf(inputs.serviceConnectionString),
        contentHash: hash,
        configurationId,
        canaryConfigurationId: canaryId,
        appliedVersions: {},
    };
}

/** In-place changes of the canary ring (its configuration carries the same content as the fleet's); returns its id. */
export async function updateCanary(session: HubSession, olds: EdgeDeploymentOutputs, news: EdgeDeploymentInputs): Promise<string> {
    const oldId = olds.canaryConfigurationId ?? "";
    const canary = canaryOf(news);
    if (!canary) {
        if (oldId) await removeConfiguration(session, oldId);
        return "";
    }
    const targeting = { ...targetingOf(news), targetCondition: canary.condition, priority: canary.priority };
    if (oldId) {
        try {
            await retarget(session, oldId, targeting);
            return oldId;
        } catch (error) {
            if (statusOf(error) !== 404) throw error;
        }
    }
    // A ring added (or its configuration deleted outside Pulumi): the current content, verified on the ring.
    const id = canaryConfigurationId(news.name, olds.contentHash);
    await addConfiguration(session, id, withRegistryPassword(news.content, news.registryPassword), targeting, true);
    await verifyStage(session, news, [id], id, "canary stage", canaryVerify(news, canary));
    await retarget(session, id, undefined, news.labels);
    return id;
}

/** Waits for one stage; on failure rolls back every configuration this rollout created, and throws. */
async function verifyStage(
    session: HubSession,
    inputs: EdgeDeploymentInputs,
    created: string[],
    id: string,
    stage: string,
    verify: ConfigurationVerify,
): Promise<void> {
    const watch = await watchConfiguration(session.registry, id, verify, session.retry, session.clock);
    if (watch.ok) return;
    const failure = `${stage ? `${stage}: ` : ""}${describeConfigurationWatch(id, watch, verify)}`;
    await rollBackFleet(session, inputs, created, id, failure, verify);
}

/** Removes the new configurations, waits for the devices to report the previous ones; always throws. */
async function rollBackFleet(
    session: HubSession,
    inputs: EdgeDeploymentInputs,
    created: string[],
    failedId: string,
    failure: string,
    verify: ConfigurationVerify,
): Promise<never> {
    const { registry, retry, clock } = session;
    const hub = hostNameOf(inputs.serviceConnectionString).split(".")[0];
    if (inputs.rollbackOnFailure === false) {
        throw new RolloutError(
            `${failure}. rollbackOnFailure is off: ${created.join(", ")} stay in the hub, outside the stack's state, and the devices keep the new manifest; ` +
                `the next rollout of this stack removes them (or \`az iot edge deployment delete -n ${hub} -d <id>\`).`,
        );
    }
    // Devices that never acted on the failed configuration are not waited for when they return to the old one.
    const silent = new Set(
        (await unconfirmedDevices(registry, failedId, verify, retry).catch(() => [])).filter((p) => !p.caughtUp).map((p) => p.deviceId),
    );
    const notRemoved: string[] = [];
    for (const id of [...created].reverse()) {
        try {
            await removeConfiguration(session, id);
        } catch (error) {
            notRemoved.push(`${id} (${describeHubError(error)})`);
        }
    }
    if (notRemoved.length > 0) {
        throw new RolloutError(
            `${failure}; rollback failed: could not remove ${notRemoved.join("; ")}. It still targets devices, outside the stack's state (labelled ` +
                `${ROLLOUT_LABEL}=${VERIFYING}): \`pulumi up\` again removes it before rolling out, or \`az iot edge deployment delete -n ${hub} -d <id>\`.`,
        );
    }
    const previous = await ownConfigurations(session, inputs.name, created);
    if (previous.length === 0) {
        const after = isLayer(inputs)
            ? "No earlier layer of this stack targets the devices: they return to their base deployment alone"
            : "No earlier deployment of this stack targets the devices, so they keep the new manifest until a fixed one is deployed";
        throw new RolloutError(`${failure}; removed ${created.join(", ")}. ${after}.`);
    }
    const results = [];
    for (const configuration of previous) {
        const image = moduleImage(configuration.content as DeploymentContent, inputs.verify.moduleName);
        const settings = {
            timeoutSeconds: inputs.verify.timeoutSeconds,
            pollSeconds: inputs.verify.pollSeconds,
            moduleName: inputs.verify.moduleName,
            image,
            optional: silent,
            layered: isLayer(inputs),
        };
        results.push({
            configuration,
            image,
            settings,
            watch: await watchConfiguration(registry, configuration.id, settings, retry, clock),
        });
    }
    // The fleet's previous configuration (the lowest priority of this stack's) names the image rolled back to.
    const fleet = results[results.length - 1];
    const previousImage = fleet.image ?? `deployment ${fleet.configuration.id}`;
    const ids = results.map((r) => r.configuration.id).join(", ");
    const unconfirmed = results.filter((r) => !r.watch.ok);
    const silentNote =
        silent.size > 0
            ? `; not waited for: ${silent.size} device(s) that never reported on the new deployment (${listed([...silent])})`
            : "";
    if (unconfirmed.length === 0) {
        const confirmed = results.reduce((sum, r) => sum + (r.watch.metrics.reportedSuccessfulCount ?? 0), 0);
        throw new RolloutError(
            `${failure}; rolled back to ${previousImage}: removed ${created.join(", ")}, and ${confirmed} device(s) report the previous deployment ${ids} again${silentNote}. ` +
                "The stack keeps the previous deployment: fix the cause and run `pulumi up` again to roll forward.",
        );
    }
    throw new RolloutError(
        `${failure}; rollback to ${previousImage} removed ${created.join(", ")}, but is not confirmed: ` +
            `${unconfirmed.map((r) => describeConfigurationWatch(r.configuration.id, r.watch, r.settings)).join("; ")}. ` +
            "The hub holds the previous deployment, as the stack records it: `pulumi up` again rolls out (and, failing, rolls back) once more, and after a fix rolls forward.",
    );
}

function targetingOf(inputs: EdgeDeploymentInputs): Targeting {
    return { targetCondition: inputs.targetCondition, priority: inputs.priority, labels: inputs.labels, metrics: inputs.metrics };
}

function canaryVerify(inputs: EdgeDeploymentInputs, canary: CanarySettings): ConfigurationVerify {
    const { timeoutSeconds: _fleet, ...verify } = fleetVerify(inputs);
    return { ...verify, timeoutSeconds: canary.timeoutSeconds, minSuccessCount: canary.minSuccessCount };
}

function fleetVerify(inputs: EdgeDeploymentInputs): ConfigurationVerify {
    const { timeoutSeconds, pollSeconds, moduleName, image } = inputs.verify;
    return { timeoutSeconds, pollSeconds, moduleName, image, layered: isLayer(inputs) };
}

/**
 * Refuses, before anything is created, a rollout that would take the hub past the deployments its tier allows
 * (layered ones count too): what it holds (the base, other stacks', this one's previous deployment and ring, which
 * stay until the new ones are verified) plus what this rollout adds.
 */
function refuseOverLimit(inputs: EdgeDeploymentInputs, held: string[], adding: string[]): void {
    const limit = inputs.hubDeploymentLimit;
    if (limit === undefined || held.length + adding.length <= limit) return;
    const hub = hostNameOf(inputs.serviceConnectionString).split(".")[0];
    const tier = limit === HUB_DEPLOYMENT_LIMITS.free ? "the free tier (iotHubSku F1)" : "a paid tier";
    throw new RolloutError(
        `the hub ${hub} holds ${held.length} deployment(s) (${listed(held)}) and this rollout adds ${adding.join(", ")} while the previous ones stay ` +
            `until it is verified: ${held.length + adding.length}, above the ${limit} ${tier} allows. Nothing was created: delete deployments the hub ` +
            `no longer needs (\`az iot edge deployment delete -n ${hub} -d <id>\`)${canaryOf(inputs) ? ", or roll out without the canary ring" : ""}.`,
    );
}
