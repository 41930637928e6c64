/**
 * The device API (the global endpoint, `global.azure-devices-provisioning.net`), as Microsoft's device SDK
 * (azure-iot-provisioning-device with its HTTP transport) calls it:
 *   PUT {idScope}/registrations/{registrationId}/register?api-version=...   body {"registrationId": ...}
 *     → 202 {"operationId", "status": "assigning"} with Retry-After (seconds until the SDK polls)
 *   GET {idScope}/registrations/{registrationId}/operations/{operationId}?api-version=...
 *     → 200 {"operationId", "status": "assigned" | "disabled" | "failed", "registrationState": {...}}
 * Both carry `Authorization: SharedAccessSignature sr=<idScope>%2Fregistrations%2F<registrationId>&sig=..&se=..&skn=registration`,
 * signed with the device's key derived from a symmetric key enrollment group's primary or secondary key: the group
 * whose key signed it is the one the device enrolls through. No swagger of this API is published with the service's
 * (dps-service-swagger.json covers the service API only), so these routes are checked here, not by the validator.
 */
import { IncomingHttpHeaders } from "http";
import { HubError, badRequest } from "../iothub-emulator/hub-errors";
import type { IotHubEmulator } from "../iothub-emulator";
import { isJsonObject } from "../iothub-emulator/json";
import { OperationRequest, OperationTable } from "../iothub-emulator/operations";
import { EmulatedRoute } from "../iothub-emulator/route-table";
import { parseSharedAccessSignature, signedWith } from "../iothub-emulator/sas-auth";
import { errorCodeOf, unauthorized } from "./dps-errors";
import { EnrollmentGroupState, EnrollmentStore } from "./enrollment-store";
import { RegistrationRecord, RegistrationStore, derivedDeviceKey, registrationIdProblem, registrationStateJson } from "./registrations";

/** What the device SDK sends (azure-iot-provisioning-device 1.9's ProvisioningDeviceConstants.apiVersion) and the later versions. */
export const DEVICE_API_VERSIONS = ["2019-03-31", "2021-06-01", "2021-10-01"];

export const DEVICE_ROUTES: readonly EmulatedRoute[] = [
    ["PUT", "/{idScope}/registrations/{registrationId}/register", "RuntimeRegistration_RegisterDevice"],
    ["GET", "/{idScope}/registrations/{registrationId}/operations/{operationId}", "RuntimeRegistration_OperationStatusLookup"],
];

const QUERY_PARAMETERS = new Set(["api-version", "forceRegistration"]);

export interface DeviceApiContext {
    idScope: string;
    groups: EnrollmentStore;
    registrations: RegistrationStore;
    /** The linked hub serving a host name, if linked. */
    hub(hostName: string): IotHubEmulator | undefined;
    /** Every linked hub's host name, for groups that name none. */
    linkedHostNames(): string[];
    /** Read per request: the Retry-After the register answer carries. */
    retryAfterSeconds(): number;
}

export function deviceOperations(context: DeviceApiContext): OperationTable {
    return {
        RuntimeRegistration_RegisterDevice: {
            mutates: true,
            handle: async (request) => {
                const registrationId = checkRequest(context, request);
                const body = request.body;
                if (!isJsonObject(body) || body.registrationId !== registrationId) {
                    throw badRequest("ArgumentInvalid", `the body's registrationId must be '${registrationId}'`);
                }
                const group = authenticate(context, request.headers, registrationId);
                const outcome =
                    group.provisioningStatus === "disabled"
                        ? disabled(group, registrationId)
                        : await assign(context, group, registrationId);
                const operation = context.registrations.complete(outcome);
                return {
                    status: 202,
                    body: { operationId: operation.operationId, status: "assigning" },
                    headers: { "Retry-After": String(context.retryAfterSeconds()) },
                };
            },
        },
        RuntimeRegistration_OperationStatusLookup: {
            mutates: false,
            handle: (request) => {
                const registrationId = checkRequest(context, request);
                authenticate(context, request.headers, registrationId);
                const { operationId, record } = context.registrations.operation(registrationId, request.pathParameters.operationId);
                return {
                    status: 200,
                    body: { operationId, status: record.status, registrationState: registrationStateJson(record, true) },
                };
            },
        },
    };
}

/** The parts every device request shares: api-version, the ID scope and the registration id's rule. */
function checkRequest(context: DeviceApiContext, request: OperationRequest): string {
    const version = request.query.get("api-version");
    if (!version || !DEVICE_API_VERSIONS.includes(version)) {
        throw badRequest("ArgumentInvalid", `api-version '${version ?? ""}' is not one of ${DEVICE_API_VERSIONS.join(", ")}`);
    }
    for (const name of request.query.keys()) {
        if (!QUERY_PARAMETERS.has(name)) throw badRequest("ArgumentInvalid", `unknown query parameter '${name}'`);
    }
    const { idScope, registrationId } = request.pathParameters;
    if (idScope !== context.idScope) throw unauthorized(`unknown ID scope '${idScope}'`);
    const problem = registrationIdProblem(registrationId);
    if (problem) throw badRequest("RegistrationIdInvalid", `registration id '${registrationId}' ${problem}`);
    return registrationId;
}

/** The enabled or disabled symmetric key group whose derived key signed the request's SAS, or 401. */
function authenticate(context: DeviceApiContext, headers: IncomingHttpHeaders, registrationId: string): EnrollmentGroupState {
    const token = parseSharedAccessSignature(headers.authorization, "Unauthorized");
    if (token.keyName !== "registration") throw unauthorized(`the token's key name is '${token.keyName}', not 'registration'`);
    const resource = decodeURIComponent(token.resource).toLowerCase();
    if (resource !== `${context.idScope}/registrations/${registrationId}`.toLowerCase()) {
        throw unauthorized(`the token is for '${decodeURIComponent(token.resource)}'`);
    }
    const group = context.groups
        .all()
        .find((candidate) =>
            [candidate.primaryKey, candidate.secondaryKey].some((key) => signedWith(token, derivedDeviceKey(key, registrationId))),
        );
    if (!group) throw unauthorized("the token is signed with no key derived from an enrollment group's primary or secondary key");
    return group;
}

type Outcome = Omit<RegistrationRecord, "createdDateTimeUtc" | "lastUpdatedDateTimeUtc" | "etag">;

function disabled(group: EnrollmentGroupState, registrationId: string): Outcome {
    return {
        registrationId,
        enrollmentGroupId: group.enrollmentGroupId,
        status: "disabled",
        errorMessage: `enrollment group ${group.enrollmentGroupId} is disabled`,
    };
}

/**
 * Creates the device in the group's hub through that hub's registry (the real azure-iothub SDK against its
 * emulator, as DPS does with the linked hub's connection string): an IoT Edge device when the group says so, SAS
 * keys derived from the group's, the group's initial twin. A device registering again keeps its twin (DPS's default
 * reprovision policy migrates device data) and gets the keys again.
 */
async function assign(context: DeviceApiContext, group: EnrollmentGroupState, registrationId: string): Promise<Outcome> {
    const base = { registrationId, enrollmentGroupId: group.enrollmentGroupId };
    const hostName = group.iotHubHostName ?? hashed(group.iotHubs?.length ? group.iotHubs : context.linkedHostNames(), registrationId);
    const hub = hostName ? context.hub(hostName) : undefined;
    if (!hostName || !hub) {
        const error = new HubError(400, "IotHubNotLinked", `no linked IoT hub ${hostName ?? "at all"} to assign ${registrationId} to`);
        return { ...base, status: "failed", errorCode: errorCodeOf(error), errorMessage: error.message };
    }
    const registry = hub.registry();
    const authentication = {
        type: "sas" as const,
        symmetricKey: {
            primaryKey: derivedDeviceKey(group.primaryKey, registrationId),
            secondaryKey: derivedDeviceKey(group.secondaryKey, registrationId),
        },
    };
    const capabilities = { iotEdge: group.iotEdge };
    try {
        let substatus: Outcome["substatus"] = "initialAssignment";
        try {
            await registry.create({ deviceId: registrationId, status: "enabled", capabilities, authentication });
            const patch = {
                ...(Object.keys(group.tags).length > 0 && { tags: group.tags }),
                ...(Object.keys(group.desired).length > 0 && { properties: { desired: group.desired } }),
            };
            if (Object.keys(patch).length > 0) await registry.updateTwin(registrationId, patch, "*");
        } catch (error) {
            if ((error as { response?: { statusCode?: number } }).response?.statusCode !== 409) throw error;
            const existing = (await registry.get(registrationId)).responseBody;
            await registry.update({ deviceId: registrationId, status: existing.status ?? "enabled", capabilities, authentication });
            substatus = "reprovisionedToInitialAssignment";
        }
        return { ...base, status: "assigned", substatus, assignedHub: hub.hostName, deviceId: registrationId };
    } catch (error) {
        const status = (error as { response?: { statusCode?: number } }).response?.statusCode ?? 500;
        const failure = new HubError(status, "IotHubError", `IoT hub ${hub.hostName} refused the device: ${(error as Error).message}`);
        return { ...base, status: "failed", errorCode: errorCodeOf(failure), errorMessage: failure.message };
    }
}

/** DPS's default allocation ("evenly weighted distribution"): the same registration id always lands in the same hub. */
function hashed(hostNames: string[], registrationId: string): string | undefined {
    if (hostNames.length === 0) return undefined;
    let hash = 0;
    for (const char of registrationId.toLowerCase()) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
    return hostNames[hash % hostNames.length];
}
