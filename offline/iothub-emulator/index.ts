/**
 * A local IoT Hub service (data-plane REST API) for tests and the offline engine, driven through the real
 * azure-iothub SDK (options: README.md).
 *
 *   const hub = await startIotHubEmulator({ hubName: "test-hub" });
 *   const registry = hub.registry();          // a real azure-iothub Registry bound to the emulator
 *   ...
 *   assert.deepStrictEqual(hub.violations, []); // every request matched the service swagger
 *   await hub.stop();
 */
import { randomBytes } from "crypto";
import { existsSync } from "fs";
import * as http from "http";
// The SDK's modules themselves, not its index, which loads the AMQP client too (a fifth of a second per process).
import { Registry } from "azure-iothub/dist/registry";
import * as SharedAccessSignature from "azure-iothub/dist/shared_access_signature";
import { configurationOperations } from "./api-configurations";
import { deviceOperations } from "./api-devices";
import { twinOperations } from "./api-twins";
import { DeploymentStore } from "./deployment-store";
import { DeviceStore, KeyGenerator, randomKeys } from "./device-store";
import { EdgeAgentBehaviour, EdgeAgentRule, SimulatedAgents, checkEdgeAgentBehaviour } from "./edge-agents";
import { JsonObject } from "./json";
import { matches, parseTargetCondition } from "./query-language";
import { tagsSatisfying } from "./stand-ins";
export { addStandInBase } from "./stand-ins";
import { deviceTwinJson } from "./twin-views";
import { RegistryFactory, loopbackRegistryFactory } from "./loopback-registry";
import { HubStores } from "./operations";
import { LoopbackEmulator, LoopbackEmulatorOptions } from "./loopback-emulator";
import { HubCredentials, checkSharedAccessSignature, isSasKey } from "./sas-auth";
import { RoutingOnlyMatcher } from "./route-table";
import { SwaggerValidator, defaultSwaggerPath } from "./swagger-validator";

export type { KeyGenerator, KeyRequest } from "./device-store";
export type { EdgeAgentBehaviour, EdgeAgentPlan, EdgeAgentReaction, EdgeAgentRule, ReceivedDeployment } from "./edge-agents";
export type { FaultKind, FaultPlan, ScriptStep } from "./fault-injector";
export type { Json, JsonObject } from "./json";
export type { RegistryFactory } from "./loopback-registry";
export type { EmulatorStats, RequestLogEntry } from "./request-stats";
export type { Violation } from "./server";
export { EMULATED_ROUTES } from "./route-table";
export { SDK_API_VERSION, SPEC_API_VERSION, defaultSwaggerPath } from "./swagger-validator";

/** With LoopbackEmulatorOptions: unref, latencyMs, faults. */
export interface IotHubEmulatorOptions extends LoopbackEmulatorOptions {
    /** The hub's name; its host name is `<hubName>.azure-devices.net`. Default "test-hub". */
    hubName?: string;
    /** Swagger to check requests against; default iothub-service-swagger.json of the reference data (reference-data.ts). */
    swaggerPath?: string;
    /**
     * "required" (default): every request is checked against the swagger, which must exist. "if-present": checked
     * when the file exists; without it requests are only routed (route-table.ts) and `hub.validating` is false.
     */
    swagger?: "required" | "if-present";
    /** The iothubowner policy's key (base64 of 16 to 64 bytes); default 32 random bytes, new for every emulator. */
    ownerKey?: string;
    /** Makes the SAS keys of devices created (or updated) without keys; default 32 random bytes each. */
    deviceKeys?: KeyGenerator;
    /**
     * Simulated edgeAgents (edge-agents.ts): "report-applied", every edge device acts as a healthy edgeAgent on each
     * deployment; or a plan `{ default, devices }` of per-device rules (success, an error, a module in backoff, nothing).
     * Default "silent".
     */
    edgeAgents?: EdgeAgentBehaviour;
}

/** What an IoT Edge agent reports on its `$edgeAgent` twin after acting on a deployment. */
export interface EdgeAgentReport {
    /** The desired-properties `$version` the agent acted on; default: the twin's current desired `$version`. */
    lastDesiredVersion?: number;
    lastDesiredStatus: { code: number; description?: string };
    modules?: Record<string, { runtimeStatus: string; settings?: { image: string } }>;
}

export interface RawRequest {
    method: string;
    /** Path and query, e.g. `/devices/d1?api-version=2021-04-12`. */
    path: string;
    headers?: Record<string, string>;
    body?: string;
    /** Send a valid SharedAccessSignature for the hub's owner policy (default true). */
    authorize?: boolean;
}

export interface RawResponse {
    status: number;
    headers: http.IncomingHttpHeaders;
    body: string;
}

const OWNER_POLICY = "iothubowner";

export function startIotHubEmulator(options: IotHubEmulatorOptions = {}): Promise<IotHubEmulator> {
    return IotHubEmulator.start(options);
}

/** The hub (faults, latency, records, violations and stop() are LoopbackEmulator's, shared with the DPS emulator). */
export class IotHubEmulator extends LoopbackEmulator {
    readonly hubName: string;
    /** `<hubName>.azure-devices.net`: what the connection string names and SAS tokens are signed for. */
    readonly hostName: string;
    readonly connectionString: string;
    /** "report-applied" (or a plan) when simulated edgeAgents report on deployments by themselves. */
    readonly edgeAgents: EdgeAgentBehaviour;
    private readonly agents: SimulatedAgents;
    private readonly credentials: HubCredentials;
    private readonly stores: HubStores;
    private boundPort = 0;
    private factory?: RegistryFactory;

    static async start(options: IotHubEmulatorOptions): Promise<IotHubEmulator> {
        const emulator = new IotHubEmulator(options);
        const swaggerFile = options.swaggerPath ?? defaultSwaggerPath();
        const routingOnly = options.swagger === "if-present" && !existsSync(swaggerFile);
        emulator.matcher = routingOnly ? new RoutingOnlyMatcher() : SwaggerValidator.forFile(swaggerFile);
        const port = await emulator.listen({
            validator: emulator.matcher,
            authorize: (request) => checkSharedAccessSignature(request.headers.authorization, emulator.credentials),
            operations: {
                ...deviceOperations(emulator.stores),
                ...twinOperations(emulator.stores),
                ...configurationOperations(emulator.stores),
            },
            settle: () => emulator.settle(),
        });
        emulator.boundPort = port;
        emulator.factory = loopbackRegistryFactory(emulator.hostName, port, emulator.agent);
        return emulator;
    }

    private constructor(options: IotHubEmulatorOptions) {
        super(options);
        this.hubName = options.hubName ?? "test-hub";
        if (options.ownerKey !== undefined && !isSasKey(options.ownerKey)) throw new Error("ownerKey must be base64 of 16 to 64 bytes");
        this.credentials = {
            hostName: `${this.hubName}.azure-devices.net`,
            keyName: OWNER_POLICY,
            // Generated per emulator unless given (the offline engine derives one from the hub's name, never a real key).
            key: options.ownerKey ?? randomBytes(32).toString("base64"),
        };
        this.hostName = this.credentials.hostName;
        this.connectionString = `HostName=${this.hostName};SharedAccessKeyName=${OWNER_POLICY};SharedAccessKey=${this.credentials.key}`;
        const devices = new DeviceStore(options.deviceKeys ?? randomKeys);
        this.stores = { devices, deployments: new DeploymentStore(devices) };
        this.edgeAgents = options.edgeAgents ?? "silent";
        checkEdgeAgentBehaviour(this.edgeAgents);
        this.agents = new SimulatedAgents(this.edgeAgents);
    }

    /** The loopback port the emulator listens on (127.0.0.1). */
    get port(): number {
        return this.boundPort;
    }

    /** Builds real azure-iothub Registries that talk to this emulator; hand it to code that takes a RegistryFactory. */
    get registryFactory(): RegistryFactory {
        if (!this.factory) throw new Error("emulator is not listening");
        return this.factory;
    }

    /** A real azure-iothub Registry for this hub's owner connection string, bound to the emulator. */
    registry(): Registry {
        return this.registryFactory(this.connectionString);
    }

    /** The iothubowner policy's key, the one `connectionString` carries. */
    get ownerKey(): string {
        return this.credentials.key;
    }

    /**
     * Back to a hub nobody has used: no devices, no configurations, no records, no fault plan; etags, generation ids
     * and generated key sequences start again. Keys, port and options stay.
     */
    reset(): void {
        this.stores.deployments.clear();
        this.stores.devices.clear();
        this.agents.clear();
        this.faults.clear();
        this.resetRecords();
    }

    /** Acts as the device (moduleId undefined) or one of its modules reporting properties; merges like a twin patch. */
    setReported(deviceId: string, moduleId: string | undefined, properties: JsonObject): void {
        this.stores.devices.setReported(deviceId, moduleId, properties);
        this.settle();
    }

    /** Acts as the device's IoT Edge agent reporting on the deployment it received. */
    reportEdgeAgent(deviceId: string, report: EdgeAgentReport): void {
        const { code, description } = report.lastDesiredStatus;
        const properties: JsonObject = {
            lastDesiredVersion: report.lastDesiredVersion ?? this.stores.devices.module(deviceId, "$edgeAgent").twin.desiredVersion,
            lastDesiredStatus: description === undefined ? { code } : { code, description },
        };
        if (report.modules) {
            properties.modules = Object.fromEntries(
                Object.entries(report.modules).map(([name, { runtimeStatus, settings }]): [string, JsonObject] => [
                    name,
                    settings ? { runtimeStatus, settings: { image: settings.image } } : { runtimeStatus },
                ]),
            );
        }
        this.setReported(deviceId, "$edgeAgent", properties);
    }

    /**
     * Changes how one device's simulated edgeAgent reacts from now on (undefined: back to the `edgeAgents` option's
     * rule); it reacts at once to a deployment it has not acted on yet, as a device coming online does.
     */
    setEdgeAgent(deviceId: string, rule: EdgeAgentRule | undefined): void {
        this.agents.set(deviceId, rule);
        this.settle();
    }

    /**
     * Makes sure at least `count` edge devices satisfy a target condition (a conjunction of `tags.<path> = <value>`),
     * registering stand-ins `<prefix>-1`, ... tagged to match for the shortfall; returns their ids. The offline engine
     * gives a canary ring its devices this way, as a real hub's ring is tagged outside the stack.
     */
    addDevicesMatching(condition: string, count: number, prefix = "stand-in"): string[] {
        const target = parseTargetCondition(condition);
        const tags = tagsSatisfying(target);
        if (!tags) throw new Error(`no stand-in device can satisfy "${condition}": only tags.<path> = <value> comparisons joined by AND`);
        const devices = this.stores.devices;
        const matching = devices.all().filter((device) => device.iotEdge && matches(target, deviceTwinJson(device))).length;
        const added: string[] = [];
        for (let n = 1; added.length < count - matching; n++) {
            const deviceId = `${prefix}-${n}`;
            if (devices.all().some((device) => device.deviceId === deviceId)) continue;
            const device = devices.create(deviceId, { capabilities: { iotEdge: true } });
            devices.patchTwin(device.twin, { tags }, "*", `twin ${deviceId}`);
            added.push(deviceId);
        }
        this.settle();
        return added;
    }

    /** After any change: deployments reach the devices they target, then simulated agents (if any) report on them. */
    private settle(): void {
        this.stores.deployments.reconcile();
        this.agents.react(this.stores.devices);
    }

    /**
     * Sends an arbitrary HTTP request to the emulator, bypassing the SDK: for requests the SDK would never build
     * (malformed bodies, missing api-version) or headers it cannot send (a stale If-Match on a device PUT).
     */
    rawRequest(raw: RawRequest): Promise<RawResponse> {
        const headers: Record<string, string> = { ...raw.headers };
        if (raw.authorize ?? true) {
            const { hostName, keyName, key } = this.credentials;
            headers.Authorization = SharedAccessSignature.create(hostName, keyName, key, Math.ceil(Date.now() / 1000) + 3600).toString();
        }
        if (raw.body !== undefined) headers["Content-Length"] = String(Buffer.byteLength(raw.body));
        return new Promise((resolve, reject) => {
            const request = http.request(
                { host: "127.0.0.1", port: this.port, method: raw.method, path: raw.path, headers, agent: false },
                (response) => {
                    const chunks: Buffer[] = [];
                    response.on("data", (chunk: Buffer) => chunks.push(chunk));
                    response.on("end", () =>
                        resolve({
                            status: response.statusCode ?? 0,
                            headers: response.headers,
                            body: Buffer.concat(chunks).toString("utf8"),
                        }),
                    );
                },
            );
            request.on("error", reject);
            request.end(raw.body);
        });
    }
}
