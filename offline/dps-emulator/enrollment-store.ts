/**
 * Enrollment groups: the state behind /enrollmentGroups/{id}. Only symmetric key attestation is modelled (what an
 * edgeml fleet uses); a group with another attestation is refused with 501. Every write replaces the etag, so a
 * client holding an old one gets 412 on a conditional write.
 *
 * What a client reads back never carries the keys: DPS returns them only from
 * `POST /enrollmentGroups/{id}/attestationmechanism` ("by design from the service side", Azure/azure-iot-sdk-java#674),
 * so GET answers `symmetricKey: { primaryKey: null, secondaryKey: null }`. The emulator's PUT answer does the same.
 * A PUT that omits the keys (or sends those nulls back) keeps the group's keys, and generates them (64 random bytes,
 * as the portal's) for a new group.
 */
import { randomBytes } from "crypto";
import { EtagSource, checkIfMatch } from "../iothub-emulator/etags";
import { HubError, badRequest, notFound, preconditionFailed } from "../iothub-emulator/hub-errors";
import { JsonObject, isJsonObject } from "../iothub-emulator/json";
import { isSasKey } from "../iothub-emulator/sas-auth";

/** What the registration needs of a group; the rest of the record is kept as it was written. */
export interface EnrollmentGroupState {
    enrollmentGroupId: string;
    primaryKey: string;
    secondaryKey: string;
    provisioningStatus: "enabled" | "disabled";
    iotEdge: boolean;
    /** The hub devices go to, when the group names one. */
    iotHubHostName?: string;
    /** The hubs devices may go to (hashed), when it names none. */
    iotHubs?: string[];
    tags: JsonObject;
    desired: JsonObject;
    createdDateTimeUtc: string;
    lastUpdatedDateTimeUtc: string;
    etag: string;
    /** The record as written, for the fields the emulator does not act on (reprovisionPolicy, allocationPolicy, ...). */
    record: JsonObject;
}

const generatedKey = (): string => randomBytes(64).toString("base64");

export class EnrollmentStore {
    private readonly groups = new Map<string, EnrollmentGroupState>();
    private readonly etags = new EtagSource();

    /** `isLinked(hostName)`: whether a hub is linked to the instance (a group may only name linked hubs). */
    constructor(private readonly isLinked: (hostName: string) => boolean) {}

    clear(): void {
        this.groups.clear();
        this.etags.reset();
    }

    /** Enrollment group ids are case-insensitive. */
    find(id: string): EnrollmentGroupState | undefined {
        return this.groups.get(id.toLowerCase());
    }

    get(id: string): EnrollmentGroupState {
        const group = this.find(id);
        if (!group) throw notFound("EnrollmentNotFound", `Enrollment group ${id} not found`);
        return group;
    }

    all(): EnrollmentGroupState[] {
        return [...this.groups.values()];
    }

    /** Create or replace. Without If-Match a PUT creates or overwrites; with it, the group must exist with that etag. */
    put(id: string, body: JsonObject, ifMatch: string | undefined): EnrollmentGroupState {
        if (body.enrollmentGroupId !== id) {
            throw badRequest("ArgumentInvalid", `body enrollmentGroupId '${String(body.enrollmentGroupId)}' differs from '${id}'`);
        }
        const existing = this.find(id);
        if (ifMatch !== undefined) {
            if (!existing) throw preconditionFailed(`enrollment group ${id}: If-Match ${ifMatch} but no such group`);
            checkIfMatch(existing.etag, ifMatch, `enrollment group ${id}`);
        }
        const attestation = isJsonObject(body.attestation) ? body.attestation : {};
        if (attestation.type !== "symmetricKey") {
            throw new HubError(
                501,
                "FeatureNotSupported",
                `the emulator models symmetric key enrollment groups only, not '${String(attestation.type)}'`,
            );
        }
        const keys = isJsonObject(attestation.symmetricKey) ? attestation.symmetricKey : {};
        const primaryKey = chosenKey(keys.primaryKey, existing?.primaryKey, "primaryKey");
        const secondaryKey = chosenKey(keys.secondaryKey, existing?.secondaryKey, "secondaryKey");
        const iotHubHostName = typeof body.iotHubHostName === "string" && body.iotHubHostName ? body.iotHubHostName : undefined;
        const iotHubs = Array.isArray(body.iotHubs) ? body.iotHubs.filter((hub): hub is string => typeof hub === "string") : undefined;
        for (const hub of [iotHubHostName, ...(iotHubs ?? [])]) {
            if (hub !== undefined && !this.isLinked(hub)) {
                throw badRequest("IotHubNotLinked", `IoT hub ${hub} is not linked to this provisioning service`);
            }
        }
        const initialTwin = isJsonObject(body.initialTwin) ? body.initialTwin : {};
        const twinProperties = isJsonObject(initialTwin.properties) ? initialTwin.properties : {};
        const capabilities = isJsonObject(body.capabilities) ? body.capabilities : {};
        const now = new Date().toISOString();
        const group: EnrollmentGroupState = {
            enrollmentGroupId: existing?.enrollmentGroupId ?? id,
            primaryKey,
            secondaryKey,
            provisioningStatus: String(body.provisioningStatus ?? "enabled").toLowerCase() === "disabled" ? "disabled" : "enabled",
            iotEdge: capabilities.iotEdge === true,
            iotHubHostName,
            iotHubs,
            tags: isJsonObject(initialTwin.tags) ? structuredClone(initialTwin.tags) : {},
            desired: isJsonObject(twinProperties.desired) ? structuredClone(twinProperties.desired) : {},
            createdDateTimeUtc: existing?.createdDateTimeUtc ?? now,
            lastUpdatedDateTimeUtc: now,
            etag: this.etags.next(),
            record: structuredClone(body),
        };
        this.groups.set(id.toLowerCase(), group);
        return group;
    }

    delete(id: string, ifMatch: string | undefined): void {
        const group = this.get(id);
        if (ifMatch !== undefined) checkIfMatch(group.etag, ifMatch, `enrollment group ${id}`);
        this.groups.delete(id.toLowerCase());
    }
}

function chosenKey(sent: unknown, existing: string | undefined, name: string): string {
    if (sent === undefined || sent === null || sent === "") return existing ?? generatedKey();
    if (!isSasKey(sent)) throw badRequest("ArgumentInvalid", `attestation.symmetricKey.${name} must be base64 of 16 to 64 bytes`);
    return sent;
}

/** The group as GET and PUT answer it: the record as written, with the service's fields and without the keys. */
export function enrollmentGroupJson(group: EnrollmentGroupState): JsonObject {
    return {
        ...group.record,
        enrollmentGroupId: group.enrollmentGroupId,
        attestation: { type: "symmetricKey", symmetricKey: { primaryKey: null, secondaryKey: null } },
        capabilities: { iotEdge: group.iotEdge },
        provisioningStatus: group.provisioningStatus,
        createdDateTimeUtc: group.createdDateTimeUtc,
        lastUpdatedDateTimeUtc: group.lastUpdatedDateTimeUtc,
        etag: group.etag,
    };
}

/** What `attestationmechanism` answers: the keys. */
export function attestationJson(group: EnrollmentGroupState): JsonObject {
    return { type: "symmetricKey", symmetricKey: { primaryKey: group.primaryKey, secondaryKey: group.secondaryKey } };
}
