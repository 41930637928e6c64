/**
 * Errors as the Device Provisioning Service words them: `ProvisioningServiceErrorDetails` of the service swagger
 * (`{ errorCode, trackingId, message, timestampUtc }`) with an `x-ms-error-code` header. The numeric codes are
 * shaped like the service's (the HTTP status times 1000 plus a detail, e.g. 401002 for a token that does not sign),
 * not a copy of its table. The SDKs' translateError keys on the HTTP status alone, and their message is
 * `Error: <this body>` (they look for IoT Hub's `Message` field, which DPS does not send).
 */
import { randomUUID } from "crypto";
import { HubError } from "../iothub-emulator/hub-errors";
import { OperationResponse } from "../iothub-emulator/operations";

const DETAIL: Record<string, number> = {
    ArgumentInvalid: 4,
    RegistrationIdInvalid: 5,
    IotHubNotLinked: 6,
    Unauthorized: 2,
    IotHubUnauthorizedAccess: 2,
    EnrollmentNotFound: 201,
    RegistrationNotFound: 202,
    OperationNotFound: 203,
    PreconditionFailed: 2,
    ThrottlingException: 1,
    FeatureNotSupported: 1,
    ServiceUnavailable: 1,
};

export function errorCodeOf(error: HubError): number {
    return error.status * 1000 + (DETAIL[error.code] ?? 1);
}

export function dpsErrorResponse(error: HubError): OperationResponse {
    const errorCode = errorCodeOf(error);
    return {
        status: error.status,
        body: { errorCode, trackingId: randomUUID(), message: error.message, timestampUtc: new Date().toISOString() },
        headers: { "x-ms-error-code": String(errorCode) },
    };
}

export const unauthorized = (why: string): HubError => new HubError(401, "Unauthorized", `Unauthorized: ${why}`);
