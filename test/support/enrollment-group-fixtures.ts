// An enrollment group's inputs and the state a create would have left, with made-up credentials: for the provider's
// pure methods (check, diff), which call no service.
import type { EnrollmentGroupInputs, EnrollmentGroupOutputs } from "../../components/dps/enrollmentGroupProvider";

export const GROUP_INPUTS: EnrollmentGroupInputs = {
    serviceConnectionString: "HostName=d.azure-devices-provisioning.net;SharedAccessKeyName=provisioningserviceowner;SharedAccessKey=AAAA",
    enrollmentGroupId: "plant-edge",
    iotHubHostName: "h.azure-devices.net",
    tags: { environment: "dev" },
    iotEdge: true,
    keyRotation: 0,
};

export const GROUP_OUTPUTS: EnrollmentGroupOutputs = {
    ...GROUP_INPUTS,
    dpsHostName: "d.azure-devices-provisioning.net",
    primaryKey: "p",
    secondaryKey: "s",
    keysGiven: false,
    etag: "MQ==",
    provisioningStatus: "enabled",
};
