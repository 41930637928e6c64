/**
 * The one change the emulators make to an Azure IoT SDK's HTTP transport: where requests go. azure-iothub's
 * vendored `Http` (loopback-registry.ts) and azure-iot-http-base's `Http` (the DPS service and device SDKs, see
 * ../dps-emulator) build requests the same way, and both already take `{ port, request }` request options: the
 * subclass made here passes those with `127.0.0.1`, the emulator's port and `http.request` instead of HTTPS to the
 * service's host, and plain keep-alive sockets from the emulator's agent (destroyed when it stops). Request
 * building, the SharedAccessSignature header, JSON serialization and error translation run unchanged.
 */
import * as http from "http";

/** What both SDKs' `Http` classes offer (their own typings differ in the option and callback types). */
export interface SdkHttp {
    setOptions(options: any): void;
    buildRequest(method: string, path: string, headers: object, host: string | object, options: any, done?: any): http.ClientRequest;
}

/** A connection string's parts as the SDK's own parser reads them. */
export interface ConnectionStringParts {
    HostName?: string;
    SharedAccessKeyName?: string;
    SharedAccessKey?: string;
}

/** The parts, checked complete and for the host the emulator serves: a client for another service is refused. */
export function forEmulatedHost(parts: ConnectionStringParts, hostName: string): Required<ConnectionStringParts> {
    const { HostName, SharedAccessKeyName, SharedAccessKey } = parts;
    if (!HostName || !SharedAccessKeyName || !SharedAccessKey) {
        throw new Error("connection string needs HostName, SharedAccessKeyName and SharedAccessKey");
    }
    if (HostName.toLowerCase() !== hostName.toLowerCase()) {
        throw new Error(`connection string is for ${HostName} but the emulator serves ${hostName}`);
    }
    return { HostName, SharedAccessKeyName, SharedAccessKey };
}

/** An instance of the SDK's `Http` class `Base` whose requests reach the emulator at `port` over plain HTTP. */
export function loopbackHttp<T extends SdkHttp>(Base: new () => T, port: number, agent: http.Agent): T {
    const Sdk = Base as unknown as new () => SdkHttp;
    class LoopbackHttp extends Sdk {
        constructor() {
            super();
            // Clients that never set options (the DPS ones) still get the emulator's agent.
            this.setOptions(undefined);
        }

        /** A Registry installs a keep-alive https.Agent, which cannot carry plain HTTP: the emulator's http.Agent instead. */
        override setOptions(options: { http?: object } | undefined): void {
            super.setOptions({ ...options, http: { ...options?.http, agent } });
        }

        override buildRequest(
            method: string,
            path: string,
            headers: object,
            _host: string | object,
            options: any,
            done?: any,
        ): http.ClientRequest {
            if (typeof options !== "function" || done !== undefined) {
                // Per-request options come only with x509 or custom transports, neither of which the emulators model.
                throw new Error("the emulator transport does not support per-request options");
            }
            return super.buildRequest(method, path, headers, "127.0.0.1", { port, request: http.request }, options);
        }
    }
    return new LoopbackHttp() as unknown as T;
}
