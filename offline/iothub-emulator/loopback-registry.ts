/**
 * Binds a real azure-iothub `Registry` to the emulator. Everything the SDK does runs unchanged (request building,
 * SharedAccessSignature header, JSON serialization, error translation) except the last step: instead of HTTPS to
 * `<hub>.azure-devices.net`, the SDK's own `Http.buildRequest` sends plain HTTP to the emulator's loopback port,
 * using the `{ port, request }` request options it already supports (loopback-http.ts).
 *
 * Production code should take a `RegistryFactory` (e.g. defaulting to `Registry.fromConnectionString`) so tests can
 * pass the emulator's factory instead; see README.md in this folder.
 */
import * as http from "http";
// The SDK's modules themselves, not its index, which loads the AMQP client too (a fifth of a second per process).
import * as ConnectionString from "azure-iothub/dist/connection_string";
import { Registry } from "azure-iothub/dist/registry";
import * as SharedAccessSignature from "azure-iothub/dist/shared_access_signature";
import { Http } from "azure-iothub/dist/common-http/http";
import { RestApiClient } from "azure-iothub/dist/common-http/rest_api_client";
import sdkPackage from "azure-iothub/package.json";
import { forEmulatedHost, loopbackHttp } from "./loopback-http";

export type RegistryFactory = (connectionString: string) => Registry;

/** A factory of Registries bound to the emulator at `port`; it refuses connection strings for another hub. */
export function loopbackRegistryFactory(hostName: string, port: number, agent: http.Agent): RegistryFactory {
    return (connectionString) => {
        const { HostName, SharedAccessKeyName, SharedAccessKey } = forEmulatedHost(ConnectionString.parse(connectionString), hostName);
        // The same config Registry.fromConnectionString builds (the SDK re-signs the token for an hour on every request).
        const config = {
            host: HostName,
            sharedAccessSignature: SharedAccessSignature.create(HostName, SharedAccessKeyName, SharedAccessKey, Date.now()),
        };
        const userAgent = `${sdkPackage.name}/${sdkPackage.version}`;
        return new Registry(config, new RestApiClient(config, userAgent, loopbackHttp(Http, port, agent)));
    };
}
