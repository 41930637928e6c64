// Dynamic provider for IoT Edge deployments, in two modes:
//   device: the manifest applied to each listed device (applyConfigurationContent), bounded concurrency;
//   fleet:  an at-scale IoT Hub configuration (target condition, priority, labels, metrics). Its content is
//           immutable, so new content is a new configuration whose id carries the content hash: Pulumi creates
//           it before deleting the old one, and devices never go without a deployment.
import type * as pulumi from "@pulumi/pulumi";
import { dynamicResourceType } from "../shared/project";
import { containsUnknown } from "../shared/unknown";
import type { DeploymentManifest } from "./manifest";
import { contentHash, describeContentChanges, withRegistryPassword } from "./deploymentContent";
import { RegistryFactory, connectWithSdk, hostNameOf } from "./hubClient";
import { describeHubError, statusOf, withHubRetry } from "./hubRetry";
import { Clock, DEFAULT_RETRY_POLICY, REAL_CLOCK, RetryPolicy } from "../shared/retry";
import { VerifySettings, verifyConfiguration, verifyDevices } from "./rollout";

/** device: the manifest applied to each listed device; fleet: an at-scale configuration with a target condition. */
export const DEPLOYMENT_MODES = ["device", "fleet"] as const;
export type DeploymentMode = (typeof DEPLOYMENT_MODES)[number];

/** The URN type of the deployment resource (registered by EdgeDeploymentResource as module "iot"). */
export const EDGE_DEPLOYMENT_TYPE = dynamicResourceType("iot", "EdgeDeployment");

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
}

export interface EdgeDeploymentOutputs extends EdgeDeploymentInputs {
    hostName: string;
    contentHash: string;
    /** Fleet mode: the IoT Hub configuration id. */
    configurationId: string;
    /** Device mode: the $edgeAgent desired version each device was given. */
    appliedVersions: Record<string, number>;
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
        if (known(news.mode) && news.mode !== "device" && news.mode !== "fleet") failures.push({ property: "mode", reason: `"${news.mode}" must be device or fleet` });
        if (news.mode === "fleet" && known(news.targetCondition) && !news.targetCondition) {
            failures.push({ property: "targetCondition", reason: "fleet mode needs a target condition" });
        }
        if (news.mode === "device" && Array.isArray(news.deviceIds) && news.deviceIds.length === 0) {
            failures.push({ property: "deviceIds", reason: "device mode needs at least one device" });
        }
        if (known(news.concurrency) && !(news.concurrency >= 1)) failures.push({ property: "concurrency", reason: "must be at least 1" });
        return { inputs: news, failures };
    }

    async create(inputs: EdgeDeploymentInputs): Promise<pulumi.dynamic.CreateResult> {
        const outs = await this.rollOut(inputs);
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
        if (news.mode === "fleet" && contentKnown && olds.contentHash !== contentHash(news.content, news.registryPassword)) replaces.push("content");
        // Same hub name, other credentials: a rotated key, or a hub replaced under the same name (update re-creates).
        const credentialsChanged = connection !== olds.serviceConnectionString;
        return { changes: unknown || changes.length > 0 || replaces.length > 0 || credentialsChanged, replaces, deleteBeforeReplace: false };
    }

    async update(_id: string, olds: EdgeDeploymentOutputs, news: EdgeDeploymentInputs): Promise<pulumi.dynamic.UpdateResult> {
        if (news.mode === "device") return { outs: await this.rollOut(news) };
        // Fleet, same content: only the mutable fields change (target condition, priority, labels, metrics).
        const registry = this.connect(news.serviceConnectionString);
        const id = olds.configurationId;
        try {
            await withHubRetry(`update deployment ${id}`, async () => {
                const current = (await registry.getConfiguration(id)).responseBody as unknown as Record<string, unknown>;
                const changed = { ...current, targetCondition: news.targetCondition, priority: news.priority, labels: news.labels, metrics: { queries: news.metrics } };
                return registry.updateConfiguration(changed as never);
            }, this.retry);
        } catch (error) {
            // Gone (a hub replaced under the same name, or deleted in the portal): roll out again.
            if (statusOf(error) === 404) return { outs: await this.rollOut(news) };
            throw error;
        }
        if (news.verify.enabled) await verifyConfiguration(registry, id, news.verify, this.retry, this.clock);
        return { outs: { ...olds, ...news, hostName: olds.hostName, configurationId: id } };
    }

    async delete(_id: string, olds: EdgeDeploymentOutputs): Promise<void> {
        // Device mode leaves devices running their last manifest: there is no "unapply", and deleting the device
        // identities (EdgeDevice) is what takes a device out of service.
        if (olds.mode !== "fleet") return;
        const registry = this.connect(olds.serviceConnectionString);
        try {
            await withHubRetry(`delete deployment ${olds.configurationId}`, () => registry.removeConfiguration(olds.configurationId), this.retry);
        } catch (error) {
            if (statusOf(error) !== 404) throw new Error(`deleting deployment ${olds.configurationId} failed: ${describeHubError(error)}`);
        }
    }

    /** Fleet mode: the configuration as the hub holds it now (targeting edited in the portal shows as drift). */
    async read(id: string, props: EdgeDeploymentOutputs): Promise<pulumi.dynamic.ReadResult> {
        // Per-device content has no object of its own in the hub to read back; what was applied stays recorded.
        if (props.mode !== "fleet") return { id, props };
        const registry = this.connect(props.serviceConnectionString);
        try {
            const current = (await withHubRetry(`read deployment ${id}`, () => registry.getConfiguration(id), this.retry)).responseBody as unknown as {
                targetCondition: string;
                priority: number;
                labels?: Record<string, string>;
                metrics?: { queries?: Record<string, string> };
            };
            return {
                id,
                props: { ...props, targetCondition: current.targetCondition, priority: current.priority, labels: current.labels ?? {}, metrics: current.metrics?.queries ?? {} },
            };
        } catch (error) {
            if (statusOf(error) === 404) return {};
            throw error;
        }
    }

    private async rollOut(inputs: EdgeDeploymentInputs): Promise<EdgeDeploymentOutputs> {
        const registry = this.connect(inputs.serviceConnectionString);
        const content = withRegistryPassword(inputs.content, inputs.registryPassword);
        const hash = contentHash(inputs.content, inputs.registryPassword);
        const base = { ...inputs, hostName: hostNameOf(inputs.serviceConnectionString), contentHash: hash };
        if (inputs.mode === "fleet") {
            const configurationId = fleetConfigurationId(inputs.name, hash);
            await this.addConfiguration(registry, configurationId, content, inputs);
            if (inputs.verify.enabled) await verifyConfiguration(registry, configurationId, inputs.verify, this.retry, this.clock);
            return { ...base, configurationId, appliedVersions: {} };
        }
        const appliedVersions = await this.applyToDevices(registry, inputs.deviceIds, content, inputs.concurrency);
        if (inputs.verify.enabled) await verifyDevices(registry, appliedVersions, inputs.verify, this.retry, this.clock);
        return { ...base, configurationId: "", appliedVersions };
    }

    private async addConfiguration(registry: ReturnType<RegistryFactory>, id: string, content: DeploymentManifest, inputs: EdgeDeploymentInputs): Promise<void> {
        const configuration = {
            id,
            schemaVersion: "1.0",
            content: { modulesContent: content.modulesContent },
            targetCondition: inputs.targetCondition,
            priority: inputs.priority,
            labels: inputs.labels,
            metrics: { queries: inputs.metrics },
        };
        try {
            await withHubRetry(`create deployment ${id}`, () => registry.addConfiguration(configuration as never), this.retry);
        } catch (error) {
            // 409: a retried create that had succeeded, or a re-run after a partial failure. The id is a content
            // hash, so an existing configuration with this id already carries this content.
            if (statusOf(error) !== 409) throw new Error(`creating deployment ${id} failed: ${describeHubError(error)}`);
        }
    }

    /** Applies the manifest to every device, `concurrency` at a time; names every device that failed. */
    private async applyToDevices(registry: ReturnType<RegistryFactory>, deviceIds: string[], content: DeploymentManifest, concurrency: number): Promise<Record<string, number>> {
        const applied: Record<string, number> = {};
        const failed: string[] = [];
        const queue = [...deviceIds];
        const worker = async () => {
            for (let deviceId = queue.shift(); deviceId !== undefined; deviceId = queue.shift()) {
                try {
                    await withHubRetry(`apply deployment to ${deviceId}`, () => registry.applyConfigurationContentOnDevice(deviceId, content as never), this.retry);
                    const twin = await withHubRetry(`read $edgeAgent of ${deviceId}`, () => registry.getModuleTwin(deviceId, "$edgeAgent"), this.retry);
                    applied[deviceId] = (twin.responseBody as { properties?: { desired?: { $version?: number } } }).properties?.desired?.$version ?? 0;
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
}

/** IoT Hub configuration ids: lowercase letters, digits and - : + % _ # * ? ! ( ) , = @ ; $ ', at most 128. */
export function fleetConfigurationId(name: string, hash: string): string {
    const base = name.toLowerCase().replace(/[^a-z0-9-]+/g, "-").slice(0, 100);
    return `${base}-${hash.slice(0, 12)}`;
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
    }
    if (olds && containsUnknown(news.registryPassword)) changes.push("registry password: known after apply");
    else if (olds && olds.registryPassword !== news.registryPassword) changes.push("registry password rotated");
    return changes;
}
