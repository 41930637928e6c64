// Dynamic provider for IoT Edge deployments, in two modes:
//   device: the manifest applied to each listed device (applyConfigurationContent), bounded concurrency;
//   fleet:  an at-scale IoT Hub configuration (target condition, priority, labels, metrics). Its content is
//           immutable, so new content is a new configuration whose id carries the content hash: Pulumi creates
//           it before deleting the old one, and devices never go without a deployment. An optional canary stage
//           puts the new content on a ring first (a configuration at a higher priority) and verifies it there.
// When verification fails (and rollbackOnFailure is on) the rollout is undone before the error is thrown:
//   device: the previous manifest (the state's, which Pulumi keeps when an update fails) is re-applied to every
//           device that was sent the new one, and the devices that acted on the new one must report it again;
//   fleet:  the new configurations are removed (the engine deletes the old one only after a create succeeds, so
//           it is still there), the devices return to it by priority, and its devices must report it again.
// Configurations under verification carry the label edgemlRollout=verifying until they pass: one left behind by a
// rollback that could not reach the hub is recognised, and removed, by the next rollout.
import type * as pulumi from "@pulumi/pulumi";
import { RolloutError } from "../shared/errors";
import { dynamicResourceType } from "../shared/project";
import { containsUnknown } from "../shared/unknown";
import type { DeploymentManifest } from "./manifest";
import { contentHash, describeContentChanges, moduleImage, withRegistryPassword } from "./deploymentContent";
import { RegistryFactory, connectWithSdk, hostNameOf } from "./hubClient";
import { describeHubError, statusOf, withHubRetry } from "./hubRetry";
import { Clock, DEFAULT_RETRY_POLICY, REAL_CLOCK, RetryPolicy } from "../shared/retry";
import {
    ConfigurationVerify,
    DeviceWatch,
    VerifySettings,
    describeConfigurationWatch,
    describeDeviceWatch,
    listed,
    unconfirmedDevices,
    verifyConfiguration,
    watchConfiguration,
    watchDevices,
} from "./rollout";

/** device: the manifest applied to each listed device; fleet: an at-scale configuration with a target condition. */
export const DEPLOYMENT_MODES = ["device", "fleet"] as const;
export type DeploymentMode = (typeof DEPLOYMENT_MODES)[number];

/** The URN type of the deployment resource (registered by EdgeDeploymentResource as module "iot"). */
export const EDGE_DEPLOYMENT_TYPE = dynamicResourceType("iot", "EdgeDeployment");

/** Fleet mode: a ring of devices that gets new content first, verified before the fleet's configuration moves. */
export interface CanarySettings {
    /** Target condition of the ring, e.g. tags.ring='canary'. */
    condition: string;
    /** Priority of the canary configuration: above the fleet's, so the ring's devices take it. */
    priority: number;
    /** How long the ring has to confirm the new content. */
    timeoutSeconds: number;
    /** Devices of the ring that must report success (and none failure) before the fleet moves. */
    minSuccessCount: number;
}

export interface EdgeDeploymentInputs {
    serviceConnectionString: string;
    /** Registry password (secret), put into the content only when it is sent. */
    registryPassword: string;
    mode: DeploymentMode;
    /** Base of the fleet configuration id. */
    name: string;
    /** The manifest with the registry password as a placeholder: reviewable, diffable. */
    content: DeploymentManifest;
    /** Device mode: the devices to apply to. */
    deviceIds: string[];
    /** Fleet mode. */
    targetCondition: string;
    priority: number;
    labels: Record<string, string>;
    metrics: Record<string, string>;
    verify: VerifySettings;
    /** Device mode: how many devices are sent the manifest at once. */
    concurrency: number;
    /**
     * When verification fails: re-apply the previous manifest (device mode) or remove the new configurations
     * (fleet mode), wait for the devices to report it, then fail. Off: the new manifest stays. Absent in state
     * written before the key existed, which means on.
     */
    rollbackOnFailure: boolean;
    /** Fleet mode: the canary stage; absent, or an empty condition, for none. */
    canary?: CanarySettings;
}

export interface EdgeDeploymentOutputs extends EdgeDeploymentInputs {
    hostName: string;
    contentHash: string;
    /** Fleet mode: the IoT Hub configuration id. */
    configurationId: string;
    /** Fleet mode with a canary stage: the canary configuration's id ("" or absent without one). */
    canaryConfigurationId?: string;
    /** Device mode: the $edgeAgent desired version each device was given. */
    appliedVersions: Record<string, number>;
}

/** The label a configuration carries while it is verified (removed once it passes). */
export const ROLLOUT_LABEL = "edgemlRollout";
const VERIFYING = "verifying";

type Hub = ReturnType<RegistryFactory>;

interface Targeting {
    targetCondition: string;
    priority: number;
    labels: Record<string, string>;
    metrics: Record<string, string>;
}

interface HubConfiguration {
    id: string;
    priority: number;
    targetCondition: string;
    labels?: Record<string, string>;
    content?: { modulesContent?: DeploymentManifest["modulesContent"] };
    metrics?: { queries?: Record<string, string> };
}

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
        failures.push(...checkCanary(news));
        return { inputs: news, failures };
    }

    async create(inputs: EdgeDeploymentInputs): Promise<pulumi.dynamic.CreateResult> {
        const outs = inputs.mode === "fleet" ? await this.rollOutFleet(inputs) : await this.rollOutDevices(inputs, undefined);
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
            return { outs: await this.rollOutDevices(news, olds) };
        }
        // Fleet, same content: only the mutable fields change (target condition, priority, labels, metrics, canary ring).
        const registry = this.connect(news.serviceConnectionString);
        const id = olds.configurationId;
        let canaryId: string;
        try {
            canaryId = await this.updateCanary(registry, olds, news);
            await this.retarget(registry, id, {
                targetCondition: news.targetCondition,
                priority: news.priority,
                labels: news.labels,
                metrics: news.metrics,
            });
        } catch (error) {
            // Gone (a hub replaced under the same name, or deleted in the portal): roll out again.
            if (statusOf(error) === 404) return { outs: await this.rollOutFleet(news) };
            throw error;
        }
        if (news.verify.enabled) await verifyConfiguration(registry, id, news.verify, this.retry, this.clock);
        return { outs: { ...olds, ...news, hostName: olds.hostName, configurationId: id, canaryConfigurationId: canaryId } };
    }

    async delete(_id: string, olds: EdgeDeploymentOutputs): Promise<void> {
        // Device mode leaves devices running their last manifest: there is no "unapply", and deleting the device
        // identities (EdgeDevice) is what takes a device out of service.
        if (olds.mode !== "fleet") return;
        const registry = this.connect(olds.serviceConnectionString);
        // The fleet's first: the ring's devices then still have the canary configuration (same content) to run.
        for (const id of [olds.configurationId, olds.canaryConfigurationId ?? ""].filter(Boolean)) {
            try {
                await this.removeConfiguration(registry, id);
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

    // ---- device mode

    private async rollOutDevices(
        inputs: EdgeDeploymentInputs,
        previous: EdgeDeploymentOutputs | undefined,
    ): Promise<EdgeDeploymentOutputs> {
        const registry = this.connect(inputs.serviceConnectionString);
        const content = withRegistryPassword(inputs.content, inputs.registryPassword);
        const hash = contentHash(inputs.content, inputs.registryPassword);
        const appliedVersions = await this.applyToDevices(registry, inputs.deviceIds, content, inputs.concurrency);
        const outs = {
            ...inputs,
            hostName: hostNameOf(inputs.serviceConnectionString),
            contentHash: hash,
            configurationId: "",
            canaryConfigurationId: "",
            appliedVersions,
        };
        if (!inputs.verify.enabled) return outs;
        const watch = await watchDevices(registry, appliedVersions, inputs.verify, this.retry, this.clock, {
            concurrency: inputs.concurrency,
        });
        if (watch.ok) return outs;
        const failure = describeDeviceWatch(watch, inputs.verify);
        const unapplied = watch.timedOut ? " The manifest was applied; edgeAgent applies it when the device is online." : "";
        if (inputs.rollbackOnFailure === false)
            throw new RolloutError(`${failure}.${unapplied} rollbackOnFailure is off: the devices keep the new manifest.`);
        if (!previous || previous.mode !== "device" || !previous.content) {
            throw new RolloutError(
                `${failure}.${unapplied} Nothing to roll back to: this is the deployment's first rollout to these devices, which keep the new manifest.`,
            );
        }
        return this.rollBackDevices(registry, inputs, previous, appliedVersions, watch, failure);
    }

    /** Re-applies the previous manifest to every device sent the new one, waits for those that acted on it; always throws. */
    private async rollBackDevices(
        registry: Hub,
        inputs: EdgeDeploymentInputs,
        previous: EdgeDeploymentOutputs,
        sentVersions: Record<string, number>,
        watch: DeviceWatch,
        failure: string,
    ): Promise<never> {
        const moduleName = previous.verify?.moduleName ?? inputs.verify.moduleName;
        const previousImage = moduleImage(previous.content, moduleName) ?? previous.verify?.image ?? "the previous manifest";
        // The previous manifest as it was verified: with the password it was sent with (the state's). This stack
        // revokes an old pull-token password only after a rollout of its successor verified (TokenPasswordRevocation
        // waits on it), and deletes a replaced token or registry only when the up succeeds, so during a failed up
        // that password still works; the new one may be what failed.
        const content = withRegistryPassword(previous.content, previous.registryPassword);
        const sent = Object.keys(sentVersions);
        let versions: Record<string, number>;
        try {
            versions = await this.applyToDevices(registry, sent, content, inputs.concurrency);
        } catch (error) {
            throw new RolloutError(
                `${failure}; rollback to ${previousImage} failed: ${(error as Error).message} The devices it did not reach keep the new manifest; ` +
                    "the stack still records the previous one, so `pulumi up` again rolls out (and, failing, rolls back) once more, and after a fix rolls forward.",
            );
        }
        // Devices whose edgeAgent acted on the new manifest must report the previous one; silent ones are not waited for.
        const online = new Set([
            ...watch.confirmed,
            ...watch.failed.map((f) => f.deviceId),
            ...watch.pending.filter((p) => p.caughtUp).map((p) => p.deviceId),
        ]);
        const verify = { ...inputs.verify, moduleName, image: previousImage };
        const back = await watchDevices(registry, versions, verify, this.retry, this.clock, {
            waitFor: online,
            concurrency: inputs.concurrency,
        });
        const silent = back.pending.filter((p) => !online.has(p.deviceId)).map((p) => p.deviceId);
        const silentNote =
            silent.length > 0 ? `; ${silent.length} device(s) never reported and get it when they connect: ${listed(silent)}` : "";
        if (back.ok) {
            throw new RolloutError(
                `${failure}; rolled back to ${previousImage}: the previous manifest was re-applied to ${sent.length} device(s) and ${back.confirmed.length} report it running${silentNote}. ` +
                    "The stack keeps the previous deployment: fix the cause and run `pulumi up` again to roll forward.",
            );
        }
        throw new RolloutError(
            `${failure}; ${describeDeviceWatch(back, verify, `rollback to ${previousImage}`)}. Every device was sent the previous manifest again and the stack ` +
                "records it: `pulumi up` again rolls out (and, failing, rolls back) once more, and after a fix rolls forward.",
        );
    }

    /** Applies the manifest to every device, `concurrency` at a time; names every device that failed. */
    private async applyToDevices(
        registry: Hub,
        deviceIds: string[],
        content: DeploymentManifest,
        concurrency: number,
    ): Promise<Record<string, number>> {
        const applied: Record<string, number> = {};
        const failed: string[] = [];
        const queue = [...deviceIds];
        const worker = async () => {
            for (let deviceId = queue.shift(); deviceId !== undefined; deviceId = queue.shift()) {
                try {
                    await withHubRetry(
                        `apply deployment to ${deviceId}`,
                        () => registry.applyConfigurationContentOnDevice(deviceId, content as never),
                        this.retry,
                    );
                    const twin = await withHubRetry(
                        `read $edgeAgent of ${deviceId}`,
                        () => registry.getModuleTwin(deviceId, "$edgeAgent"),
                        this.retry,
                    );
                    applied[deviceId] =
                        (twin.responseBody as { properties?: { desired?: { $version?: number } } }).properties?.desired?.$version ?? 0;
                } catch (error) {
                    failed.push(`${deviceId} (${describeHubError(error)})`);
                }
            }
        };
        await Promise.all(Array.from({ length: Math.min(concurrency, deviceIds.length) }, worker));
        if (failed.length > 0) {
            throw new Error(
                `the deployment reached ${Object.keys(applied).length} of ${deviceIds.length} devices; failed: ${failed.sort().join("; ")}. ` +
                    "Applying is idempotent: run `pulumi up` again to converge.",
            );
        }
        return Object.fromEntries(deviceIds.map((id) => [id, applied[id]]));
    }

    // ---- fleet mode

    /** Stage 1 (optional): the canary ring; stage 2: the fleet. Each verified stage clears its label. */
    private async rollOutFleet(inputs: EdgeDeploymentInputs): Promise<EdgeDeploymentOutputs> {
        const registry = this.connect(inputs.serviceConnectionString);
        const content = withRegistryPassword(inputs.content, inputs.registryPassword);
        const hash = contentHash(inputs.content, inputs.registryPassword);
        const configurationId = fleetConfigurationId(inputs.name, hash);
        const canary = canaryOf(inputs);
        const canaryId = canary ? canaryConfigurationId(inputs.name, hash) : "";
        await this.removeLeftovers(registry, inputs.name, [configurationId, canaryId]);
        const created: string[] = [];
        const labelled: string[] = [];
        if (canary) {
            await this.addConfiguration(
                registry,
                canaryId,
                content,
                { ...targetingOf(inputs), targetCondition: canary.condition, priority: canary.priority },
                true,
            );
            created.push(canaryId);
            labelled.push(canaryId);
            await this.verifyStage(registry, inputs, created, canaryId, "canary stage", canaryVerify(inputs, canary));
        }
        await this.addConfiguration(registry, configurationId, content, targetingOf(inputs), inputs.verify.enabled);
        created.push(configurationId);
        if (inputs.verify.enabled) {
            labelled.push(configurationId);
            await this.verifyStage(registry, inputs, created, configurationId, canary ? "fleet stage" : "", fleetVerify(inputs));
        }
        for (const id of labelled) await this.retarget(registry, id, undefined, inputs.labels);
        return {
            ...inputs,
            hostName: hostNameOf(inputs.serviceConnectionString),
            contentHash: hash,
            configurationId,
            canaryConfigurationId: canaryId,
            appliedVersions: {},
        };
    }

    /** Waits for one stage; on failure rolls back every configuration this rollout created, and throws. */
    private async verifyStage(
        registry: Hub,
        inputs: EdgeDeploymentInputs,
        created: string[],
        id: string,
        stage: string,
        verify: ConfigurationVerify,
    ): Promise<void> {
        const watch = await watchConfiguration(registry, id, verify, this.retry, this.clock);
        if (watch.ok) return;
        const failure = `${stage ? `${stage}: ` : ""}${describeConfigurationWatch(id, watch, verify)}`;
        await this.rollBackFleet(registry, inputs, created, id, failure, verify);
    }

    /** Removes the new configurations, waits for the devices to report the previous ones; always throws. */
    private async rollBackFleet(
        registry: Hub,
        inputs: EdgeDeploymentInputs,
        created: string[],
        failedId: string,
        failure: string,
        verify: ConfigurationVerify,
    ): Promise<never> {
        const hub = hostNameOf(inputs.serviceConnectionString).split(".")[0];
        if (inputs.rollbackOnFailure === false) {
            throw new RolloutError(
                `${failure}. rollbackOnFailure is off: ${created.join(", ")} stay in the hub, outside the stack's state, and the devices keep the new manifest; ` +
                    `the next rollout of this stack removes them (or \`az iot edge deployment delete -n ${hub} -d <id>\`).`,
            );
        }
        // Devices that never acted on the failed configuration are not waited for when they return to the old one.
        const silent = new Set(
            (await unconfirmedDevices(registry, failedId, verify, this.retry).catch(() => []))
                .filter((p) => !p.caughtUp)
                .map((p) => p.deviceId),
        );
        const notRemoved: string[] = [];
        for (const id of [...created].reverse()) {
            try {
                await this.removeConfiguration(registry, id);
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
        const previous = await this.ownConfigurations(registry, inputs.name, created);
        if (previous.length === 0) {
            throw new RolloutError(
                `${failure}; removed ${created.join(", ")}. No earlier deployment of this stack targets the devices, so they keep the new manifest until a fixed one is deployed.`,
            );
        }
        const results = [];
        for (const configuration of previous) {
            const image = moduleImage(configuration.content as DeploymentManifest, inputs.verify.moduleName);
            const settings = {
                timeoutSeconds: inputs.verify.timeoutSeconds,
                pollSeconds: inputs.verify.pollSeconds,
                moduleName: inputs.verify.moduleName,
                image,
                optional: silent,
            };
            results.push({
                configuration,
                image,
                settings,
                watch: await watchConfiguration(registry, configuration.id, settings, this.retry, this.clock),
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

    /** In-place changes of the canary ring (its configuration carries the same content as the fleet's). */
    private async updateCanary(registry: Hub, olds: EdgeDeploymentOutputs, news: EdgeDeploymentInputs): Promise<string> {
        const oldId = olds.canaryConfigurationId ?? "";
        const canary = canaryOf(news);
        if (!canary) {
            if (oldId) await this.removeConfiguration(registry, oldId);
            return "";
        }
        const targeting = { ...targetingOf(news), targetCondition: canary.condition, priority: canary.priority };
        if (oldId) {
            try {
                await this.retarget(registry, oldId, targeting);
                return oldId;
            } catch (error) {
                if (statusOf(error) !== 404) throw error;
            }
        }
        // A ring added (or its configuration deleted outside Pulumi): the current content, verified on the ring.
        const id = canaryConfigurationId(news.name, olds.contentHash);
        await this.addConfiguration(registry, id, withRegistryPassword(news.content, news.registryPassword), targeting, true);
        await this.verifyStage(registry, news, [id], id, "canary stage", canaryVerify(news, canary));
        await this.retarget(registry, id, undefined, news.labels);
        return id;
    }

    private async addConfiguration(
        registry: Hub,
        id: string,
        content: DeploymentManifest,
        targeting: Targeting,
        verifying: boolean,
    ): Promise<void> {
        const labels = verifying ? { ...targeting.labels, [ROLLOUT_LABEL]: VERIFYING } : targeting.labels;
        const configuration = {
            id,
            schemaVersion: "1.0",
            content: { modulesContent: content.modulesContent },
            targetCondition: targeting.targetCondition,
            priority: targeting.priority,
            labels,
            metrics: { queries: targeting.metrics },
        };
        try {
            await withHubRetry(`create deployment ${id}`, () => registry.addConfiguration(configuration as never), this.retry);
        } catch (error) {
            // 409: a retried create that had succeeded, or a re-run after a partial failure. The id is a content
            // hash, so an existing configuration with this id already carries this content; its targeting may not.
            if (statusOf(error) !== 409) throw new Error(`creating deployment ${id} failed: ${describeHubError(error)}`);
            await this.retarget(registry, id, targeting, labels);
        }
    }

    /** Sets a configuration's mutable fields (targeting and/or labels), keeping its content. */
    private async retarget(registry: Hub, id: string, targeting: Targeting | undefined, labels = targeting?.labels): Promise<void> {
        await withHubRetry(
            `update deployment ${id}`,
            async () => {
                const current = (await registry.getConfiguration(id)).responseBody as unknown as Record<string, unknown>;
                const changed = {
                    ...current,
                    ...(targeting
                        ? {
                              targetCondition: targeting.targetCondition,
                              priority: targeting.priority,
                              metrics: { queries: targeting.metrics },
                          }
                        : {}),
                    labels,
                };
                return registry.updateConfiguration(changed as never);
            },
            this.retry,
        );
    }

    /** Removes a configuration; one already gone is fine (a retried delete that had succeeded). */
    private async removeConfiguration(registry: Hub, id: string): Promise<void> {
        try {
            await withHubRetry(`delete deployment ${id}`, () => registry.removeConfiguration(id), this.retry);
        } catch (error) {
            if (statusOf(error) !== 404) throw error;
        }
    }

    /** This deployment's configurations in the hub, highest priority first (a canary before the fleet's). */
    private async ownConfigurations(registry: Hub, name: string, exclude: string[]): Promise<HubConfiguration[]> {
        const all = (await withHubRetry("list deployments", () => registry.getConfigurations(), this.retry))
            .responseBody as unknown as HubConfiguration[];
        const pattern = ownConfigurationPattern(name);
        const own = all.filter((c) => pattern.test(c.id) && !exclude.includes(c.id) && c.labels?.[ROLLOUT_LABEL] !== VERIFYING);
        const full = [];
        for (const configuration of own) {
            // The list may leave the content out; the configuration itself has it.
            full.push(
                configuration.content?.modulesContent
                    ? configuration
                    : ((
                          await withHubRetry(
                              `read deployment ${configuration.id}`,
                              () => registry.getConfiguration(configuration.id),
                              this.retry,
                          )
                      ).responseBody as unknown as HubConfiguration),
            );
        }
        return full.sort((a, b) => b.priority - a.priority);
    }

    /** Configurations of this deployment left under verification by a rollout whose rollback could not remove them. */
    private async removeLeftovers(registry: Hub, name: string, keep: string[]): Promise<void> {
        const all = (await withHubRetry("list deployments", () => registry.getConfigurations(), this.retry))
            .responseBody as unknown as HubConfiguration[];
        const pattern = ownConfigurationPattern(name);
        for (const configuration of all) {
            if (!pattern.test(configuration.id) || keep.includes(configuration.id) || configuration.labels?.[ROLLOUT_LABEL] !== VERIFYING)
                continue;
            try {
                await this.removeConfiguration(registry, configuration.id);
            } catch (error) {
                throw new Error(
                    `removing deployment ${configuration.id}, left over by a rollout that failed, failed: ${describeHubError(error)}`,
                );
            }
        }
    }
}

/** IoT Hub configuration ids: lowercase letters, digits and - : + % _ # * ? ! ( ) , = @ ; $ ', at most 128. */
export function fleetConfigurationId(name: string, hash: string): string {
    return `${configurationBase(name)}-${hash.slice(0, 12)}`;
}

/** The canary stage's configuration: the fleet's id with -canary, so both carry the content hash. */
export function canaryConfigurationId(name: string, hash: string): string {
    return `${fleetConfigurationId(name, hash)}-canary`;
}

function configurationBase(name: string): string {
    return name
        .toLowerCase()
        .replace(/[^a-z0-9-]+/g, "-")
        .slice(0, 100);
}

function ownConfigurationPattern(name: string): RegExp {
    return new RegExp(`^${configurationBase(name)}-[0-9a-f]{12}(-canary)?$`);
}

function withoutRolloutLabel(labels: Record<string, string> | undefined): Record<string, string> {
    const { [ROLLOUT_LABEL]: _rollout, ...rest } = labels ?? {};
    return rest;
}

function targetingOf(inputs: EdgeDeploymentInputs): Targeting {
    return { targetCondition: inputs.targetCondition, priority: inputs.priority, labels: inputs.labels, metrics: inputs.metrics };
}

/** The canary stage, if the inputs ask for one (fleet mode, a condition). */
function canaryOf(inputs: Partial<EdgeDeploymentInputs> | undefined): CanarySettings | undefined {
    return inputs?.mode === "fleet" && inputs.canary?.condition ? inputs.canary : undefined;
}

function canaryVerify(inputs: EdgeDeploymentInputs, canary: CanarySettings): ConfigurationVerify {
    const { pollSeconds, moduleName, image } = inputs.verify;
    return { timeoutSeconds: canary.timeoutSeconds, pollSeconds, moduleName, image, minSuccessCount: canary.minSuccessCount };
}

function fleetVerify(inputs: EdgeDeploymentInputs): ConfigurationVerify {
    const { timeoutSeconds, pollSeconds, moduleName, image } = inputs.verify;
    return { timeoutSeconds, pollSeconds, moduleName, image };
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
    const lines: string[] = [];
    const canary = inputs.canary && (containsUnknown(inputs.canary) || inputs.canary.condition) ? inputs.canary : undefined;
    if (canary) {
        lines.push(
            `stage 1: canary deployment ${base}-<content hash>-canary, target ${show(canary.condition)}, priority ${show(canary.priority)}, ` +
                `must verify ${show(canary.minSuccessCount)} device(s) within ${show(canary.timeoutSeconds)}s`,
        );
    }
    const fleetCheck = verified
        ? `must verify every targeted device within ${show(verify.timeoutSeconds)}s`
        : "not verified (verifyRollout false)";
    lines.push(
        `stage ${canary ? 2 : 1}: fleet deployment ${base}-<content hash>, target ${show(inputs.targetCondition)}, priority ${show(inputs.priority)}, ${fleetCheck}`,
    );
    lines.push("then: the previous deployment is deleted");
    if (canary || verified) {
        lines.push(
            rollback
                ? "on failure: the new deployment(s) are removed, the devices return to the previous one by priority, then the up fails"
                : "on failure: the new deployment(s) stay (rollbackOnFailure false)",
        );
    }
    return lines;
}
