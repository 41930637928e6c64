// Dynamic provider for a Device Provisioning Service enrollment group: one symmetric-key group whose devices (IoT
// Edge, by default) register themselves and land in the stack's hub with the group's initial twin tags, which the
// fleet deployment targets. No ARM resource models enrollment groups: this is DPS's service API, driven through
// azure-iot-provisioning-service with the project's one retry (dpsRetry.ts).
//
// Keys and their rotation. A group has two key slots; DPS accepts a device key derived from either. Devices derive
// theirs from the primary key (components/dps/deviceFiles.ts); the secondary slot holds a spare no device is given.
// Create generates both (32 random bytes each, base64) unless keys are given. A new keyRotation value (any change;
// counting up is the habit, as with the registry token's password rotation) replaces the primary key as the registry
// token's providers replace a password (registry/tokenPasswordProvider.ts): the new key is generated into the other
// slot first, and the old key is revoked last, each step a PUT with If-Match on the etag of the one before:
//   1. the new key goes into the secondary slot: DPS now accepts the old key and the new one;
//   2. the new key becomes the primary and the secondary slot gets a fresh spare: the old key is revoked.
// There is never a moment when DPS accepts neither the old key nor the new one. Unlike the registry token, whose old
// password is revoked only after the rollout that hands devices the new one, nothing in the stack hands devices their
// keys (the device files are written from the stack outputs afterwards, `npm run devices`), so the old key is revoked
// at the end of the same update: a rotation is what answers a leaked device file, and files written before it stop
// provisioning. Devices already provisioned keep their hub identities. If step 2 fails, the group holds both keys and
// the stack still records the old one; the next `pulumi up` finds the group's etag moved with only the spare slot
// different, which is the stack's own to overwrite, and rotates again.
//
// Optimistic concurrency: every update is a PUT with If-Match on the etag the stack last saw. A 412 means someone
// else wrote the group (the portal, az iot dps): the provider reads it again and says what changed, unless what it
// finds is its own write (a retried request that had committed) or differs in the spare slot alone.
import { randomBytes } from "crypto";
import type * as pulumi from "@pulumi/pulumi";
import type { AttestationMechanism, EnrollmentGroup } from "azure-iot-provisioning-service/dist/interfaces";
// The naming rules alone, not the config face: a provider is serialized with what it imports.
import * as names from "../config/names";
import { configKey, dynamicResourceType } from "../shared/project";
import { DEFAULT_RETRY_POLICY, RetryPolicy } from "../shared/retry";
import { containsUnknown } from "../shared/unknown";
import { connectionStringParts, connectWithSdk, dpsHostNameOf, ProvisioningClientFactory } from "./dpsClient";
import { describeDpsError, statusOf, withDpsRetry } from "./dpsRetry";

/** The URN type of an enrollment group (registered by EnrollmentGroup as module "dps"). */
export const ENROLLMENT_GROUP_TYPE = dynamicResourceType("dps", "EnrollmentGroup");

export interface EnrollmentGroupInputs {
    /** The DPS service connection string, provisioningserviceowner's (secret). */
    serviceConnectionString: string;
    /** The group's id; a new one is a new group (DPS compares ids case-insensitively). */
    enrollmentGroupId: string;
    /** The stack's hub, where devices land (it must be linked to the DPS instance). */
    iotHubHostName: string;
    /** The initial twin's tags, which the fleet deployment's target condition matches. */
    tags: Record<string, string>;
    /** Devices register as IoT Edge devices. */
    iotEdge: boolean;
    /** A new value rotates the primary key (see the file comment). */
    keyRotation: number;
    /** Keys to use instead of generated ones (secret): both or neither, base64 of 16 to 64 bytes. */
    primaryKey?: string;
    secondaryKey?: string;
}

export interface EnrollmentGroupOutputs extends EnrollmentGroupInputs {
    /** `<dps>.azure-devices-provisioning.net`, from the connection string: the instance the group lives in. */
    dpsHostName: string;
    /** The key devices derive theirs from (secret). */
    primaryKey: string;
    /** A spare no device is given (secret). */
    secondaryKey: string;
    /** Whether the keys came from the inputs (then rotation does not apply). */
    keysGiven: boolean;
    /** The group's etag when the stack last wrote (or refreshed) it. */
    etag: string;
    /** "enabled" as the stack writes it; a refresh can find "disabled". */
    provisioningStatus: string;
}

interface Keys {
    primaryKey: string;
    secondaryKey: string;
}

/** The group as the service holds it: its record (no keys: DPS never returns them on a GET) and its keys. */
interface SeenGroup {
    group: EnrollmentGroup;
    keys: Keys;
}

/** What the stack believes (or wants) the group to be. */
interface Expected {
    inputs: EnrollmentGroupInputs;
    keys: Keys;
}

/** A new group key: 32 random bytes, base64. */
function newKey(): string {
    return randomBytes(32).toString("base64");
}

function isKey(value: unknown): boolean {
    if (typeof value !== "string") return false;
    const bytes = Buffer.from(value, "base64");
    return bytes.toString("base64") === value && bytes.length >= 16 && bytes.length <= 64;
}

/** The keys the inputs give, if they give them. */
function givenKeys(inputs: EnrollmentGroupInputs): Keys | undefined {
    return inputs.primaryKey && inputs.secondaryKey ? { primaryKey: inputs.primaryKey, secondaryKey: inputs.secondaryKey } : undefined;
}

export class EnrollmentGroupProvider implements pulumi.dynamic.ResourceProvider {
    constructor(
        private readonly connect: ProvisioningClientFactory = connectWithSdk,
        private readonly retry: RetryPolicy = DEFAULT_RETRY_POLICY,
    ) {}

    async check(_olds: unknown, news: EnrollmentGroupInputs): Promise<pulumi.dynamic.CheckResult> {
        // An input not known yet (a preview) is checked when it is; messages never quote a secret.
        const known = (value: unknown) => !containsUnknown(value);
        const failures: pulumi.dynamic.CheckFailure[] = [];
        if (known(news.enrollmentGroupId)) {
            const broken = names.enrollmentGroupId(String(news.enrollmentGroupId ?? ""));
            if (broken)
                failures.push({
                    property: "enrollmentGroupId",
                    reason: `"${news.enrollmentGroupId}" is not a valid enrollment group id: ${broken}`,
                });
        }
        if (known(news.serviceConnectionString)) {
            const parts = connectionStringParts(String(news.serviceConnectionString ?? ""));
            if (!parts.hostName || !parts.keyName || !parts.key) {
                failures.push({
                    property: "serviceConnectionString",
                    reason: "must be a DPS service connection string: HostName=<dps>.azure-devices-provisioning.net;SharedAccessKeyName=<policy>;SharedAccessKey=<key>",
                });
            }
        }
        if (known(news.iotHubHostName) && !/^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/.test(String(news.iotHubHostName ?? ""))) {
            failures.push({ property: "iotHubHostName", reason: "must be the IoT hub's host name, <hub>.azure-devices.net" });
        }
        if (known(news.tags)) {
            for (const [key, value] of Object.entries(news.tags ?? {})) {
                if (known(value) && typeof value !== "string")
                    failures.push({ property: `tags.${key}`, reason: "tag values must be strings" });
            }
        }
        if (known(news.iotEdge) && typeof news.iotEdge !== "boolean")
            failures.push({ property: "iotEdge", reason: "must be true or false" });
        if (known(news.keyRotation) && !(Number.isInteger(news.keyRotation) && news.keyRotation >= 0)) {
            failures.push({ property: "keyRotation", reason: "must be a whole number, 0 or more" });
        }
        for (const slot of ["primaryKey", "secondaryKey"] as const) {
            const value = news[slot];
            if (known(value) && value !== undefined && !isKey(value))
                failures.push({ property: slot, reason: "must be base64 of 16 to 64 bytes" });
        }
        if (known(news.primaryKey) && known(news.secondaryKey) && (news.primaryKey === undefined) !== (news.secondaryKey === undefined)) {
            failures.push({ property: "secondaryKey", reason: "give both keys or neither (neither: the provider generates them)" });
        }
        return { inputs: news, failures };
    }

    async create(inputs: EnrollmentGroupInputs): Promise<pulumi.dynamic.CreateResult> {
        const client = this.connect(inputs.serviceConnectionString);
        const dpsHostName = dpsHostNameOf(inputs.serviceConnectionString);
        const id = inputs.enrollmentGroupId;
        // A group that exists already is another's, or one whose creation the stack never recorded: its devices hold keys
        // derived from keys the stack does not know, and overwriting them would lock those devices out.
        if (await this.seen(client, inputs)) {
            throw new Error(
                `enrollment group ${id} already exists in ${dpsHostName}, and edgeml does not take over a group it did not create: ` +
                    `choose another ${configKey("enrollmentGroupId")}, or delete that group if it is a leftover ` +
                    `(az iot dps enrollment-group delete --dps-name ${dpsHostName.split(".")[0]} --enrollment-id ${id})`,
            );
        }
        const keys = givenKeys(inputs) ?? { primaryKey: newKey(), secondaryKey: newKey() };
        let written: EnrollmentGroup;
        try {
            // No If-Match: a create; a retry after a lost response writes the same group again.
            written = (
                await withDpsRetry(
                    `create enrollment group ${id}`,
                    () => client.createOrUpdateEnrollmentGroup(groupBody(inputs, keys)),
                    this.retry,
                )
            ).responseBody;
        } catch (error) {
            throw failure(`creating enrollment group ${id} in ${dpsHostName}`, error, inputs, keys);
        }
        return { id, outs: outputsFor(inputs, dpsHostName, keys, written.etag ?? "") };
    }

    async diff(_id: string, olds: EnrollmentGroupOutputs, news: EnrollmentGroupInputs): Promise<pulumi.dynamic.DiffResult> {
        // Replacement is decided from known values only; an unknown input (a preview) is a change to look at again.
        const replaces: string[] = [];
        if (
            !containsUnknown(news.enrollmentGroupId) &&
            olds.enrollmentGroupId.toLowerCase() !== String(news.enrollmentGroupId).toLowerCase()
        ) {
            replaces.push("enrollmentGroupId");
        }
        const connection = news.serviceConnectionString;
        if (!containsUnknown(connection) && olds.dpsHostName.toLowerCase() !== dpsHostNameOf(connection).toLowerCase()) {
            replaces.push("serviceConnectionString");
        }
        const changes = describeEnrollmentGroupChanges(olds, news);
        // Same instance, other credentials: its key was regenerated; the state takes the new connection string.
        const credentialsChanged = connection !== olds.serviceConnectionString;
        const unknown = Object.values(news).some(containsUnknown);
        // A new group id or instance is another group; creating it before deleting the old one is safe (they never clash).
        return {
            changes: unknown || changes.length > 0 || replaces.length > 0 || credentialsChanged,
            replaces,
            deleteBeforeReplace: false,
        };
    }

    async update(_id: string, olds: EnrollmentGroupOutputs, news: EnrollmentGroupInputs): Promise<pulumi.dynamic.UpdateResult> {
        const client = this.connect(news.serviceConnectionString);
        const dpsHostName = dpsHostNameOf(news.serviceConnectionString);
        const current: Keys = { primaryKey: olds.primaryKey, secondaryKey: olds.secondaryKey };
        const given = givenKeys(news);
        let steps: { keys: Keys; what: string }[];
        if (given) {
            steps = [{ keys: given, what: "write the given keys" }];
        } else if (news.keyRotation !== olds.keyRotation) {
            const fresh = newKey();
            steps = [
                { keys: { primaryKey: current.primaryKey, secondaryKey: fresh }, what: "add the new key (rotation step 1 of 2)" },
                { keys: { primaryKey: fresh, secondaryKey: newKey() }, what: "revoke the old key (rotation step 2 of 2)" },
            ];
        } else {
            steps = [{ keys: current, what: "update" }];
        }
        let expected: Expected = { inputs: olds, keys: current };
        let etag = olds.etag;
        for (const step of steps) {
            etag = await this.replace(client, dpsHostName, expected, { inputs: news, keys: step.keys }, etag, step.what);
            expected = { inputs: news, keys: step.keys };
        }
        return { outs: outputsFor(news, dpsHostName, expected.keys, etag) };
    }

    async delete(_id: string, olds: EnrollmentGroupOutputs): Promise<void> {
        const client = this.connect(olds.serviceConnectionString);
        const id = olds.enrollmentGroupId;
        try {
            await withDpsRetry(`delete enrollment group ${id}`, () => client.deleteEnrollmentGroup(id), this.retry);
        } catch (error) {
            // Already gone (deleted by hand, or a retried delete that had succeeded): the goal is met.
            if (statusOf(error) !== 404) throw failure(`deleting enrollment group ${id} from ${olds.dpsHostName}`, error, olds, olds);
        }
    }

    /** `pulumi refresh`: the group as DPS holds it now (its keys from the attestation mechanism), or gone. */
    async read(id: string, props: EnrollmentGroupOutputs): Promise<pulumi.dynamic.ReadResult> {
        const client = this.connect(props.serviceConnectionString);
        const seen = await this.seen(client, { ...props, enrollmentGroupId: id });
        if (!seen) return {};
        const { group, keys } = seen;
        return {
            id,
            props: {
                ...props,
                iotHubHostName: group.iotHubHostName ?? "",
                iotEdge: group.capabilities?.iotEdge === true,
                tags: ((group.initialTwin as { tags?: Record<string, string> } | undefined)?.tags ?? {}) as Record<string, string>,
                ...keys,
                etag: group.etag ?? "",
                provisioningStatus: group.provisioningStatus ?? "enabled",
            } satisfies EnrollmentGroupOutputs,
        };
    }

    /** The group and its keys as DPS holds them, or undefined when there is no such group. */
    private async seen(
        client: ReturnType<ProvisioningClientFactory>,
        inputs: EnrollmentGroupInputs,
        ...secrets: string[]
    ): Promise<SeenGroup | undefined> {
        const id = inputs.enrollmentGroupId;
        try {
            const group = (await withDpsRetry(`get enrollment group ${id}`, () => client.getEnrollmentGroup(id), this.retry)).responseBody;
            const attestation = (
                await withDpsRetry(
                    `get the keys of enrollment group ${id}`,
                    () => client.getEnrollmentGroupAttestationMechanism(id),
                    this.retry,
                )
            ).responseBody as AttestationMechanism;
            const keys = attestation.symmetricKey;
            return { group, keys: { primaryKey: keys?.primaryKey ?? "", secondaryKey: keys?.secondaryKey ?? "" } };
        } catch (error) {
            if (statusOf(error) === 404) return undefined;
            throw failure(`reading enrollment group ${id}`, error, inputs, ...secrets);
        }
    }

    /**
     * PUT `target` with If-Match `etag`, the group being `expected` as far as the stack knows; returns the new etag.
     * A 412 (the group was written since) is settled by reading it: gone (deleted outside the stack) → written again,
     * with the keys the devices hold; already `target` (the stack's own write had committed) → done; `expected` but
     * for the spare slot → written over; anything else → an error saying what changed outside the stack.
     */
    private async replace(
        client: ReturnType<ProvisioningClientFactory>,
        dpsHostName: string,
        expected: Expected,
        target: Expected,
        etag: string,
        what: string,
    ): Promise<string> {
        const id = target.inputs.enrollmentGroupId;
        const secrets = [expected.keys.primaryKey, expected.keys.secondaryKey, target.keys.primaryKey, target.keys.secondaryKey];
        const put = async (ifMatch: string | undefined) => {
            try {
                const body = groupBody(target.inputs, target.keys, ifMatch);
                return (
                    (await withDpsRetry(`${what}: enrollment group ${id}`, () => client.createOrUpdateEnrollmentGroup(body), this.retry))
                        .responseBody.etag ?? ""
                );
            } catch (error) {
                if (statusOf(error) === 412) return undefined;
                throw failure(`${what}: enrollment group ${id} in ${dpsHostName}`, error, target.inputs, ...secrets);
            }
        };
        const written = await put(etag);
        if (written !== undefined) return written;
        const seen = await this.seen(client, target.inputs, ...secrets);
        if (!seen) return (await put(undefined)) ?? "";
        if (sameGroup(seen, target, false)) return seen.group.etag ?? "";
        if (sameGroup(seen, expected, true)) {
            const again = await put(seen.group.etag);
            if (again !== undefined) return again;
        }
        throw changedOutside(id, dpsHostName, etag, seen, expected);
    }
}

/** The group as the stack writes it: symmetric keys, IoT Edge capability, the hub, the initial twin's tags, enabled. */
function groupBody(inputs: EnrollmentGroupInputs, keys: Keys, etag?: string): EnrollmentGroup {
    return {
        enrollmentGroupId: inputs.enrollmentGroupId,
        attestation: { type: "symmetricKey", symmetricKey: { primaryKey: keys.primaryKey, secondaryKey: keys.secondaryKey } },
        capabilities: { iotEdge: inputs.iotEdge },
        iotHubHostName: inputs.iotHubHostName,
        initialTwin: { tags: inputs.tags },
        provisioningStatus: "enabled",
        // The SDK sends a group's etag as If-Match.
        ...(etag ? { etag } : {}),
    } as unknown as EnrollmentGroup;
}

function outputsFor(inputs: EnrollmentGroupInputs, dpsHostName: string, keys: Keys, etag: string): EnrollmentGroupOutputs {
    return { ...inputs, dpsHostName, ...keys, keysGiven: givenKeys(inputs) !== undefined, etag, provisioningStatus: "enabled" };
}

function sortedJson(tags: unknown): string {
    return JSON.stringify(Object.entries((tags ?? {}) as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)));
}

/** Whether the group DPS holds is `expected` (its primary key, and its secondary unless `spareAside`). */
function sameGroup({ group, keys }: SeenGroup, expected: Expected, spareAside: boolean): boolean {
    return (
        (group.provisioningStatus ?? "enabled") === "enabled" &&
        (group.iotHubHostName ?? "").toLowerCase() === expected.inputs.iotHubHostName.toLowerCase() &&
        (group.capabilities?.iotEdge === true) === expected.inputs.iotEdge &&
        sortedJson((group.initialTwin as { tags?: unknown } | undefined)?.tags) === sortedJson(expected.inputs.tags) &&
        keys.primaryKey === expected.keys.primaryKey &&
        (spareAside || keys.secondaryKey === expected.keys.secondaryKey)
    );
}

/** What someone changed in the group since the stack last wrote it, in words (keys named, never shown). */
function changedOutside(id: string, dpsHostName: string, etag: string, seen: SeenGroup, expected: Expected): Error {
    const { group, keys } = seen;
    const differences: string[] = [];
    const field = (label: string, was: unknown, now: unknown) => {
        if (JSON.stringify(was) !== JSON.stringify(now)) differences.push(`${label} ${JSON.stringify(was)} -> ${JSON.stringify(now)}`);
    };
    field("provisioningStatus", "enabled", group.provisioningStatus ?? "enabled");
    field("iotHubHostName", expected.inputs.iotHubHostName, group.iotHubHostName ?? "");
    field("capabilities.iotEdge", expected.inputs.iotEdge, group.capabilities?.iotEdge === true);
    const tags = (group.initialTwin as { tags?: Record<string, unknown> } | undefined)?.tags ?? {};
    if (sortedJson(tags) !== sortedJson(expected.inputs.tags)) field("initialTwin.tags", expected.inputs.tags, tags);
    if (keys.primaryKey !== expected.keys.primaryKey) differences.push("the primary key was replaced (devices derive theirs from it)");
    if (differences.length === 0) differences.push("fields edgeml does not set");
    return new Error(
        `enrollment group ${id} in ${dpsHostName} was changed outside the stack since it last wrote it (etag ${etag}, now ${group.etag}): ` +
            `${differences.join("; ")}. \`pulumi refresh\` takes in what it holds now; \`pulumi up\` after it writes the stack's settings back`,
    );
}

/** A failed call in words: the service's message, with the connection string's key and the group's keys scrubbed. */
function failure(what: string, error: unknown, inputs: Partial<EnrollmentGroupInputs>, ...keys: (string | Keys | undefined)[]): Error {
    const secrets = keys.flatMap((key) => (typeof key === "string" ? [key] : key ? [key.primaryKey, key.secondaryKey] : []));
    const connectionKey = connectionStringParts(String(inputs.serviceConnectionString ?? "")).key;
    const status = statusOf(error);
    const advice =
        status === 401
            ? `; the service connection string was refused: its key may have been regenerated (\`pulumi up --refresh\` reads the current one)`
            : "";
    return new Error(`${what} failed: ${describeDpsError(error, ...secrets, ...(connectionKey ? [connectionKey] : []))}${advice}`);
}

/** Everything an update would change, in words; values not known yet are said to be so. Keys are never shown. */
export function describeEnrollmentGroupChanges(olds: Partial<EnrollmentGroupOutputs> | undefined, news: EnrollmentGroupInputs): string[] {
    const changes: string[] = [];
    const field = (label: string, was: unknown, now: unknown, compare = (value: unknown) => JSON.stringify(value)) => {
        if (containsUnknown(now)) changes.push(`${label}: known after apply`);
        else if (compare(was) !== compare(now)) changes.push(`${label}: ${JSON.stringify(was)} -> ${JSON.stringify(now)}`);
    };
    field("tags", olds?.tags, news.tags, sortedJson);
    field("IoT hub", olds?.iotHubHostName, news.iotHubHostName, (value) => String(value ?? "").toLowerCase());
    field("IoT Edge capability", olds?.iotEdge, news.iotEdge);
    if (olds?.provisioningStatus !== undefined && olds.provisioningStatus !== "enabled") {
        changes.push(`provisioning status: ${JSON.stringify(olds.provisioningStatus)} -> "enabled"`);
    }
    if (containsUnknown(news.primaryKey) || containsUnknown(news.secondaryKey)) {
        changes.push("keys: known after apply");
    } else if (givenKeys(news)) {
        if (news.primaryKey !== olds?.primaryKey || news.secondaryKey !== olds?.secondaryKey)
            changes.push("keys: replaced by the given ones");
    } else if (containsUnknown(news.keyRotation)) {
        changes.push("key rotation: known after apply");
    } else if (olds && olds.keyRotation !== news.keyRotation) {
        changes.push(`key rotation: ${olds.keyRotation} -> ${news.keyRotation} (a new primary key; the old one is revoked)`);
    }
    return changes;
}
