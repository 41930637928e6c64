// What the DPS tests share: a device's key derived from its enrollment group's key as Microsoft documents it
// (node:crypto here, not the product's derivation), and a registration as a device makes it, with Microsoft's device
// client, HTTP transport and symmetric key security client against a DPS emulator.
import { createHmac } from "crypto";
import { ProvisioningDeviceClient, type RegistrationResult } from "azure-iot-provisioning-device";
import { SymmetricKeySecurityClient } from "azure-iot-security-symmetric-key";
import type { DpsEmulator } from "../../offline/dps-emulator";

/** base64(HMAC-SHA256(key = the base64-decoded group key, message = the registration id)). */
export function deviceKey(groupKey: string, registrationId: string): string {
    return createHmac("sha256", Buffer.from(groupKey, "base64")).update(registrationId).digest("base64");
}

/** Registers `registrationId` with `key` through the emulator's global endpoint (or `provisioningHost`) and ID scope. */
export function registerDevice(
    dps: DpsEmulator,
    registrationId: string,
    key: string,
    provisioningHost = dps.globalEndpoint,
    idScope = dps.idScope,
): Promise<RegistrationResult & { substatus?: string }> {
    // The security client's typings name its own copy of azure-iot-common; the object is what the client expects.
    const security = new SymmetricKeySecurityClient(registrationId, key) as unknown as Parameters<
        typeof ProvisioningDeviceClient.create
    >[3];
    return ProvisioningDeviceClient.create(
        provisioningHost,
        idScope,
        dps.deviceTransport(),
        security,
    ).register() as Promise<RegistrationResult>;
}
