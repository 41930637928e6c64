// Dynamic provider for IoT Edge device identities. No ARM resource exists for them: this is the registry's
// data plane, driven through the azure-iothub SDK with our own retries.
import type * as pulumi from "@pulumi/pulumi";
import { agentTables } from "../dps/deviceFiles";
import { configKey, dynamicResourceType } from "../shared/project";
import { containsUnknown, UNKNOWN_VALUE } from "../shared/unknown";
// The naming rules alone, not the config face: a provider is serialized with what it imports, and the loader
// brings js-yaml, which Pulumi's closure serializer cannot capture.
import * as names from "../config/names";
import { RegistryFactory, connectWithSdk, hostNameOf } from "./hubClient";
import { describeHubError, statusOf, withHubRetry } from "./hubRetry";
import { DEFAULT_RETRY_POLICY, RetryPolicy } from "../shared/retry";

/** The URN type of a device identity (registered by EdgeDevice as module "iot"). */
export const EDGE_DEVICE_TYPE = dynamicResourceType("iot", "EdgeDevice");

export interface EdgeDeviceInputs {
    /** Service connection string with registry write rights (secret). */
    serviceConnectionString: string;
    deviceId: string;
    /** Twin tags, so at-scale deployments can target the device. */
    tags: Record<string, string>;
    /**
     * The edgeAgent image the device's config.toml names (`[agent.config] image`), the one aziot-edge starts before
     * any deployment arrives; it follows edgeRuntimeVersion, as IoT Edge 1.6's template does. Optional so that
     * state written before it existed still reads; absent, the file leaves the package's default in place.
     */
    agentImage?: string;
}

export interface EdgeDeviceOutputs extends EdgeDeviceInputs {
    hostName: string;
    /** Device connection string (secret). */
    connectionString: string;
    /** A ready /etc/aziot/config.toml for manual provisioning (secret). */
    configToml: string;
    /** True when the identity existed before and was taken over rather than created. */
    adopted: boolean;
}

interface DeviceBody {
    deviceId: string;
    capabilities?: { iotEdge?: boolean };
    authentication?: { symmetricKey?: { primaryKey?: string } };
}

export class EdgeDeviceProvider implements pulumi.dynamic.ResourceProvider {
    constructor(
        private readonly connect: RegistryFactory = connectWithSdk,
        private readonly retry: RetryPolicy = DEFAULT_RETRY_POLICY,
    ) {}

    async check(_olds: unknown, news: EdgeDeviceInputs): Promise<pulumi.dynamic.CheckResult> {
        const failures: pulumi.dynamic.CheckFailure[] = [];
        // An input not known yet (a preview) is checked when it is.
        const broken = news.deviceId === UNKNOWN_VALUE ? undefined : names.deviceId(String(news.deviceId ?? ""));
        if (broken) failures.push({ property: "deviceId", reason: `"${news.deviceId}" is not a valid device id: ${broken}` });
        for (const [key, value] of Object.entries(containsUnknown(news.tags) && typeof news.tags !== "object" ? {} : (news.tags ?? {}))) {
            if (typeof value !== "string") failures.push({ property: `tags.${key}`, reason: "tag values must be strings" });
        }
        return { inputs: news, failures };
    }

    async create(inputs: EdgeDeviceInputs): Promise<pulumi.dynamic.CreateResult> {
        const registry = this.connect(inputs.serviceConnectionString);
        const hostName = hostNameOf(inputs.serviceConnectionString);
        let device: DeviceBody;
        let adopted = false;
        try {
            // No authentication in the request: the hub generates the SAS keys.
            const created = await withHubRetry(
                `create device ${inputs.deviceId}`,
                () => registry.create({ deviceId: inputs.deviceId, status: "enabled", capabilities: { iotEdge: true } }),
                this.retry,
            );
            device = created.responseBody as DeviceBody;
        } catch (error) {
            // 409: it exists, possibly because a retried create had in fact succeeded. Adopt it if it is an edge device.
            if (statusOf(error) !== 409)
                throw new Error(`creating device ${inputs.deviceId} in ${hostName} failed: ${describeHubError(error)}`);
            device = (await withHubRetry(`get device ${inputs.deviceId}`, () => registry.get(inputs.deviceId), this.retry))
                .responseBody as DeviceBody;
            if (!device.capabilities?.iotEdge) {
                throw new Error(
                    `device ${inputs.deviceId} already exists in ${hostName} and is not an IoT Edge device; ` +
                        `choose another id in ${configKey("edgeDevices")} or delete that device first`,
                );
            }
            adopted = true;
        }
        await this.setTags(inputs, {});
        return { id: inputs.deviceId, outs: outputsFor(inputs, hostName, device, adopted) };
    }

    async diff(_id: string, olds: EdgeDeviceOutputs, news: EdgeDeviceInputs): Promise<pulumi.dynamic.DiffResult> {
        // Replacement is decided from known values only; an unknown input (a preview) is a change to look at again.
        const replaces: string[] = [];
        if (news.deviceId !== UNKNOWN_VALUE && olds.deviceId !== news.deviceId) replaces.push("deviceId");
        const connection = news.serviceConnectionString;
        if (connection !== UNKNOWN_VALUE && olds.hostName !== hostNameOf(connection)) replaces.push("serviceConnectionString");
        const tagsChanged = containsUnknown(news.tags) || JSON.stringify(sorted(olds.tags)) !== JSON.stringify(sorted(news.tags));
        // Same hub name, other credentials: the key was rotated, or the hub was replaced and has lost the identity
        // (update re-creates it then).
        const credentialsChanged = connection !== olds.serviceConnectionString;
        // Only the config.toml output changes with the agent image: an in-place update, never a new identity.
        const agentImageChanged = (news.agentImage ?? "") !== (olds.agentImage ?? "");
        // A new id or hub is a new identity; creating it before deleting the old one is safe (they never clash).
        const unknown = Object.values(news).some(containsUnknown);
        const changes = unknown || replaces.length > 0 || tagsChanged || credentialsChanged || agentImageChanged;
        return { changes, replaces, deleteBeforeReplace: false };
    }

    async update(_id: string, olds: EdgeDeviceOutputs, news: EdgeDeviceInputs): Promise<pulumi.dynamic.UpdateResult> {
        const registry = this.connect(news.serviceConnectionString);
        let device: DeviceBody;
        try {
            device = (await withHubRetry(`get device ${news.deviceId}`, () => registry.get(news.deviceId), this.retry))
                .responseBody as DeviceBody;
        } catch (error) {
            // A hub replaced under the same name has none of the old identities: register it again.
            if (statusOf(error) === 404) return { outs: (await this.create(news)).outs };
            throw new Error(`reading device ${news.deviceId} failed: ${describeHubError(error)}`);
        }
        await this.setTags(news, olds.tags);
        return { outs: outputsFor(news, hostNameOf(news.serviceConnectionString), device, olds.adopted) };
    }

    async delete(_id: string, olds: EdgeDeviceOutputs): Promise<void> {
        const registry = this.connect(olds.serviceConnectionString);
        try {
            await withHubRetry(`delete device ${olds.deviceId}`, () => registry.delete(olds.deviceId), this.retry);
        } catch (error) {
            // Already gone (deleted by hand, or a retried delete that had succeeded): the goal is met.
            if (statusOf(error) !== 404) throw new Error(`deleting device ${olds.deviceId} failed: ${describeHubError(error)}`);
        }
    }

    async read(id: string, props: EdgeDeviceOutputs): Promise<pulumi.dynamic.ReadResult> {
        const registry = this.connect(props.serviceConnectionString);
        try {
            const device = (await withHubRetry(`get device ${id}`, () => registry.get(id), this.retry)).responseBody as DeviceBody;
            const twin = (await withHubRetry(`get twin ${id}`, () => registry.getTwin(id), this.retry)).responseBody as {
                tags?: Record<string, string>;
            };
            const inputs = { ...props, deviceId: id, tags: (twin.tags ?? {}) as Record<string, string> };
            return { id, props: outputsFor(inputs, props.hostName, device, props.adopted) };
        } catch (error) {
            if (statusOf(error) === 404) return {};
            throw error;
        }
    }

    /** Patches twin tags: new values set, tags no longer wanted removed (null), others left alone. */
    private async setTags(inputs: EdgeDeviceInputs, previous: Record<string, string>): Promise<void> {
        const patch: Record<string, string | null> = {};
        for (const key of Object.keys(previous)) if (!(key in inputs.tags)) patch[key] = null;
        Object.assign(patch, inputs.tags);
        if (Object.keys(patch).length === 0) return;
        const registry = this.connect(inputs.serviceConnectionString);
        await withHubRetry(
            `update tags of ${inputs.deviceId}`,
            () => registry.updateTwin(inputs.deviceId, { tags: patch }, "*"),
            this.retry,
        );
    }
}

function outputsFor(inputs: EdgeDeviceInputs, hostName: string, device: DeviceBody, adopted: boolean): EdgeDeviceOutputs {
    const key = device.authentication?.symmetricKey?.primaryKey;
    if (!key) throw new Error(`device ${inputs.deviceId} has no symmetric key; edgeml provisions SAS-authenticated devices only`);
    const connectionString = `HostName=${hostName};DeviceId=${inputs.deviceId};SharedAccessKey=${key}`;
    return { ...inputs, hostName, connectionString, configToml: configToml(connectionString, inputs.agentImage), adopted };
}

/**
 * IoT Edge 1.2+ manual provisioning with a connection string (the file `iotedge config apply` reads), in the shape of
 * IoT Edge 1.6's template: `[provisioning]`, then the default edgeAgent's `[agent]` and `[agent.config]` tables.
 */
export function configToml(connectionString: string, agentImage?: string): string {
    const lines = [
        "# /etc/aziot/config.toml: manual provisioning; apply with `sudo iotedge config apply`",
        "[provisioning]",
        'source = "manual"',
        `connection_string = "${connectionString}"`,
        "",
    ];
    // The same [agent] tables as a DPS device's file (one writer for both).
    if (agentImage) lines.push(...agentTables(agentImage));
    return lines.join("\n");
}

function sorted(tags: Record<string, string>): Array<[string, string]> {
    return Object.entries(tags ?? {}).sort(([a], [b]) => a.localeCompare(b));
}
