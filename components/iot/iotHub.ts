import * as pulumi from "@pulumi/pulumi";
import * as iothub from "@pulumi/azure-native/iothub";
import type { NewIotHub } from "../config";
import { AZURE_TYPES, AzureStateError, componentType, configKey, ExistingResource, existingId } from "../shared";
import { EdgeDevice } from "./edgeDevice";
import { edgeAgentImage } from "./manifest";

export interface IotHubArgs {
    /** Resource group that holds the stack. */
    resourceGroupName: pulumi.Input<string>;
    /** Region of the stack. */
    location: pulumi.Input<string>;
    /**
     * A hub to create (globally unique name, F1 or a standard tier, units bounding the daily message quota,
     * partitions fixed for the hub's lifetime), or an existing one to read; devices are registered in either.
     */
    hub: NewIotHub | ExistingResource;
    /** Subscription of the deploying identity, for the existing hub's resource id. */
    subscriptionId: pulumi.Input<string>;
    /** Ownership tags shown in the portal. */
    tags: Record<string, string>;
    /** IoT Edge device identities to register. */
    edgeDevices: string[];
    /** Twin tags of those devices, which fleet deployments target. */
    deviceTags: Record<string, string>;
    /** IoT Edge version: each device's config.toml starts its edgeAgent image before any deployment arrives. */
    edgeRuntimeVersion: string;
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
        super(componentType("iot", "IotHub"), name, {}, opts);

        const spec = args.hub;
        const hub = spec.existing
            ? iothub.IotHubResource.get(`${name}-hub`, existingId(spec, AZURE_TYPES.iotHub.armType, args.subscriptionId, this), {
                  parent: this,
              })
            : new iothub.IotHubResource(
                  `${name}-hub`,
                  {
                      resourceName: spec.name,
                      resourceGroupName: args.resourceGroupName,
                      location: args.location,
                      sku: { name: spec.sku, capacity: spec.units },
                      properties: {
                          eventHubEndpoints: { events: { partitionCount: spec.partitions, retentionTimeInDays: 1 } },
                      },
                      tags: args.tags,
                  },
                  // Fixed at creation ("the number of partitions can't be changed after the hub is created", IoT Hub
                  // scaling docs): a new count is a new hub, as it would be in Azure, which refuses the update.
                  { parent: this, replaceOnChanges: ["properties.eventHubEndpoints.events.partitionCount"] },
              );
        // A basic-tier hub has no module twins: an existing one would accept the deployment and run nothing. Checked
        // before the keys are read and outside the invoke's arguments, so the CLI reports it once, against this hub.
        const resourceGroupName = spec.existing ? spec.resourceGroupName : args.resourceGroupName;
        const keys = pulumi.all([hub.name, hub.sku]).apply(([resourceName, sku]) => {
            if (spec.existing && /^B\d$/.test(sku.name)) throw basicTier(spec, resourceName, sku.name, this);
            return iothub.listIotHubResourceKeysOutput({ resourceName, resourceGroupName }, { parent: this });
        });

        this.hubName = hub.name;
        this.hubId = hub.id;
        this.hostName = hub.properties.apply((p) => {
            if (!p.hostName) throw new Error(`IoT Hub ${spec.name} reported no hostName`);
            return p.hostName;
        });
        // iothubowner: device identities and configurations need registry write and service connect rights.
        this.serviceConnectionString = pulumi.secret(
            pulumi.all([this.hostName, keys]).apply(([hostName, list]) => {
                const owner = list.value?.find((k) => k.keyName === "iothubowner");
                if (!owner?.primaryKey) throw new Error(`IoT Hub ${spec.name} has no iothubowner shared access key`);
                return `HostName=${hostName};SharedAccessKeyName=iothubowner;SharedAccessKey=${owner.primaryKey}`;
            }),
        );

        this.devices = args.edgeDevices.map(
            (deviceId) =>
                new EdgeDevice(
                    `${name}-device-${deviceId}`,
                    {
                        serviceConnectionString: this.serviceConnectionString,
                        deviceId,
                        tags: args.deviceTags,
                        agentImage: edgeAgentImage(args.edgeRuntimeVersion),
                    },
                    { parent: this },
                ),
        );
        const byDevice = (pick: (d: EdgeDevice) => pulumi.Output<string>) =>
            pulumi.secret(
                pulumi.all(this.devices.map((d) => pulumi.all([d.deviceId, pick(d)]))).apply((pairs) => Object.fromEntries(pairs)),
            );
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

function basicTier(ref: ExistingResource, hubName: string, sku: string, component: pulumi.Resource): AzureStateError {
    return new AzureStateError(
        `the IoT Hub ${hubName} (${configKey(ref.configKey)}) is on the basic tier ${sku}, which has no module twins, so IoT Edge ` +
            `cannot run on it. Upgrade it to a standard tier (az iot hub update --name ${hubName} --sku S1) or name another hub.`,
        component,
    );
}
