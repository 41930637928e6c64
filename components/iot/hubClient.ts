// How the providers reach IoT Hub's data plane: a real azure-iothub Registry built from the service connection
// string. Tests pass a factory bound to the local emulator; production uses the SDK's own HTTPS transport.
import type { Registry } from "azure-iothub";

export type RegistryFactory = (serviceConnectionString: string) => Registry;

/** Required inside the function: dynamic providers are serialized into state and run in another process. */
export const connectWithSdk: RegistryFactory = (serviceConnectionString) => {
    const { Registry: SdkRegistry } = require("azure-iothub") as typeof import("azure-iothub");
    return SdkRegistry.fromConnectionString(serviceConnectionString);
};

/** The HostName part of a connection string, which names the hub a resource belongs to. */
export function hostNameOf(connectionString: string): string {
    const match = /(?:^|;)HostName=([^;]+)/i.exec(connectionString);
    if (!match) throw new Error("the IoT Hub connection string has no HostName");
    return match[1];
}
