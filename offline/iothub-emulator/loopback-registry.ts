/**
 * Binds a real azure-iothub `Registry` to the emulator. Everything the SDK does runs unchanged (request building,
 * SharedAccessSignature header, JSON serialization, error translation) except the last step: instead of HTTPS to
 * `<hub>.azure-devices.net`, the SDK's own `Http.buildRequest` sends plain HTTP to the emulator's loopback port,
 * using the `{ port, request }` request options it already supports.
 *
 * Production code should take a `RegistryFactory` (e.g. defaulting to `Registry.fromConnectionString`) so tests can
 * pass the emulator's factory instead; see README.md in this folder.
 */
import * as http from "http";
// The SDK's modules themselves, not its index, which loads the AMQP client too (a fifth of a second per process).
import * as ConnectionString from "azure-iothub/dist/connection_string";
import { Registry } from "azure-iothub/dist/registry";
import * as SharedAccessSignature from "azure-iothub/dist/shared_access_signature";
import { Http, HttpCallback, HttpMethod, HttpRequestOptions } from "azure-iothub/dist/common-http/http";
import { RestApiClient } from "azure-iothub/dist/common-http/rest_api_client";
import { X509 } from "azure-iothub/dist/common-core/authorization";
import sdkPackage from "azure-iothub/package.json";

export type RegistryFactory = (connectionString: string) => Registry;

class LoopbackHttp extends Http {
    constructor(
        private readonly port: number,
        private readonly agent: http.Agent,
    ) {
        super();
    }

    /** Registry's constructor installs a keep-alive https.Agent, which cannot carry plain HTTP: use a keep-alive http.Agent. */
    override setOptions(options: { http?: object } | undefined): void {
        super.setOptions({ ...options, http: { ...options?.http, agent: this.agent } });
    }

    override buildRequest(
        method: HttpMethod,
        path: string,
        httpHeaders: { [key: string]: string | string[] | number },
        _host: string | { socketPath: string },
        options: X509 | HttpRequestOptions | HttpCallback,
        done?: HttpCallback,
    ): http.ClientRequest {
        if (typeof options !== "function" || done !== undefined) {
            // Registry passes per-request options only for x509 or custom transports, neither of which the emulator models.
            throw new Error("the emulator transport does not support per-request options");
        }
        return super.buildRequest(method, path, httpHeaders, "127.0.0.1", { port: this.port, request: http.request }, options);
    }
}

/** A factory of Registries bound to the emulator at `port`; it refuses connection strings for another hub. */
export function loopbackRegistryFactory(hostName: string, port: number, agent: http.Agent): RegistryFactory {
    return (connectionString) => {
        const { HostName, SharedAccessKeyName, SharedAccessKey } = ConnectionString.parse(connectionString);
        if (!HostName || !SharedAccessKeyName || !SharedAccessKey) {
            throw new Error("connection string needs HostName, SharedAccessKeyName and SharedAccessKey");
        }
        if (HostName.toLowerCase() !== hostName.toLowerCase()) {
            throw new Error(`connection string is for ${HostName} but the emulator serves ${hostName}`);
        }
        // The same config Registry.fromConnectionString builds (the SDK re-signs the token for an hour on every request).
        const config = {
            host: HostName,
            sharedAccessSignature: SharedAccessSignature.create(HostName, SharedAccessKeyName, SharedAccessKey, Date.now()),
        };
        const userAgent = `${sdkPackage.name}/${sdkPackage.version}`;
        return new Registry(config, new RestApiClient(config, userAgent, new LoopbackHttp(port, agent)));
    };
}
