/**
 * Device identities, their twins and module twins: the registry state behind the /devices and /twins routes.
 * Every mutation replaces the etag, so clients holding an old one get 412 on a conditional write.
 */
import { randomBytes } from "crypto";
import { EtagSource, checkIfMatch } from "./etags";
import { badRequest, conflict, notFound } from "./hub-errors";
import { JsonObject, mergePatch } from "./json";
import { SYSTEM_MODULES, desiredPropertiesByModule } from "./modules-content";

export type AuthenticationType = "sas" | "selfSigned" | "certificateAuthority" | "none";

export interface Authentication {
    type: AuthenticationType;
    symmetricKey: { primaryKey: string | null; secondaryKey: string | null };
    x509Thumbprint: { primaryThumbprint: string | null; secondaryThumbprint: string | null };
}

/** The parts of a swagger `Device` / `ExportImportDevice` body the registry reads (the body is schema-checked before). */
export interface DeviceInput {
    status?: "enabled" | "disabled" | null;
    statusReason?: string | null;
    authentication?: {
        type?: AuthenticationType | null;
        symmetricKey?: { primaryKey?: string | null; secondaryKey?: string | null } | null;
        x509Thumbprint?: { primaryThumbprint?: string | null; secondaryThumbprint?: string | null } | null;
    } | null;
    capabilities?: { iotEdge?: boolean | null } | null;
}

export interface TwinPatch {
    tags?: JsonObject | null;
    properties?: { desired?: JsonObject | null; reported?: JsonObject | null } | null;
}

export interface TwinState {
    tags: JsonObject;
    desired: JsonObject;
    reported: JsonObject;
    desiredVersion: number;
    reportedVersion: number;
    version: number;
    etag: string;
}

export type ConfigurationStatus = "Applied" | "Targeted";

export interface ModuleState {
    moduleId: string;
    twin: TwinState;
    /** Deployments that target the device, as the service records them on module twins (`configurations.[[id]].status`). */
    configurations: Record<string, ConfigurationStatus>;
}

export interface DeviceState {
    deviceId: string;
    generationId: string;
    etag: string;
    status: "enabled" | "disabled";
    statusReason: string | null;
    statusUpdatedTime: string;
    authentication: Authentication;
    iotEdge: boolean;
    twin: TwinState;
    modules: Map<string, ModuleState>;
    /** The deployments (the base, then its layers) whose merged content the device's module twins carry, if any. */
    appliedDeployments?: string;
}

const KEY_BYTES = 32;

/** Which of a device's two SAS keys the hub is generating, and how many times it generated that one before. */
export interface KeyRequest {
    deviceId: string;
    slot: "primary" | "secondary";
    /** 1 for the first key of this slot of this device id, 2 after a rotation, ... (restarts on reset). */
    sequence: number;
}

/** Makes the SAS keys the hub generates: base64 of 16 to 64 bytes. Default: 32 random bytes. */
export type KeyGenerator = (request: KeyRequest) => string;

export const randomKeys: KeyGenerator = () => randomBytes(KEY_BYTES).toString("base64");

export class DeviceStore {
    private readonly devices = new Map<string, DeviceState>();
    private readonly etags = new EtagSource();
    private readonly keySequences = new Map<string, number>();
    private generation = 0;

    constructor(private readonly generateKey: KeyGenerator = randomKeys) {}

    /** Forgets every device; etags, generation ids and key sequences start again, as in a new hub. */
    clear(): void {
        this.devices.clear();
        this.etags.reset();
        this.keySequences.clear();
        this.generation = 0;
    }

    all(): DeviceState[] {
        return [...this.devices.values()];
    }

    get(deviceId: string): DeviceState {
        const device = this.devices.get(deviceId);
        if (!device) throw notFound("DeviceNotFound", `Device ${deviceId} not found`);
        return device;
    }

    module(deviceId: string, moduleId: string): ModuleState {
        const module = this.get(deviceId).modules.get(moduleId);
        if (!module) throw notFound("ModuleNotFound", `Module ${moduleId} not found on device ${deviceId}`);
        return module;
    }

    create(deviceId: string, input: DeviceInput): DeviceState {
        if (this.devices.has(deviceId)) throw conflict("DeviceAlreadyExists", `A device with ID '${deviceId}' is already registered`);
        const now = new Date().toISOString();
        const device: DeviceState = {
            deviceId,
            generationId: this.nextGenerationId(),
            etag: this.etags.next(),
            status: input.status ?? "enabled",
            statusReason: input.statusReason ?? null,
            statusUpdatedTime: now,
            authentication: normalizeAuthentication(input.authentication, this.keysFor(deviceId)),
            iotEdge: input.capabilities?.iotEdge ?? false,
            twin: this.newTwin(),
            modules: new Map(),
        };
        this.ensureSystemModules(device);
        this.devices.set(deviceId, device);
        return device;
    }

    /**
     * PUT with If-Match: replaces the mutable parts of the identity. Like the service, empty keys mean "generate", so an
     * update that does not carry the current keys rotates them: callers must send back the keys they read.
     */
    replace(deviceId: string, input: DeviceInput, ifMatch: string): DeviceState {
        const device = this.get(deviceId);
        checkIfMatch(device.etag, ifMatch, `device ${deviceId}`);
        const status = input.status ?? device.status;
        if (status !== device.status) device.statusUpdatedTime = new Date().toISOString();
        device.status = status;
        device.statusReason = input.statusReason ?? null;
        device.authentication = normalizeAuthentication(input.authentication, this.keysFor(deviceId));
        device.iotEdge = input.capabilities?.iotEdge ?? device.iotEdge;
        device.etag = this.etags.next();
        this.ensureSystemModules(device);
        return device;
    }

    delete(deviceId: string, ifMatch: string | undefined): void {
        const device = this.get(deviceId);
        if (ifMatch !== undefined) checkIfMatch(device.etag, ifMatch, `device ${deviceId}`);
        this.devices.delete(deviceId);
    }

    /** Applies a service-side twin PATCH: tags and desired properties merge; reported properties belong to the device. */
    patchTwin(twin: TwinState, patch: TwinPatch, ifMatch: string, what: string): void {
        checkIfMatch(twin.etag, ifMatch, what);
        if (patch.properties?.reported) {
            throw badRequest("ArgumentInvalid", "reported properties can only be updated by the device");
        }
        if (patch.tags) twin.tags = mergePatch(twin.tags, patch.tags);
        if (patch.properties?.desired) {
            twin.desired = mergePatch(twin.desired, patch.properties.desired);
            twin.desiredVersion += 1;
        }
        this.touch(twin);
    }

    /** What POST /devices/{id}/applyConfigurationContent and an applied deployment do: replace each module's desired properties. */
    applyModulesContent(device: DeviceState, modulesContent: JsonObject): void {
        this.applyDesired(device, desiredPropertiesByModule(modulesContent));
    }

    /** Replaces each listed module's desired properties (a base deployment with its layers merged in, say). */
    applyDesired(device: DeviceState, desiredByModule: Map<string, JsonObject>): void {
        if (!device.iotEdge) throw badRequest("ArgumentInvalid", `Device ${device.deviceId} is not an IoT Edge device`);
        for (const [moduleId, desired] of desiredByModule) {
            const module = device.modules.get(moduleId) ?? this.addModule(device, moduleId);
            module.twin.desired = structuredClone(desired);
            module.twin.desiredVersion += 1;
            this.touch(module.twin);
        }
    }

    /** Stands in for a device (or its edgeAgent) reporting properties; merges like a device-side twin update. */
    setReported(deviceId: string, moduleId: string | undefined, patch: JsonObject): void {
        const twin = moduleId === undefined ? this.get(deviceId).twin : this.module(deviceId, moduleId).twin;
        twin.reported = mergePatch(twin.reported, patch);
        twin.reportedVersion += 1;
        this.touch(twin);
    }

    private ensureSystemModules(device: DeviceState): void {
        if (!device.iotEdge) return;
        for (const moduleId of SYSTEM_MODULES) {
            if (!device.modules.has(moduleId)) this.addModule(device, moduleId);
        }
    }

    private addModule(device: DeviceState, moduleId: string): ModuleState {
        const module: ModuleState = { moduleId, twin: this.newTwin(), configurations: {} };
        device.modules.set(moduleId, module);
        return module;
    }

    private newTwin(): TwinState {
        return { tags: {}, desired: {}, reported: {}, desiredVersion: 1, reportedVersion: 1, version: 1, etag: this.etags.next() };
    }

    private touch(twin: TwinState): void {
        twin.version += 1;
        twin.etag = this.etags.next();
    }

    /** Generates keys for one device id, counting per slot so a rotation gets a new key. */
    private keysFor(deviceId: string): (slot: KeyRequest["slot"]) => string {
        return (slot) => {
            const counter = `${slot}:${deviceId}`;
            const sequence = (this.keySequences.get(counter) ?? 0) + 1;
            this.keySequences.set(counter, sequence);
            return checkedKey(this.generateKey({ deviceId, slot, sequence }), "generated");
        };
    }

    private nextGenerationId(): string {
        this.generation += 1;
        return `6380000000${String(this.generation).padStart(8, "0")}`;
    }
}

function normalizeAuthentication(input: DeviceInput["authentication"], generate: (slot: KeyRequest["slot"]) => string): Authentication {
    const type = input?.type ?? "sas";
    const keys = input?.symmetricKey;
    const thumbprints = input?.x509Thumbprint;
    if (type === "selfSigned" && !thumbprints?.primaryThumbprint) {
        throw badRequest("ArgumentInvalid", "selfSigned authentication needs x509Thumbprint.primaryThumbprint");
    }
    const keyOrGenerated = (key: string | null | undefined, slot: KeyRequest["slot"]): string =>
        key ? checkedKey(key, "given") : generate(slot);
    return {
        type,
        symmetricKey:
            type === "sas"
                ? { primaryKey: keyOrGenerated(keys?.primaryKey, "primary"), secondaryKey: keyOrGenerated(keys?.secondaryKey, "secondary") }
                : { primaryKey: null, secondaryKey: null },
        x509Thumbprint: {
            primaryThumbprint: thumbprints?.primaryThumbprint ?? null,
            secondaryThumbprint: thumbprints?.secondaryThumbprint ?? null,
        },
    };
}

/** A key as the service accepts it; a bad generated one is the emulator's configuration error, not the client's. */
function checkedKey(key: string, origin: "given" | "generated"): string {
    const bytes = Buffer.from(key, "base64");
    if (bytes.toString("base64") !== key || bytes.length < 16 || bytes.length > 64) {
        if (origin === "generated")
            throw new Error(`the emulator's key generator returned "${key}", which is not base64 of 16 to 64 bytes`);
        throw badRequest("ArgumentInvalid", "symmetric keys must be base64 encoded and 16 to 64 bytes long");
    }
    return key;
}
