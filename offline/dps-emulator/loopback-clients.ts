/**
 * Microsoft's DPS SDKs, bound to the emulator. Both build on azure-iot-http-base: a `RestApiClient` over an `Http`
 * whose `buildRequest` sends HTTPS to the configured host. Each is given, through a seam it already has, an `Http`
 * of its own azure-iot-http-base copy (resolved from the SDK's folder, as its own require would) whose only change
 * is the destination (../iothub-emulator/loopback-http.ts): plain HTTP to 127.0.0.1 on the emulator's port.
 *  - The service client: `new ProvisioningServiceClient(config, restApiClient)`, the constructor's second argument,
 *    with `config` exactly as `ProvisioningServiceClient.fromConnectionString` builds it (host, SAS re-signed for an
 *    hour on every request).
 *  - The device transport: `new Http(httpBase)` of azure-iot-provisioning-device-http, whose constructor takes the
 *    azure-iot-http-base `Http` it builds its RestApiClient with. The device code is unchanged: the
 *    `provisioningHost` handed to `ProvisioningDeviceClient.create` (global.azure-devices-provisioning.net) is still
 *    the RestApiClient's host, the path, headers, body and SAS are the SDK's own. No TLS is involved.
 * The device SDK is a development dependency: it is loaded only when a test asks for a transport.
 */
import { createRequire } from "module";
import * as http from "http";
import type { ProvisioningServiceClient } from "azure-iot-provisioning-service";
import type { Http as ProvisioningHttpTransport } from "azure-iot-provisioning-device-http";
import { ConnectionStringParts, forEmulatedHost, loopbackHttp, SdkHttp } from "../iothub-emulator/loopback-http";

/** Builds a ProvisioningServiceClient from a DPS service connection string (the provider's seam, components/dps). */
export type ProvisioningClientFactory = (serviceConnectionString: string) => ProvisioningServiceClient;

interface HttpBaseModule {
    Http: new () => SdkHttp;
    RestApiClient: new (config: object, userAgent: string, http: SdkHttp) => unknown;
}

interface CommonModule {
    ConnectionString: { parse(value: string): ConnectionStringParts };
    SharedAccessSignature: { create(host: string, keyName: string, key: string, expiry: number): object };
}

/** Loads `name` as the package `from` would: its own nested copy when it has one. */
function requireFrom(from: string, name: string): unknown {
    return createRequire(require.resolve(`${from}/package.json`))(name);
}

/** A factory of ProvisioningServiceClients bound to the emulator at `port`; it refuses connection strings for another instance. */
export function loopbackServiceClientFactory(hostName: string, port: number, agent: http.Agent): ProvisioningClientFactory {
    const sdk = "azure-iot-provisioning-service";
    const { ProvisioningServiceClient: Client } = requireFrom(sdk, sdk) as typeof import("azure-iot-provisioning-service");
    const { Http, RestApiClient } = requireFrom(sdk, "azure-iot-http-base") as HttpBaseModule;
    const { ConnectionString, SharedAccessSignature } = requireFrom(sdk, "azure-iot-common") as CommonModule;
    const sdkPackage = requireFrom(sdk, `${sdk}/package.json`) as { name: string; version: string };
    return (connectionString) => {
        const { HostName, SharedAccessKeyName, SharedAccessKey } = forEmulatedHost(ConnectionString.parse(connectionString), hostName);
        const config = {
            host: HostName,
            sharedAccessSignature: SharedAccessSignature.create(HostName, SharedAccessKeyName, SharedAccessKey, Date.now()),
            tokenCredential: undefined,
        };
        const restApiClient = new RestApiClient(config, `${sdkPackage.name}/${sdkPackage.version}`, loopbackHttp(Http, port, agent));
        return new Client(config as never, restApiClient as never);
    };
}

/** The device SDK's HTTP transport (azure-iot-provisioning-device-http), its requests sent to the emulator's device port. */
export function loopbackDeviceTransport(port: number, agent: http.Agent): ProvisioningHttpTransport {
    const sdk = "azure-iot-provisioning-device-http";
    const { Http: Transport } = requireFrom(sdk, sdk) as typeof import("azure-iot-provisioning-device-http");
    const { Http } = requireFrom(sdk, "azure-iot-http-base") as HttpBaseModule;
    return new Transport(loopbackHttp(Http, port, agent) as never);
}
