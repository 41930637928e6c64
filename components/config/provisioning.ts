// How edge devices join the stack's hub: each one listed in edgeDevices (hub), or, as well, any device that presents
// a key derived from the stack's Device Provisioning Service enrollment group (dps). Read by the config loader like
// every other key: the DPS keys are refused without deviceProvisioning: dps rather than silently ignored.
import { configKey, type ExistingResource } from "../shared";
import * as names from "./names";
import type { ConfigReader } from "./reader";
import { EXISTING_KINDS, readExistingResource } from "./existing";

export const PROVISIONING_MODES = ["hub", "dps"] as const;
export type ProvisioningMode = (typeof PROVISIONING_MODES)[number];

/** DPS's tiers: S1 is the only one Microsoft.Devices/provisioningServices names (its sku.name enum). */
export const DPS_SKUS = ["S1"] as const;
export type DpsSku = (typeof DPS_SKUS)[number];

/** The keys that only mean something with deviceProvisioning: dps. */
export const DPS_KEYS = ["existingDps", "dpsName", "dpsSku", "enrollmentGroupId", "dpsKeyRotation"] as const;

export type Provisioning = HubProvisioning | DpsProvisioning;

/** Devices are the identities listed in edgeDevices, registered in the hub by the stack (today's behaviour). */
export interface HubProvisioning {
    mode: "hub";
}

/** A symmetric-key enrollment group for IoT Edge devices, in a DPS the stack creates or one that exists. */
export interface DpsProvisioning {
    mode: "dps";
    dps: NewDps | ExistingResource;
    /** enrollmentGroupId, or `<prefix>-<stack>-edge`. */
    enrollmentGroupId: string;
    /** dpsKeyRotation: a new value regenerates the enrollment group's keys. */
    keyRotation: number;
}

export interface NewDps {
    existing: false;
    /** dpsName, or `<prefix>-<stack>-dps`. */
    name: string;
    sku: DpsSku;
}

/**
 * deviceProvisioning and the DPS keys. `derive(key, suffix, rule)` is the loader's: the explicit name, or
 * `<prefix>-<stack>-<suffix>` checked against the same rule.
 */
export function readProvisioning(
    read: ConfigReader,
    derive: (key: string, suffix: string, check: names.NameCheck) => string,
    stackGroup: { name: string; existing: boolean },
): Provisioning {
    const mode = read.oneOf("deviceProvisioning", PROVISIONING_MODES);
    if (mode !== "dps") {
        // Read (so none is an unknown key), and each one set is named: it would do nothing in hub mode.
        for (const key of DPS_KEYS) {
            const value = read.chosen(key);
            if (value === undefined) continue;
            read.problem(
                key,
                value,
                `configures the Device Provisioning Service, which this stack does not use: set ${configKey("deviceProvisioning")} to dps, or remove it`,
            );
        }
        return { mode: "hub" };
    }
    const existing = readExistingResource(read, "existingDps", EXISTING_KINDS.dps, stackGroup);
    let dps: NewDps | ExistingResource;
    if (existing) {
        read.creationOnly("existingDps", read.string("existingDps"), ["dpsName", "dpsSku"]);
        dps = existing;
    } else {
        dps = { existing: false, name: derive("dpsName", "dps", names.dpsName), sku: read.oneOf("dpsSku", DPS_SKUS) };
    }
    return {
        mode: "dps",
        dps,
        enrollmentGroupId: derive("enrollmentGroupId", "edge", names.enrollmentGroupId),
        keyRotation: read.integer("dpsKeyRotation", 0, 1_000_000_000),
    };
}
