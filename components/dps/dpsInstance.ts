import * as pulumi from "@pulumi/pulumi";
import * as deviceprovisioningservices from "@pulumi/azure-native/deviceprovisioningservices";
import * as iothub from "@pulumi/azure-native/iothub";
import type { deviceprovisioningservices as dpsOutputs } from "@pulumi/azure-native/types/output";
import type { NewDps } from "../config";
import { AZURE_TYPES, AzureStateError, componentType, configKey, ExistingResource, existingId } from "../shared";
import { EnrollmentGroup } from "./enrollmentGroup";

/** The shared access policy with every right (service configuration, enrollment write, device connect). */
export const DPS_SERVICE_POLICY = "provisioningserviceowner";

export interface DpsInstanceArgs {
    /** Resource group that holds the stack. */
    resourceGroupName: pulumi.Input<string>;
    /** Region of the stack. */
    location: pulumi.Input<string>;
    /** An instance to create (name, S1), or an existing one to read (it must already be linked to the hub). */
    dps: NewDps | ExistingResource;
    /** Subscription of the deploying identity, for the existing instance's resource id. */
    subscriptionId: pulumi.Input<string>;
    /** Ownership tags shown in the portal. */
    tags: Record<string, string>;
    /** The stack's hub, linked to a created instance and where the group's devices land. */
    iotHub: {
        /** A hub policy's connection string with registry write and service connect rights: IotHub's serviceConnectionString (secret). */
        connectionString: pulumi.Input<string>;
        /** `<hub>.azure-devices.net`: IotHub's hostName. */
        hostName: pulumi.Input<string>;
        /** The region of a hub the stack creates: the stack's. */
        location: pulumi.Input<string>;
        /** An existing hub the stack reads (existingIotHub): its own region is read from Azure instead of `location`. */
        existing?: ExistingResource;
    };
    /** The symmetric-key enrollment group devices register through. */
    enrollment: {
        enrollmentGroupId: string;
        /** The initial twin's tags, which the fleet deployment targets (environment=<stack> plus deviceTags). */
        tags: Record<string, string>;
        /** dpsKeyRotation: a new value gives the group a new primary key and revokes the old one. */
        keyRotation: number;
        /** Devices register as IoT Edge devices (default true). */
        iotEdge?: boolean;
    };
}

/**
 * A Device Provisioning Service linked to the stack's hub, with one symmetric-key enrollment group: devices carrying a
 * key derived from the group's primary key and their registration id register themselves into the hub.
 */
export class DpsInstance extends pulumi.ComponentResource {
    public readonly name: pulumi.Output<string>;
    public readonly idScope: pulumi.Output<string>;
    /** `<name>.azure-devices-provisioning.net`: the service API, which the connection string names. */
    public readonly serviceHostName: pulumi.Output<string>;
    /** The device endpoint every instance shares, as Azure reports it: global.azure-devices-provisioning.net. */
    public readonly globalEndpoint: pulumi.Output<string>;
    /** The same as IoT Edge's config.toml writes it (`global_endpoint`): https://global.azure-devices-provisioning.net/. */
    public readonly globalEndpointUrl: pulumi.Output<string>;
    /** provisioningserviceowner's connection string (secret). */
    public readonly serviceConnectionString: pulumi.Output<string>;
    public readonly enrollmentGroup: EnrollmentGroup;
    /** The group's `{ primaryKey, secondaryKey }` (secret): devices derive their key from the primary. */
    public readonly enrollmentGroupKeys: pulumi.Output<{ primaryKey: string; secondaryKey: string }>;

    constructor(name: string, args: DpsInstanceArgs, opts?: pulumi.ComponentResourceOptions) {
        super(componentType("dps", "DeviceProvisioning"), name, {}, opts);

        const spec = args.dps;
        // The link to the hub names its region (IotHubDefinitionDescription.location, required), which for an existing
        // hub may differ from the stack's: read, when a created instance links it.
        const existingHub = args.iotHub.existing;
        const hubLocation = () =>
            existingHub
                ? iothub.getIotHubResourceOutput(
                      { resourceName: existingHub.name, resourceGroupName: existingHub.resourceGroupName },
                      { parent: this },
                  ).location
                : args.iotHub.location;
        const instance = spec.existing
            ? deviceprovisioningservices.IotDpsResource.get(
                  `${name}-dps`,
                  existingId(spec, AZURE_TYPES.dps.armType, args.subscriptionId, this),
                  {
                      parent: this,
                  },
              )
            : new deviceprovisioningservices.IotDpsResource(
                  `${name}-dps`,
                  {
                      provisioningServiceName: spec.name,
                      resourceGroupName: args.resourceGroupName,
                      location: args.location,
                      sku: { name: spec.sku, capacity: 1 },
                      // Linking the hub gives DPS the rights to create the devices that register in it.
                      properties: {
                          iotHubs: [{ connectionString: pulumi.secret(args.iotHub.connectionString), location: hubLocation() }],
                      },
                      tags: args.tags,
                  },
                  { parent: this },
              );
        const resourceGroupName = spec.existing ? spec.resourceGroupName : args.resourceGroupName;
        // `properties` carries the hub's connection string (secret), so the provider may return it secret as a whole: the
        // ID scope and the host names are not secrets, and devices' files and plans show them.
        const reported = (what: string, pick: (p: dpsOutputs.IotDpsPropertiesDescriptionResponse) => string | undefined) =>
            pulumi.unsecret(
                instance.properties.apply((p) => {
                    const value = pick(p);
                    if (!value) throw new Error(`the Device Provisioning Service ${spec.name} reported no ${what}`);
                    return value;
                }),
            );

        this.name = instance.name;
        this.idScope = reported("idScope", (p) => p.idScope);
        this.serviceHostName = reported("serviceOperationsHostName", (p) => p.serviceOperationsHostName);
        this.globalEndpoint = reported("deviceProvisioningHostName", (p) => p.deviceProvisioningHostName);
        this.globalEndpointUrl = this.globalEndpoint.apply((host) => `https://${host}/`);
        const keys = instance.name.apply((provisioningServiceName) =>
            deviceprovisioningservices.listIotDpsResourceKeysOutput({ provisioningServiceName, resourceGroupName }, { parent: this }),
        );
        // An existing instance must already be linked to the stack's hub, or no device it provisions could land there:
        // refused here, naming the key and the command that links it, before the group is created.
        const linked = spec.existing
            ? pulumi.all([instance.properties, args.iotHub.hostName]).apply(([properties, hubHostName]) => {
                  const hubs = properties.iotHubs?.map((hub) => (hub.name ?? "").toLowerCase());
                  if (hubs && !hubs.includes(hubHostName.toLowerCase()))
                      throw new AzureStateError(
                          `the Device Provisioning Service ${spec.name} (${configKey(spec.configKey)}) is not linked to the stack's hub ${hubHostName}` +
                              ` (it links ${hubs.join(", ") || "no hub"}): link it with \`az iot dps linked-hub create --dps-name ${spec.name}` +
                              ` --resource-group ${spec.resourceGroupName} --connection-string "$(az iot hub connection-string show --hub-name` +
                              ` ${hubHostName.split(".")[0]} --policy-name iothubowner -o tsv)"\`, or name another instance`,
                          this,
                      );
                  return true;
              })
            : pulumi.output(true);
        this.serviceConnectionString = pulumi.secret(
            pulumi.all([this.serviceHostName, keys, linked]).apply(([hostName, list]) => {
                const owner = list.value?.find((k) => k.keyName === DPS_SERVICE_POLICY);
                if (!owner?.primaryKey)
                    throw new Error(`the Device Provisioning Service ${spec.name} has no ${DPS_SERVICE_POLICY} shared access key`);
                return `HostName=${hostName};SharedAccessKeyName=${DPS_SERVICE_POLICY};SharedAccessKey=${owner.primaryKey}`;
            }),
        );

        this.enrollmentGroup = new EnrollmentGroup(
            `${name}-enrollment-group`,
            {
                serviceConnectionString: this.serviceConnectionString,
                enrollmentGroupId: args.enrollment.enrollmentGroupId,
                iotHubHostName: args.iotHub.hostName,
                tags: args.enrollment.tags,
                iotEdge: args.enrollment.iotEdge ?? true,
                keyRotation: args.enrollment.keyRotation,
            },
            // After the instance (and so the hub's link), which the group may only name once it exists.
            { parent: this, dependsOn: [instance] },
        );
        this.enrollmentGroupKeys = pulumi.secret(
            pulumi
                .all([this.enrollmentGroup.primaryKey, this.enrollmentGroup.secondaryKey])
                .apply(([primaryKey, secondaryKey]) => ({ primaryKey, secondaryKey })),
        );

        this.registerOutputs({
            name: this.name,
            idScope: this.idScope,
            serviceHostName: this.serviceHostName,
            globalEndpoint: this.globalEndpoint,
            serviceConnectionString: this.serviceConnectionString,
            enrollmentGroupKeys: this.enrollmentGroupKeys,
        });
    }
}
