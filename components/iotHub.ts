import * as pulumi from "@pulumi/pulumi";
import * as iothub from "@pulumi/azure-native/iothub";
import type { IotHubSku } from "./config";
import { EdgeDevice } from "./iothub/edgeDevice";

export interface IotHubArgs {
    /** Resource group that holds the stack. */
    resourceGroupName: pulumi.Input<string>;
    /** Region of the stack. */
    location: pulumi.Input<string>;
    /** Globally unique hub name; devices reach it as <name>.azure-devices.net. */
    hubName: string;
    /** F1 or a standard tier: basic tiers lack the module twins IoT Edge relies on. */
    sku: IotHubSku;
    /** Units bound the daily message quota, so they scale with the fleet. */
    units: number;
    /** Device-to-cloud partitions; fixed for the hub's lifetime, so chosen up front. */
    partitions: number;
    /** Ownership tags shown in the portal. */
    tags: Record<string, string>;
    /** IoT Edge device identities to register. */
    edgeDevices: string[];
    /** Twin tags of those devices, which fleet deployments target. */
    deviceTags: Record<string, string>;
}

/** The IoT Hub, and the service connection string that the device and deployment providers use. */
export class IotHub extends pulumi.ComponentResource {
    public readonly hubName: pulumi.Output<string>;
    public readonly hubId: pulumi.Output<string>;
    public readonly hostName: pulumi.Output<string>;
    public readonly serviceConnectionString: pulumi.Output<string>;
    /** Device id to device connection string (secret). */
    public readonly deviceConnectionStrings: pulumi.Output<Record<string, string>>;
    /** Device id to /etc/aziot/config.toml contents (secret). */
    public readonly deviceConfigTomls: pulumi.Output<Record<string, string>>;
    public readonly devices: EdgeDevice[];

    constructor(name: string, args: IotHubArgs, opts?: pulumi.ComponentResourceOptions) {
        super("edgeml:iot:IotHub", name, {}, opts);

        const hub = new iothub.IotHubResource(
            `${name}-hub`,
            {
                resourceName: args.hubName,
                resourceGroupName: args.resourceGroupName,
                location: args.location,
                sku: { name: args.sku, capacity: args.units },
                properties: {
                    eventHubEndpoints: { events: { partitionCount: args.partitions, retentionTimeInDays: 1 } },
                },
                tags: args.tags,
            },
            { parent: this },
        );
        const keys = iothub.listIotHubResourceKeysOutput(
            { resourceName: hub.name, resourceGroupName: args.resourceGroupName },
            { parent: this },
        );

        this.hubName = hub.name;
        this.hubId = hub.id;
        this.hostName = hub.properties.apply((p) => {
            if (!p.hostName) throw new Error(`IoT Hub ${args.hubName} reported no hostName`);
            return p.hostName;
        });
        // iothubowner: device identities and configurations need registry write and service connect rights.
        this.serviceConnectionString = pulumi.secret(
            pulumi.all([this.hostName, keys]).apply(([hostName, list]) => {
                const owner = list.value?.find((k) => k.keyName === "iothubowner");
                if (!owner?.primaryKey) throw new Error(`IoT Hub ${args.hubName} has no iothubowner shared access key`);
                return `HostName=${hostName};SharedAccessKeyName=iothubowner;SharedAccessKey=${owner.primaryKey}`;
            }),
        );

        this.devices = args.edgeDevices.map(
            (deviceId) =>
                new EdgeDevice(
                    `${name}-device-${deviceId}`,
                    { serviceConnectionString: this.serviceConnectionString, deviceId, tags: args.deviceTags },
                    { parent: this },
                ),
        );
        const byDevice = (pick: (d: EdgeDevice) => pulumi.Output<string>) =>
            pulumi.secret(pulumi.all(this.devices.map((d) => pulumi.all([d.deviceId, pick(d)]))).apply((pairs) => Object.fromEntries(pairs)));
        this.deviceConnectionStrings = byDevice((d) => d.connectionString);
        this.deviceConfigTomls = byDevice((d) => d.configToml);

        this.registerOutputs({
            deviceConnectionStrings: this.deviceConnectionStrings,
            deviceConfigTomls: this.deviceConfigTomls,
            hubName: this.hubName,
            hubId: this.hubId,
            hostName: this.hostName,
            serviceConnectionString: this.serviceConnectionString,
        });
    }
}
