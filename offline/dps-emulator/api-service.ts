/**
 * The service API (`<name>.azure-devices-provisioning.net`, checked against dps-service-swagger.json): enrollment
 * groups, their attestation (keys), and device registration states. Individual enrollments, queries and bulk
 * operations are in the swagger but not modelled: they answer 501.
 */
import { EmulatedRoute } from "../iothub-emulator/route-table";
import { JsonObject } from "../iothub-emulator/json";
import { OperationTable, ifMatchHeader } from "../iothub-emulator/operations";
import { EnrollmentStore, attestationJson, enrollmentGroupJson } from "./enrollment-store";
import { RegistrationStore, registrationStateJson } from "./registrations";

/** The api-version the service swagger and azure-iot-provisioning-service 1.11 use. */
export const SERVICE_API_VERSION = "2021-10-01";

/** [method, path template, operationId] of what is modelled, as the swagger spells them (routing without the swagger). */
export const SERVICE_ROUTES: readonly EmulatedRoute[] = [
    ["GET", "/enrollmentGroups/{id}", "EnrollmentGroup_Get"],
    ["PUT", "/enrollmentGroups/{id}", "EnrollmentGroup_CreateOrUpdate"],
    ["DELETE", "/enrollmentGroups/{id}", "EnrollmentGroup_Delete"],
    ["POST", "/enrollmentGroups/{id}/attestationmechanism", "EnrollmentGroup_GetAttestationMechanism"],
    ["GET", "/registrations/{id}", "DeviceRegistrationState_Get"],
    ["DELETE", "/registrations/{id}", "DeviceRegistrationState_Delete"],
];

export function serviceOperations(groups: EnrollmentStore, registrations: RegistrationStore): OperationTable {
    return {
        EnrollmentGroup_Get: {
            mutates: false,
            handle: ({ pathParameters }) => ({ status: 200, body: enrollmentGroupJson(groups.get(pathParameters.id)) }),
        },
        EnrollmentGroup_CreateOrUpdate: {
            mutates: true,
            handle: (request) => {
                const group = groups.put(request.pathParameters.id, request.body as JsonObject, ifMatchHeader(request));
                return { status: 200, body: enrollmentGroupJson(group) };
            },
        },
        EnrollmentGroup_Delete: {
            mutates: true,
            handle: (request) => {
                groups.delete(request.pathParameters.id, ifMatchHeader(request));
                return { status: 204 };
            },
        },
        EnrollmentGroup_GetAttestationMechanism: {
            mutates: false,
            handle: ({ pathParameters }) => ({ status: 200, body: attestationJson(groups.get(pathParameters.id)) }),
        },
        DeviceRegistrationState_Get: {
            mutates: false,
            handle: ({ pathParameters }) => ({ status: 200, body: registrationStateJson(registrations.get(pathParameters.id)) }),
        },
        DeviceRegistrationState_Delete: {
            mutates: true,
            handle: ({ pathParameters }) => {
                registrations.delete(pathParameters.id);
                return { status: 204 };
            },
        },
    };
}
