// What `pulumi up` would change, computed offline from two offline plans (a previous one and the current one),
// without cloud access: resources matched by URN are created, deleted, updated or replaced; reads of existing
// state and stack outputs are compared too, and the IoT Edge deployment's changes are put in module terms.
//
// How a changed resource is classified (the offline stand-in for each provider's Diff):
// - the dynamic providers (EdgeDevice, EdgeDeployment): their own diff(), which is pure (no hub call), so the
//   answer is the one `pulumi up` will get, replacements included;
// - azure-native: see AZURE_REPLACE_INPUTS below;
// - docker Image: an update (the provider rebuilds and pushes; it never replaces an Image);
// - anything else: an update.
import { DOCKER_IMAGE_TYPE, imageTagOf } from "../components/image";
import {
    contentHash,
    describeContentChanges,
    describeDeploymentChanges,
    describeRolloutStages,
    EDGE_DEPLOYMENT_TYPE,
    EDGE_DEVICE_TYPE,
    EdgeDeploymentInputs,
    EdgeDeploymentOutputs,
    EdgeDeploymentProvider,
    EdgeDeviceInputs,
    EdgeDeviceOutputs,
    EdgeDeviceProvider,
} from "../components/iot";
import { TOKEN_PASSWORD_REVOCATION_TYPE, TOKEN_PASSWORD_TYPE } from "../components/registry";
import { AZURE_TYPES, nameFromId, SECRET_MARKER, UNKNOWN_VALUE } from "../components/shared";
import type { OfflinePlan, PlannedInvoke, PlannedResource } from "../offline";
import { flatten } from "./plan-format";

/** What the plans hold in place of a secret; the same on both sides, so a secret never shows as changed. */
const SECRET = SECRET_MARKER;

/**
 * azure-native replaces a resource when an input that is part of its ARM resource path changes (its name, its
 * resource group, its parents' names: AZURE_TYPES' pathInputs) or a body property its metadata marks forceNew
 * (create-only in the API spec; `location` is create-only for every tracked resource under the ARM guidelines).
 * That metadata ships inside the provider plugin binary, not in the @pulumi/azure-native npm package (which holds
 * only the SDK; the one replaceOnChanges list in it is for AKS), so this is the offline approximation of it.
 */
const FORCE_NEW_INPUTS: Record<string, string[]> = {
    // A data-plane resource of the provider's own: its source, type and MD5 are forceNew too.
    [AZURE_TYPES.blob.token]: ["source", "type", "contentMd5"],
};
export const AZURE_REPLACE_INPUTS: Record<string, string[]> = Object.fromEntries(
    Object.values(AZURE_TYPES).map((type) => [type.token, [...type.pathInputs, ...(FORCE_NEW_INPUTS[type.token] ?? [])]]),
);
/** Unknown azure-native types: at least the resource group moves them. */
const AZURE_DEFAULT_REPLACE_INPUTS = ["resourceGroupName"];

/**
 * The docker provider (5.x, provider.go Diff) reports changed Image inputs as updates, never replacements, and
 * ignores changes to the registry username and password (they rotate; only a new server means a new push).
 */
const DOCKER_IGNORED_INPUTS = ["registry.username", "registry.password"];

export type ChangeKind = "create" | "update" | "replace" | "delete";

export interface InputChange {
    /** Dotted path of the input, e.g. build.args.MODEL_VERSION. */
    path: string;
    before: unknown;
    after: unknown;
    /** This change alone forces a replacement. */
    replaces: boolean;
}

export interface ResourceChange {
    kind: ChangeKind;
    urn: string;
    type: string;
    name: string;
    /** Changed inputs (updates and replacements). */
    inputs: InputChange[];
    /** protect=true in the previous plan: `pulumi up` refuses to replace or delete the resource. */
    blockedByProtect: boolean;
    /** retainOnDelete: a deleted (or replaced) resource stays in Azure, only leaving the stack. */
    retained: boolean;
    /** Extra lines for reviewers: the image tag, how many manifest changes, rule caveats. */
    notes: string[];
}

export interface ReadChange {
    kind: "added" | "removed" | "changed";
    /** The invoke token or read resource's type. */
    what: string;
    /** Its arguments, printable. */
    args: string;
}

export interface OutputChange {
    name: string;
    before: unknown;
    after: unknown;
}

export interface PlanDiff {
    resources: ResourceChange[];
    reads: ReadChange[];
    /** The deployment manifest's changes in module terms (plus targeting), from describeDeploymentChanges. */
    manifest: string[];
    /** A created, updated or replaced deployment's rollout stages in order (describeRolloutStages). */
    stages?: string[];
    outputs: OutputChange[];
    /** Managed resources present in both plans with nothing `pulumi up` would change. */
    unchanged: number;
    /** Components of the current plan, which pulumi preview counts too (as unchanged unless their inputs change). */
    components: number;
}

/** Compares two offline plans of the same stack. Pure: no cloud, no files, no processes. */
export async function diffPlans(previousPlan: OfflinePlan, currentPlan: OfflinePlan): Promise<PlanDiff> {
    const [before, after] = [withPasswordStandIns(previousPlan), withPasswordStandIns(currentPlan)];
    const managed = (plan: OfflinePlan) =>
        new Map(plan.resources.filter((r) => r.custom && r.operation === "create").map((r) => [r.urn, r]));
    const [old, now] = [managed(before), managed(after)];
    const resources: ResourceChange[] = [];
    let manifest: string[] = [];
    let stages: string[] = [];

    // The dynamic resources last: their providers are asked with what a replacement leaves unknown (a new hub's keys).
    const isDynamic = (r: PlannedResource) => r.type === EDGE_DEVICE_TYPE || r.type === EDGE_DEPLOYMENT_TYPE;
    const replaced = new Set<string>();
    for (const resource of [...now.values()].sort((a, b) => Number(isDynamic(a)) - Number(isDynamic(b)))) {
        const previous = old.get(resource.urn);
        if (!previous) {
            resources.push(change("create", resource, [], { notes: createNotes(resource) }));
            if (resource.type === EDGE_DEPLOYMENT_TYPE) manifest = describeDeploymentChanges(undefined, deploymentInputs(resource.inputs));
            if (resource.type === EDGE_DEPLOYMENT_TYPE) stages = describeRolloutStages(deploymentInputs(resource.inputs));
            continue;
        }
        const classified = await classify(previous, resource, before, after, replaced);
        if (!classified) continue;
        if (classified.kind === "replace") replaced.add(resource.urn);
        resources.push(classified);
        if (resource.type === EDGE_DEPLOYMENT_TYPE)
            manifest = describeDeploymentChanges(deploymentInputs(previous.inputs), deploymentInputs(resource.inputs));
        if (resource.type === EDGE_DEPLOYMENT_TYPE) stages = describeRolloutStages(deploymentInputs(resource.inputs));
    }
    markDependentsOfReplacements(resources, now);
    markDependentsOfNewPasswords(resources, now);
    for (const resource of old.values()) {
        if (now.has(resource.urn)) continue;
        resources.push(change("delete", resource, [], { blockedByProtect: resource.protect }));
        if (resource.type === EDGE_DEPLOYMENT_TYPE) manifest = describeContentChanges(deploymentInputs(resource.inputs).content, undefined);
    }
    const deployment = resources.find((r) => r.type === EDGE_DEPLOYMENT_TYPE);
    if (deployment && manifest.length > 0)
        deployment.notes.push(`manifest: ${count(manifest.length, "change")}, listed under "Deployment manifest changes"`);

    const touched = new Set(resources.map((r) => r.urn));
    const unchanged = [...now.keys()].filter((urn) => old.has(urn) && !touched.has(urn)).length;
    const components = after.resources.filter((r) => !r.custom).length;
    return {
        resources,
        reads: diffReads(before, after),
        manifest,
        stages,
        outputs: diffOutputs(before.outputs, after.outputs),
        unchanged,
        components,
    };
}

/**
 * A replaced resource has new outputs (a new hub's keys, a new registry's id), known only after its replacement, so
 * everything that waits on it gets inputs that are unknown in the preview, and its provider decides again at `up`: a
 * device identity or deployment in a hub replaced under the same name is registered again there. Listed as updates,
 * each naming what it depends on, rather than as unchanged.
 */
function markDependentsOfReplacements(resources: ResourceChange[], now: Map<string, PlannedResource>): void {
    const replaced = new Map(resources.filter((r) => r.kind === "replace").map((r) => [r.urn, r]));
    const changed = new Set(resources.map((r) => r.urn));
    const dependsOn = (resource: PlannedResource, seen = new Set<string>()): string | undefined => {
        for (const urn of resource.dependencies) {
            if (replaced.has(urn)) return urn;
            const parent = now.get(urn);
            if (parent && !seen.has(urn)) {
                seen.add(urn);
                const found = dependsOn(parent, seen);
                if (found) return found;
            }
        }
        return undefined;
    };
    for (const resource of now.values()) {
        const cause = dependsOn(resource);
        if (!cause) continue;
        const { type, name } = replaced.get(cause)!;
        const note = `depends on ${type} "${name}", which is replaced: its inputs from it are known after the replacement`;
        const existing = resources.find((r) => r.urn === resource.urn);
        if (existing) existing.notes.push(note);
        else if (!changed.has(resource.urn)) resources.push(change("update", resource, [], { notes: [note] }));
    }
}

/**
 * The registry password reaches the deployment as a secret, "[secret]" in both plans; what tells a new one from the
 * old is the token password it comes from (TokenPassword): the token and the rotation it was generated for. The
 * deployment's registryPassword becomes a stand-in carrying those, so its provider's own diff sees a rotation
 * ("registry password rotated"; in fleet mode a new configuration, as the content hash covers the password).
 */
function withPasswordStandIns(plan: OfflinePlan): OfflinePlan {
    const passwords = plan.resources.filter((r) => r.type === TOKEN_PASSWORD_TYPE);
    const resources = plan.resources.map((resource) => {
        if (resource.type !== EDGE_DEPLOYMENT_TYPE || resource.inputs.registryPassword !== SECRET) return resource;
        const source = passwords.find((p) => resource.dependencies.includes(p.urn));
        if (!source) return resource;
        const standIn = `${SECRET} (token ${nameFromId(String(source.inputs.tokenId))}, rotation ${String(source.inputs.rotation)})`;
        return { ...resource, inputs: { ...resource.inputs, registryPassword: standIn } };
    });
    return { ...plan, resources };
}

/**
 * A token password generated anew (a rotation) has an output known only after its update: what waits on it (the
 * deployment, the revocation of the old password) is updated too. Listed with a note, unless already listed.
 */
function markDependentsOfNewPasswords(resources: ResourceChange[], now: Map<string, PlannedResource>): void {
    const regenerated = resources.filter((r) => r.type === TOKEN_PASSWORD_TYPE && (r.kind === "update" || r.kind === "replace"));
    for (const password of regenerated) {
        for (const resource of now.values()) {
            if (!resource.dependencies.includes(password.urn)) continue;
            const note =
                resource.type === TOKEN_PASSWORD_REVOCATION_TYPE
                    ? `revokes the token's other password once the rollout is done (${password.type} "${password.name}" generates a new one)`
                    : `depends on ${password.type} "${password.name}", which generates a new password: its inputs from it are known after that`;
            const existing = resources.find((r) => r.urn === resource.urn);
            if (existing) existing.notes.push(note);
            else resources.push(change("update", resource, [], { notes: [note] }));
        }
    }
}

/** undefined when `pulumi up` would leave the resource alone. */
async function classify(
    previous: PlannedResource,
    current: PlannedResource,
    before: OfflinePlan,
    after: OfflinePlan,
    replaced: ReadonlySet<string>,
): Promise<ResourceChange | undefined> {
    let inputs = changedInputs(previous.inputs, current.inputs);
    if (inputs.length === 0) return undefined;
    const notes: string[] = [];
    let replaceKeys: string[] = [];
    let replace = false;

    if (current.type === EDGE_DEVICE_TYPE || current.type === EDGE_DEPLOYMENT_TYPE) {
        const verdict = await dynamicDiff(previous, current, before, after, replaced);
        // The provider decides: inputs it does not compare (e.g. verify settings) change nothing by themselves.
        if (!verdict.changes) return undefined;
        replaceKeys = verdict.replaces;
        replace = replaceKeys.length > 0;
        if (replace) notes.push(`replaced: ${replaceKeys.join(", ")} cannot change in place (the provider's own diff)`);
        if (current.type === EDGE_DEPLOYMENT_TYPE) {
            // The manifest is listed in module terms below the resources, not leaf by leaf; a new registry password
            // is listed there too ("registry password rotated"), its stand-in is no value to show.
            inputs = inputs.filter((c) => !isUnder(c.path, "content") && c.path !== "registryPassword");
        }
    } else if (current.type === DOCKER_IMAGE_TYPE) {
        inputs = inputs.filter((c) => !DOCKER_IGNORED_INPUTS.some((ignored) => isUnder(c.path, ignored)));
        if (inputs.length === 0) return undefined;
        notes.push(...imageNotes(previous, current));
    } else if (current.type.startsWith("azure-native:")) {
        // azure-native compares locations ignoring case and spaces ("West Europe" is westeurope).
        inputs = inputs.filter((c) => !(c.path === "location" && normalizedLocation(c.before) === normalizedLocation(c.after)));
        if (inputs.length === 0) return undefined;
        // The resource's own replaceOnChanges (the program's create-only properties) replace too, as in the engine.
        replaceKeys = [
            ...(AZURE_REPLACE_INPUTS[current.type] ?? AZURE_DEFAULT_REPLACE_INPUTS),
            "location",
            ...(current.replaceOnChanges ?? []),
        ];
        if (!AZURE_REPLACE_INPUTS[current.type])
            notes.push("offline replacement rules unknown for this type: only resourceGroupName and location are taken to replace");
    }

    const marked = inputs.map((c) => ({ ...c, replaces: replaceKeys.some((key) => isUnder(c.path, key)) }));
    replace ||= marked.some((c) => c.replaces);
    return change(replace ? "replace" : "update", current, marked, {
        blockedByProtect: replace && previous.protect,
        retained: replace && previous.retainOnDelete,
        notes,
    });
}

/** Asks the dynamic provider itself, with the plans' stand-ins for secrets turned back into comparable values. */
async function dynamicDiff(
    previous: PlannedResource,
    current: PlannedResource,
    before: OfflinePlan,
    after: OfflinePlan,
    replaced: ReadonlySet<string>,
) {
    // The service connection string is a secret in the plan; what the providers read from it is the hub's host name.
    // A hub being replaced has keys known only after its replacement: the engine passes the unknown value, as here.
    const [oldHost, newHost] = [hubHostName(previous, before), hubHostName(current, after)];
    const hubReplaced = current.dependencies.some(
        (urn) => replaced.has(urn) && after.resources.find((r) => r.urn === urn)?.type === AZURE_TYPES.iotHub.token,
    );
    const connection = (host: string) =>
        hubReplaced && host === newHost ? UNKNOWN_VALUE : `HostName=${host};SharedAccessKeyName=iothubowner;SharedAccessKey=${SECRET}`;
    if (current.type === EDGE_DEVICE_TYPE) {
        const olds = { ...(previous.inputs as unknown as EdgeDeviceInputs), hostName: oldHost } as EdgeDeviceOutputs;
        const news = { ...(current.inputs as unknown as EdgeDeviceInputs), serviceConnectionString: connection(newHost) };
        return normalized(await new EdgeDeviceProvider().diff(previous.name, olds, news));
    }
    const oldInputs = deploymentInputs(previous.inputs);
    // The registry password is its stand-in on both sides (withPasswordStandIns): a rotation changes it.
    const oldHash = contentHash(oldInputs.content, oldInputs.registryPassword);
    const olds = {
        ...oldInputs,
        hostName: oldHost,
        contentHash: oldHash,
        configurationId: "",
        appliedVersions: {},
    } as EdgeDeploymentOutputs;
    const news = { ...deploymentInputs(current.inputs), serviceConnectionString: connection(newHost) };
    return normalized(await new EdgeDeploymentProvider().diff(previous.name, olds, news));
}

function normalized(result: { changes?: boolean; replaces?: string[] }): { changes: boolean; replaces: string[] } {
    return { changes: result.changes === true, replaces: result.replaces ?? [] };
}

/** The hub a device or deployment talks to: the IoT Hub it depends on, else the stack's iotHubHostName output. */
function hubHostName(resource: PlannedResource, plan: OfflinePlan): string {
    const hub = plan.resources.find((r) => r.type === AZURE_TYPES.iotHub.token && resource.dependencies.includes(r.urn));
    if (hub && typeof hub.inputs.resourceName === "string") return `${hub.inputs.resourceName}.azure-devices.net`;
    return typeof plan.outputs.iotHubHostName === "string" ? plan.outputs.iotHubHostName : "unknown-hub";
}

function deploymentInputs(inputs: Record<string, unknown>): EdgeDeploymentInputs {
    return inputs as unknown as EdgeDeploymentInputs;
}

/** Every leaf that differs, walking both input trees together (so {} -> {a: 1} is the leaf a). */
export function changedInputs(before: unknown, after: unknown, prefix = ""): InputChange[] {
    const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);
    if (isRecord(before) && isRecord(after)) {
        const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
        return keys.flatMap((key) => changedInputs(before[key], after[key], prefix ? `${prefix}.${key}` : key));
    }
    return JSON.stringify(before) === JSON.stringify(after) ? [] : [{ path: prefix, before, after, replaces: false }];
}

function isUnder(path: string, key: string): boolean {
    return path === key || path.startsWith(`${key}.`);
}

function normalizedLocation(value: unknown): unknown {
    return typeof value === "string" ? value.toLowerCase().replace(/\s+/g, "") : value;
}

function imageNotes(previous: PlannedResource, current: PlannedResource): string[] {
    const [oldTag, newTag] = [imageTagOf(previous.inputs.imageName), imageTagOf(current.inputs.imageName)];
    const notes = ["rebuilt and pushed (the docker provider updates an Image, it never replaces one)"];
    if (oldTag !== newTag) notes.unshift(`tag: ${oldTag ?? "(none)"} -> ${newTag ?? "(none)"}`);
    return notes;
}

function createNotes(resource: PlannedResource): string[] {
    const tag = resource.type === DOCKER_IMAGE_TYPE ? imageTagOf(resource.inputs.imageName) : undefined;
    return tag ? [`tag: ${tag}`] : [];
}

function change(kind: ChangeKind, resource: PlannedResource, inputs: InputChange[], extra: Partial<ResourceChange>): ResourceChange {
    return {
        kind,
        urn: resource.urn,
        type: resource.type,
        name: resource.name,
        inputs,
        blockedByProtect: false,
        retained: kind !== "create" && kind !== "update" && resource.retainOnDelete,
        notes: [],
        ...extra,
    };
}

/** Reads of existing state: read resources by URN, invokes as a multiset of token and arguments. */
function diffReads(before: OfflinePlan, after: OfflinePlan): ReadChange[] {
    const changes: ReadChange[] = [];
    const reads = (plan: OfflinePlan) => new Map(plan.resources.filter((r) => r.operation === "read").map((r) => [r.urn, r]));
    const [old, now] = [reads(before), reads(after)];
    for (const [urn, resource] of now) {
        const previous = old.get(urn);
        if (!previous) changes.push({ kind: "added", what: resource.type, args: argsText(resource.inputs) });
        else if (changedInputs(previous.inputs, resource.inputs).length > 0)
            changes.push({ kind: "changed", what: resource.type, args: argsText(resource.inputs) });
    }
    for (const [urn, resource] of old)
        if (!now.has(urn)) changes.push({ kind: "removed", what: resource.type, args: argsText(resource.inputs) });

    const key = (invoke: PlannedInvoke) => `${invoke.token}\u0000${argsText(invoke.inputs)}`;
    const remaining = new Map<string, number>();
    for (const invoke of before.invokes) remaining.set(key(invoke), (remaining.get(key(invoke)) ?? 0) + 1);
    for (const invoke of after.invokes) {
        const left = remaining.get(key(invoke)) ?? 0;
        if (left > 0) remaining.set(key(invoke), left - 1);
        else changes.push({ kind: "added", what: invoke.token, args: argsText(invoke.inputs) });
    }
    for (const invoke of before.invokes) {
        const left = remaining.get(key(invoke)) ?? 0;
        if (left > 0) {
            remaining.set(key(invoke), left - 1);
            changes.push({ kind: "removed", what: invoke.token, args: argsText(invoke.inputs) });
        }
    }
    return changes;
}

function argsText(inputs: Record<string, unknown>): string {
    return flatten(inputs)
        .map(([k, v]) => `${k}=${v}`)
        .join("  ");
}

function diffOutputs(before: Record<string, unknown>, after: Record<string, unknown>): OutputChange[] {
    const names = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return names
        .filter((name) => JSON.stringify(before[name]) !== JSON.stringify(after[name]))
        .map((name) => ({ name, before: before[name], after: after[name] }));
}

export function count(n: number, noun: string): string {
    return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/** Nothing at all differs: no resource, read, manifest or output change. */
export function isEmptyDiff(diff: PlanDiff): boolean {
    return diff.resources.length === 0 && diff.reads.length === 0 && diff.manifest.length === 0 && diff.outputs.length === 0;
}
