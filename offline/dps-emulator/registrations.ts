/**
 * Device registrations: what a device's `register` did (the service API's DeviceRegistrationState) and the
 * operations its SDK polls. A registration through a symmetric key enrollment group is decided at once: the
 * device's SAS names the group (the one whose derived key signed it), and the device lands in the group's hub.
 */
import { createHmac } from "crypto";
import { EtagSource } from "../iothub-emulator/etags";
import { notFound } from "../iothub-emulator/hub-errors";
import { JsonObject } from "../iothub-emulator/json";

/**
 * The rule for registration ids, as DPS documents it: "a case-insensitive string (up to 128 characters long) of
 * alphanumeric characters plus certain special characters : . _ -. No special characters allowed at start or end"
 * (device API reference, Runtime Registration - Register Device). Returns what is wrong, or undefined.
 */
export function registrationIdProblem(id: string): string | undefined {
    if (id.length === 0) return "must not be empty";
    if (id.length > 128) return `is ${id.length} characters long; at most 128`;
    if (!/^[A-Za-z0-9:._-]+$/.test(id)) return "may hold only letters, digits and : . _ -";
    if (!/^[A-Za-z0-9].*[A-Za-z0-9]$|^[A-Za-z0-9]$/.test(id)) return "must start and end with a letter or digit";
    return undefined;
}

/** A device's key in a symmetric key enrollment group: base64(HMAC-SHA256(key = the group's key, decoded, message = registration id)). */
export function derivedDeviceKey(groupKey: string, registrationId: string): string {
    return createHmac("sha256", Buffer.from(groupKey, "base64")).update(registrationId, "utf8").digest("base64");
}

export type RegistrationStatus = "unassigned" | "assigning" | "assigned" | "failed" | "disabled";

export interface RegistrationRecord {
    registrationId: string;
    enrollmentGroupId: string;
    status: RegistrationStatus;
    substatus?: "initialAssignment" | "reprovisionedToInitialAssignment";
    assignedHub?: string;
    deviceId?: string;
    errorCode?: number;
    errorMessage?: string;
    createdDateTimeUtc: string;
    lastUpdatedDateTimeUtc: string;
    etag: string;
}

interface Operation {
    operationId: string;
    registrationId: string;
    record: RegistrationRecord;
}

export class RegistrationStore {
    private readonly records = new Map<string, RegistrationRecord>();
    private readonly operations = new Map<string, Operation>();
    private readonly etags = new EtagSource();
    private sequence = 0;

    clear(): void {
        this.records.clear();
        this.operations.clear();
        this.etags.reset();
        this.sequence = 0;
    }

    /** Registration ids are case-insensitive. */
    find(registrationId: string): RegistrationRecord | undefined {
        return this.records.get(registrationId.toLowerCase());
    }

    get(registrationId: string): RegistrationRecord {
        const record = this.find(registrationId);
        if (!record) throw notFound("RegistrationNotFound", `Registration ${registrationId} not found`);
        return record;
    }

    all(): RegistrationRecord[] {
        return [...this.records.values()];
    }

    delete(registrationId: string): void {
        this.get(registrationId);
        this.records.delete(registrationId.toLowerCase());
    }

    /** Records the outcome of a registration (a disabled group's refusal is not kept) and returns the operation polled for it. */
    complete(outcome: Omit<RegistrationRecord, "createdDateTimeUtc" | "lastUpdatedDateTimeUtc" | "etag">): Operation {
        const now = new Date().toISOString();
        const previous = this.find(outcome.registrationId);
        const record: RegistrationRecord = {
            ...outcome,
            createdDateTimeUtc: previous?.createdDateTimeUtc ?? now,
            lastUpdatedDateTimeUtc: now,
            etag: this.etags.next(),
        };
        if (record.status !== "disabled") this.records.set(record.registrationId.toLowerCase(), record);
        this.sequence += 1;
        // Shaped like the service's ("4.<hex>.<guid>"); opaque to the SDK, which sends it back.
        const operationId = `4.${this.sequence.toString(16).padStart(16, "0")}.${record.etag.replace(/[^A-Za-z0-9]/g, "")}`;
        const operation = { operationId, registrationId: record.registrationId, record };
        this.operations.set(operationId, operation);
        return operation;
    }

    operation(registrationId: string, operationId: string): Operation {
        const operation = this.operations.get(operationId);
        if (!operation || operation.registrationId.toLowerCase() !== registrationId.toLowerCase()) {
            throw notFound("OperationNotFound", `Operation ${operationId} of registration ${registrationId} not found`);
        }
        return operation;
    }
}

/** DeviceRegistrationState as the service API answers it (and, with `symmetricKey`, as the device API does). */
export function registrationStateJson(record: RegistrationRecord, forDevice = false): JsonObject {
    const state: JsonObject = {
        registrationId: record.registrationId,
        createdDateTimeUtc: record.createdDateTimeUtc,
        status: record.status,
        lastUpdatedDateTimeUtc: record.lastUpdatedDateTimeUtc,
        etag: record.etag,
    };
    if (record.assignedHub) state.assignedHub = record.assignedHub;
    if (record.deviceId) state.deviceId = record.deviceId;
    if (record.substatus) state.substatus = record.substatus;
    if (record.errorCode !== undefined) state.errorCode = record.errorCode;
    if (record.errorMessage !== undefined) state.errorMessage = record.errorMessage;
    if (forDevice) state.symmetricKey = { enrollmentGroupId: record.enrollmentGroupId };
    return state;
}
