// The device side of a Device Provisioning Service enrollment group: the registration ids devices present, the key
// each one derives from the group key, and the /etc/aziot/config.toml that makes IoT Edge register itself at its
// first boot. Pure (no Pulumi SDK, no file system), so `npm run devices` starts fast and the tests call it directly.
// The values handled here are keys: every message names an output, a flag or a registration id, never a key.
import { createHmac } from "crypto";
// Single modules rather than the folder faces: the device bootstrap must start without loading the Pulumi SDK.
import * as names from "../config/names";
import { StackOutputsError } from "../shared/errors";

/** The endpoint every DPS instance shares (the ID scope tells them apart), as IoT Edge's examples write it. */
export const DPS_GLOBAL_ENDPOINT = "https://global.azure-devices-provisioning.net/";

/**
 * The stack outputs `npm run devices` reads for a stack with deviceProvisioning: dps. index.ts exports them:
 * - idScope: the DPS instance's ID scope (its `idScope` property);
 * - globalEndpoint: the device provisioning endpoint as a URL, `https://<deviceProvisioningHostName>/`;
 * - enrollmentGroupKeys (secret): the enrollment group's `{ primaryKey, secondaryKey }`, base64; devices derive from
 *   the primary key (DPS accepts a key derived from either);
 * - agentImage: the edgeAgent image config.toml names under `[agent.config]`, edgeAgentImage(edgeRuntimeVersion).
 */
export const DPS_OUTPUTS = {
    idScope: "dpsIdScope",
    globalEndpoint: "dpsGlobalEndpoint",
    enrollmentGroupKeys: "dpsEnrollmentGroupKeys",
    agentImage: "edgeAgentImage",
} as const;

/** How many numbered registration ids one `--count` may ask for. */
export const MAX_DEVICE_COUNT = 10_000;

/** How `pulumi stack output --json` prints a secret when --show-secrets is missing. */
const HIDDEN_SECRET = "[secret]";

/** What a device's config.toml needs from the stack outputs. */
export interface DpsOutputs {
    idScope: string;
    globalEndpoint: string;
    /** The enrollment group's primary key, base64 (secret). */
    groupKey: string;
    agentImage: string;
}

/** The rule a registration id breaks (DPS's, see names.dpsRegistrationId), or undefined. */
export function registrationIdProblem(id: string): string | undefined {
    return names.dpsRegistrationId(id);
}

/**
 * A device's key in a symmetric-key enrollment group: base64(HMAC-SHA256(key = the base64-decoded group key,
 * message = the registration id as UTF-8)), as `az iot dps enrollment-group compute-device-key` computes it.
 */
export function deriveDeviceKey(groupKeyBase64: string, registrationId: string): string {
    if (!isBase64(groupKeyBase64)) throw new Error("the enrollment group key is not base64");
    const broken = registrationIdProblem(registrationId);
    if (broken) throw new Error(`registration id ${JSON.stringify(registrationId)} breaks DPS's rule: ${broken}`);
    return createHmac("sha256", Buffer.from(groupKeyBase64, "base64")).update(registrationId, "utf8").digest("base64");
}

/** `<prefix>1` to `<prefix><count>`, numbers zero-padded to the width of count (count 250: 001 to 250). */
export function numberedRegistrationIds(prefix: string, count: number): string[] {
    const width = String(count).length;
    return Array.from({ length: count }, (_, i) => `${prefix}${String(i + 1).padStart(width, "0")}`);
}

/**
 * The registration ids a command line asks for: `count` numbered ones after `prefix`, then the explicit ones, in that
 * order. Problems name the flag: a count out of range, a prefix or id DPS would refuse, an id asked for twice (DPS
 * compares them case-insensitively).
 */
export function registrationIdsFor(request: { prefix?: string; count?: number; explicit?: string[] }): {
    ids: string[];
    problems: string[];
} {
    const problems: string[] = [];
    let numbered: string[] = [];
    if (request.count !== undefined) {
        if (!Number.isInteger(request.count) || request.count < 1 || request.count > MAX_DEVICE_COUNT) {
            problems.push(`--count must be a whole number from 1 to ${MAX_DEVICE_COUNT}`);
        } else {
            numbered = numberedRegistrationIds(request.prefix ?? "", request.count);
            // The ids differ in their digits only (all as wide as the count): the first and the last speak for all.
            const broken = [numbered[0], numbered[numbered.length - 1]]
                .map((id) => ({ id, rule: registrationIdProblem(id) }))
                .find((found) => found.rule);
            if (broken) {
                problems.push(
                    `--prefix ${JSON.stringify(request.prefix ?? "")} makes the registration id ${JSON.stringify(broken.id)}, which breaks DPS's rule: ${broken.rule}`,
                );
                numbered = [];
            }
        }
    }
    const explicit = request.explicit ?? [];
    for (const id of explicit) {
        const broken = registrationIdProblem(id);
        if (broken) problems.push(`--registration-id ${JSON.stringify(id)} breaks DPS's rule: ${broken}`);
    }
    const ids = [...numbered, ...explicit];
    const seen = new Map<string, string>();
    for (const id of ids) {
        const earlier = seen.get(id.toLowerCase());
        if (earlier !== undefined) {
            const same =
                earlier === id ? "is asked for twice" : `is the same registration as ${JSON.stringify(earlier)} (DPS ignores case)`;
            problems.push(`registration id ${JSON.stringify(id)} ${same}`);
        } else seen.set(id.toLowerCase(), id);
    }
    return { ids: problems.length > 0 ? [] : ids, problems };
}

/** The DPS outputs of a stack, checked; each problem names the output, never its value. */
export function readDpsOutputs(outputs: Record<string, unknown>, source: string): DpsOutputs {
    const where = (name: string) => `output ${name} of ${source}`;
    const missing = Object.values(DPS_OUTPUTS).filter((name) => outputs[name] === undefined);
    if (missing.length > 0) {
        throw new StackOutputsError(
            `${source} has no output ${missing.join(", ")}: the stack must set deviceProvisioning to dps, and \`pulumi up\` must have run since with this version of edgeml`,
        );
    }
    const text = (name: string, check: (value: string) => string | undefined): string => {
        const value = outputs[name];
        if (value === HIDDEN_SECRET)
            throw new StackOutputsError(`${where(name)} is hidden as "[secret]": produce the outputs with --show-secrets`);
        if (typeof value !== "string") throw new StackOutputsError(`${where(name)} is not a string`);
        const broken = check(value);
        if (broken) throw new StackOutputsError(`${where(name)} ${broken}`);
        return value;
    };
    const idScope = text(DPS_OUTPUTS.idScope, (v) =>
        /^[A-Za-z0-9]{1,64}$/.test(v) ? undefined : `is not an ID scope (letters and digits, such as 0ne00123ABC)`,
    );
    const globalEndpoint = text(DPS_OUTPUTS.globalEndpoint, (v) => (httpsUrl(v) ? undefined : `is not an https:// URL`));
    const agentImage = text(DPS_OUTPUTS.agentImage, (v) => {
        const broken = names.imageReference(v);
        return broken && `is not an image reference: ${broken}`;
    });
    const keysName = DPS_OUTPUTS.enrollmentGroupKeys;
    const keys = outputs[keysName];
    if (keys === HIDDEN_SECRET)
        throw new StackOutputsError(`${where(keysName)} is hidden as "[secret]": produce the outputs with --show-secrets`);
    const primaryKey = keys !== null && typeof keys === "object" ? (keys as Record<string, unknown>).primaryKey : undefined;
    if (typeof primaryKey !== "string")
        throw new StackOutputsError(`${where(keysName)} has no primaryKey string (expected { primaryKey, secondaryKey })`);
    // DPS's symmetric keys are base64 of 16 to 64 bytes (its own are 64).
    const bytes = isBase64(primaryKey) ? Buffer.from(primaryKey, "base64").length : 0;
    if (bytes < 16 || bytes > 64) throw new StackOutputsError(`${where(keysName)}: primaryKey is not a base64 key of 16 to 64 bytes`);
    return { idScope, globalEndpoint, groupKey: primaryKey, agentImage };
}

/**
 * One device's /etc/aziot/config.toml: DPS provisioning with a symmetric key, in the shape of IoT Edge 1.6's template
 * (edgelet/contrib/config/linux/template.toml, "DPS provisioning with symmetric key": the key inline as
 * `symmetric_key = { value = "..." }`), then the default edgeAgent's `[agent]` and `[agent.config]` tables as the
 * manual files write them.
 */
export function dpsConfigToml(device: {
    idScope: string;
    globalEndpoint: string;
    registrationId: string;
    deviceKey: string;
    agentImage: string;
}): string {
    return [
        "# /etc/aziot/config.toml: DPS provisioning (symmetric key, enrollment group); apply with `sudo iotedge config apply`",
        "[provisioning]",
        'source = "dps"',
        `global_endpoint = ${tomlString(device.globalEndpoint)}`,
        `id_scope = ${tomlString(device.idScope)}`,
        "",
        "[provisioning.attestation]",
        'method = "symmetric_key"',
        `registration_id = ${tomlString(device.registrationId)}`,
        `symmetric_key = { value = ${tomlString(device.deviceKey)} }`,
        "",
        ...agentTables(device.agentImage),
    ].join("\n");
}

/** The default edgeAgent's `[agent]` and `[agent.config]` tables of config.toml, naming its image, as lines. */
export function agentTables(agentImage: string): string[] {
    return [
        "# The edgeAgent the runtime starts first; the deployment's $edgeAgent settings take over once it connects.",
        "[agent]",
        'name = "edgeAgent"',
        'type = "docker"',
        "",
        "[agent.config]",
        `image = ${tomlString(agentImage)}`,
        "",
    ];
}

/** Registration id → config.toml, each with the device's own derived key, in the order asked. */
export function dpsDeviceConfigs(dps: DpsOutputs, registrationIds: string[]): Map<string, string> {
    return new Map(
        registrationIds.map((registrationId) => [
            registrationId,
            dpsConfigToml({
                idScope: dps.idScope,
                globalEndpoint: dps.globalEndpoint,
                registrationId,
                deviceKey: deriveDeviceKey(dps.groupKey, registrationId),
                agentImage: dps.agentImage,
            }),
        ]),
    );
}

/** Standard base64, padded or not (IoT Edge accepts both). */
function isBase64(text: string): boolean {
    return (
        /^[A-Za-z0-9+/]+={0,2}$/.test(text) && text.replace(/=+$/, "").length % 4 !== 1 && (!text.endsWith("=") || text.length % 4 === 0)
    );
}

function httpsUrl(text: string): boolean {
    try {
        return new URL(text).protocol === "https:";
    } catch {
        return false;
    }
}

/** A TOML basic string; the values here (scope, URL, id, base64, image) never need more than quote and backslash escapes. */
function tomlString(value: string): string {
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(value)) throw new Error("config.toml values must not hold control characters");
    return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}
