/**
 * A local Device Provisioning Service for tests and the offline engine (one per instance a plan declares, see
 * offline/azure-answers.ts): the service API
 * (`<name>.azure-devices-provisioning.net`, checked against the service swagger) and the device API (the global
 * endpoint) on two loopback ports, driven through Microsoft's own SDKs, its devices landing in a linked IoT Hub
 * emulator (options and behaviour: README.md).
 *
 *   const hub = await startIotHubEmulator();
 *   const dps = await startDpsEmulator({ linkedHubs: [hub] });
 *   await dps.serviceClient().createOrUpdateEnrollmentGroup({ ... });       // real ProvisioningServiceClient
 *   const client = ProvisioningDeviceClient.create(dps.globalEndpoint, dps.idScope, dps.deviceTransport(), security);
 *   await client.register();                                                 // real device SDK
 *   assert.deepStrictEqual(dps.violations, []);
 *   await dps.stop();
 */
import { randomBytes } from "crypto";
import { existsSync } from "fs";
import type { ProvisioningServiceClient } from "azure-iot-provisioning-service";
import type { Http as ProvisioningHttpTransport } from "azure-iot-provisioning-device-http";
import type { IotHubEmulator } from "../iothub-emulator";
import { LoopbackEmulator, LoopbackEmulatorOptions } from "../iothub-emulator/loopback-emulator";
import { RoutingOnlyMatcher } from "../iothub-emulator/route-table";
import { checkSharedAccessSignature, isSasKey } from "../iothub-emulator/sas-auth";
import { SwaggerValidator } from "../iothub-emulator/swagger-validator";
import { DPS_SWAGGER, referencePath } from "../reference-data";
import { DEVICE_ROUTES, deviceOperations } from "./api-device";
import { SERVICE_API_VERSION, SERVICE_ROUTES, serviceOperations } from "./api-service";
import { dpsErrorResponse } from "./dps-errors";
import { EnrollmentGroupState, EnrollmentStore } from "./enrollment-store";
import { ProvisioningClientFactory, loopbackDeviceTransport, loopbackServiceClientFactory } from "./loopback-clients";
import { RegistrationRecord, RegistrationStore } from "./registrations";

export type { ProvisioningClientFactory } from "./loopback-clients";
export type { EnrollmentGroupState } from "./enrollment-store";
export type { RegistrationRecord, RegistrationStatus } from "./registrations";
export { derivedDeviceKey, registrationIdProblem } from "./registrations";
export { DEVICE_API_VERSIONS, DEVICE_ROUTES } from "./api-device";
export { SERVICE_API_VERSION, SERVICE_ROUTES } from "./api-service";

/** The device endpoint every DPS instance shares; devices tell instances apart by ID scope. */
export const GLOBAL_ENDPOINT = "global.azure-devices-provisioning.net";
/** The shared access policy the service connection string names (all rights). */
export const SERVICE_POLICY = "provisioningserviceowner";

export function defaultDpsSwaggerPath(): string {
    return referencePath(DPS_SWAGGER);
}

/** With LoopbackEmulatorOptions: unref, latencyMs, and faults (one plan for both APIs; filter with `operations`). */
export interface DpsEmulatorOptions extends LoopbackEmulatorOptions {
    /** The instance's name; its service host is `<name>.azure-devices-provisioning.net`. Default "test-dps". */
    name?: string;
    /** Default `0ne` and 8 random hex digits, shaped like the service's. */
    idScope?: string;
    /** The provisioningserviceowner policy's key (base64 of 16 to 64 bytes); default 32 random bytes. */
    serviceKey?: string;
    /** IoT Hub emulators linked to the instance: groups may name them, devices land in them. More with `linkHub`. */
    linkedHubs?: IotHubEmulator[];
    /** Swagger the service API is checked against; default dps-service-swagger.json of the reference data. */
    swaggerPath?: string;
    /** "required" (default): the swagger must exist. "if-present": without it, service requests are only routed. */
    swagger?: "required" | "if-present";
    /** The Retry-After (seconds) of a register answer: how long the device SDK waits before it polls. Default 0. */
    pollAfterSeconds?: number;
}

export function startDpsEmulator(options: DpsEmulatorOptions = {}): Promise<DpsEmulator> {
    return DpsEmulator.start(options);
}

/** The instance (faults, latency, records, violations and stop() are LoopbackEmulator's, shared with the hub emulator). */
export class DpsEmulator extends LoopbackEmulator {
    readonly name: string;
    /** `<name>.azure-devices-provisioning.net`: the service API's host, what the connection string names. */
    readonly hostName: string;
    readonly idScope: string;
    /** What devices are given as the provisioning host; the device transport sends its requests to `devicePort`. */
    readonly globalEndpoint = GLOBAL_ENDPOINT;
    readonly connectionString: string;
    readonly serviceKey: string;
    pollAfterSeconds: number;
    private readonly hubs = new Map<string, IotHubEmulator>();
    private readonly groups = new EnrollmentStore((hostName) => this.hubs.has(hostName.toLowerCase()));
    private readonly registrationStore = new RegistrationStore();
    private ports = { service: 0, device: 0 };
    private factory?: ProvisioningClientFactory;

    static async start(options: DpsEmulatorOptions): Promise<DpsEmulator> {
        const emulator = new DpsEmulator(options);
        const swaggerFile = options.swaggerPath ?? defaultDpsSwaggerPath();
        emulator.matcher =
            options.swagger === "if-present" && !existsSync(swaggerFile)
                ? new RoutingOnlyMatcher(SERVICE_ROUTES, true)
                : // The service routes paths case-insensitively, and the SDK's getEnrollmentGroupAttestationMechanism
                  // sends /enrollmentgroups/.
                  SwaggerValidator.forFile(swaggerFile, { apiVersions: [SERVICE_API_VERSION], caseInsensitivePaths: true });
        const shared = { settle: () => undefined, errorResponse: dpsErrorResponse };
        const credentials = { hostName: emulator.hostName, keyName: SERVICE_POLICY, key: emulator.serviceKey };
        const service = await emulator.listen({
            ...shared,
            validator: emulator.matcher,
            authorize: (request) => checkSharedAccessSignature(request.headers.authorization, credentials, "Unauthorized"),
            operations: serviceOperations(emulator.groups, emulator.registrationStore),
        });
        const device = await emulator.listen({
            ...shared,
            validator: new RoutingOnlyMatcher(DEVICE_ROUTES),
            // Each device request is authorized by its handler, which finds the enrollment group whose derived key signed it.
            authorize: () => undefined,
            operations: deviceOperations({
                idScope: emulator.idScope,
                groups: emulator.groups,
                registrations: emulator.registrationStore,
                hub: (hostName) => emulator.hubs.get(hostName.toLowerCase()),
                linkedHostNames: () => [...emulator.hubs.values()].map((hub) => hub.hostName),
                retryAfterSeconds: () => emulator.pollAfterSeconds,
            }),
        });
        emulator.ports = { service, device };
        emulator.factory = loopbackServiceClientFactory(emulator.hostName, service, emulator.agent);
        return emulator;
    }

    private constructor(options: DpsEmulatorOptions) {
        super(options);
        this.name = options.name ?? "test-dps";
        this.hostName = `${this.name}.azure-devices-provisioning.net`;
        this.idScope = options.idScope ?? `0ne${randomBytes(4).toString("hex").toUpperCase()}`;
        if (options.serviceKey !== undefined && !isSasKey(options.serviceKey))
            throw new Error("serviceKey must be base64 of 16 to 64 bytes");
        this.serviceKey = options.serviceKey ?? randomBytes(32).toString("base64");
        this.connectionString = `HostName=${this.hostName};SharedAccessKeyName=${SERVICE_POLICY};SharedAccessKey=${this.serviceKey}`;
        for (const hub of options.linkedHubs ?? []) this.linkHub(hub);
        this.pollAfterSeconds = options.pollAfterSeconds ?? 0;
    }

    /** The service API's loopback port. */
    get port(): number {
        return this.ports.service;
    }

    /** The device API's loopback port (the global endpoint's stand-in). */
    get devicePort(): number {
        return this.ports.device;
    }

    /** Links an IoT Hub emulator, as `iotHubs` of the DPS resource does: groups may name it, devices land in it. */
    linkHub(hub: IotHubEmulator): void {
        this.hubs.set(hub.hostName.toLowerCase(), hub);
    }

    /** Builds real ProvisioningServiceClients that talk to this emulator; hand it to code that takes a ProvisioningClientFactory. */
    get serviceClientFactory(): ProvisioningClientFactory {
        if (!this.factory) throw new Error("emulator is not listening");
        return this.factory;
    }

    /** A real ProvisioningServiceClient for the provisioningserviceowner connection string, bound to the emulator. */
    serviceClient(): ProvisioningServiceClient {
        return this.serviceClientFactory(this.connectionString);
    }

    /** A new azure-iot-provisioning-device-http transport whose requests reach the device API (one per registration, as the SDK expects). */
    deviceTransport(): ProvisioningHttpTransport {
        return loopbackDeviceTransport(this.devicePort, this.agent);
    }

    /** An enrollment group as the emulator holds it, keys included; undefined when there is none. */
    enrollmentGroup(id: string): EnrollmentGroupState | undefined {
        const group = this.groups.find(id);
        return group && structuredClone(group);
    }

    /** Every device registration recorded (a disabled group's refusals are not). */
    get registrations(): readonly RegistrationRecord[] {
        return this.registrationStore.all();
    }

    /** Back to an instance nobody has used: no groups, registrations, records or faults. Keys, ID scope, ports and links stay. */
    reset(): void {
        this.groups.clear();
        this.registrationStore.clear();
        this.faults.clear();
        this.resetRecords();
    }
}
