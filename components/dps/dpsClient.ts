// How the enrollment group provider reaches the Device Provisioning Service's service API: a real
// azure-iot-provisioning-service ProvisioningServiceClient built from the service connection string. Tests pass a
// factory bound to the local emulator (offline/dps-emulator); production uses the SDK's own HTTPS transport.
import type { ProvisioningServiceClient } from "azure-iot-provisioning-service";

export type ProvisioningClientFactory = (serviceConnectionString: string) => ProvisioningServiceClient;

/** Required inside the function: dynamic providers are serialized into state and run in another process. */
export const connectWithSdk: ProvisioningClientFactory = (serviceConnectionString) => {
    const { ProvisioningServiceClient: Client } =
        require("azure-iot-provisioning-service") as typeof import("azure-iot-provisioning-service");
    return Client.fromConnectionString(serviceConnectionString);
};

/** The parts of a DPS service connection string (HostName=<dps>.azure-devices-provisioning.net;SharedAccessKeyName=...;SharedAccessKey=...). */
export function connectionStringParts(connectionString: string): { hostName?: string; keyName?: string; key?: string } {
    const field = (name: string) => new RegExp(`(?:^|;)\\s*${name}=([^;]*)`, "i").exec(connectionString)?.[1] || undefined;
    return { hostName: field("HostName"), keyName: field("SharedAccessKeyName"), key: field("SharedAccessKey") };
}

/** The service host a connection string names: the DPS instance a group belongs to. */
export function dpsHostNameOf(connectionString: string): string {
    const hostName = connectionStringParts(connectionString).hostName;
    if (!hostName) throw new Error("the Device Provisioning Service connection string has no HostName");
    return hostName;
}
