// edgeml:dps: the Device Provisioning Service linked to the stack's hub and its symmetric-key enrollment group
// (DpsInstance, type edgeml:dps:DeviceProvisioning); the dynamic provider over azure-iot-provisioning-service behind
// the group (enrollmentGroupProvider.ts) with dpsClient.ts and dpsRetry.ts (DPS's retry rules); and the device side:
// registration ids, derived device keys and the DPS config.toml (deviceFiles.ts).
export { DPS_SERVICE_POLICY, DpsInstance } from "./dpsInstance";
export type { DpsInstanceArgs } from "./dpsInstance";
export { EnrollmentGroup } from "./enrollmentGroup";
export type { EnrollmentGroupArgs } from "./enrollmentGroup";
export { describeEnrollmentGroupChanges, ENROLLMENT_GROUP_TYPE, EnrollmentGroupProvider } from "./enrollmentGroupProvider";
export type { EnrollmentGroupInputs, EnrollmentGroupOutputs } from "./enrollmentGroupProvider";
export { connectionStringParts, connectWithSdk, dpsHostNameOf } from "./dpsClient";
export type { ProvisioningClientFactory } from "./dpsClient";
export { describeDpsError, DPS_RETRY_RULES, statusOf, withDpsRetry } from "./dpsRetry";
export {
    agentTables,
    deriveDeviceKey,
    DPS_GLOBAL_ENDPOINT,
    DPS_OUTPUTS,
    dpsConfigToml,
    dpsDeviceConfigs,
    MAX_DEVICE_COUNT,
    numberedRegistrationIds,
    readDpsOutputs,
    registrationIdProblem,
    registrationIdsFor,
} from "./deviceFiles";
export type { DpsOutputs } from "./deviceFiles";
