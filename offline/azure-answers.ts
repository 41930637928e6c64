// Answers Pulumi's mock runtime the way Azure would, so the program sees realistic outputs offline: ARM ids,
// <name>.azurecr.io, <name>.azure-devices.net, registry credentials and hub keys. Credentials are derived
// from the resource name at run time (never written down) so every run and every stack agrees on them.
// Dynamic resources are not answered here: their real providers run (DYNAMIC_PROVIDERS), EdgeDevice and
// EdgeDeployment against a local IoT Hub emulator per hub (./iothub-emulator) whose devices act as healthy edgeAgents,
// a DPS enrollment group against a local Device Provisioning Service emulator per instance (./dps-emulator) linked to them.
// The registry token's providers (TokenPassword, TokenPasswordRevocation) run against ARM's token operations as
// ./acr-tokens answers them, with deterministic passwords.
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { Azurite, startAzurite } from "./azurite";
import { AZURITE_ACCOUNT, AZURITE_ACCOUNT_KEY, serviceSas } from "./storage-auth";
import { DOCKER_IMAGE_TYPE } from "../components/image";
import { qualifiedKey, readProjectFile } from "../components/config";
import {
    EDGE_DEPLOYMENT_TYPE,
    EDGE_DEVICE_TYPE,
    EdgeDeploymentProvider,
    EdgeDeviceProvider,
    hostNameOf,
    type RegistryFactory,
} from "../components/iot";
import {
    armId,
    AZURE_TYPES,
    azureTypeOf,
    type Clock,
    nameFromId,
    resourceGroupId as armResourceGroupId,
    type RetryPolicy,
    SECRET_MARKER,
    UserError,
} from "../components/shared";
import { MODEL_VERSION_NUMBER_TYPE, ModelVersionNumberProvider } from "../components/ml";
import {
    TOKEN_PASSWORD_REVOCATION_TYPE,
    TOKEN_PASSWORD_TYPE,
    TokenPasswordProvider,
    TokenPasswordRevocationProvider,
} from "../components/registry";
import { dpsHostNameOf, ENROLLMENT_GROUP_TYPE, EnrollmentGroupProvider, type ProvisioningClientFactory } from "../components/dps";
import { OfflineAcrTokens } from "./acr-tokens";
import { DpsEmulator, startDpsEmulator } from "./dps-emulator";
import { addStandInBase, IotHubEmulator, startIotHubEmulator } from "./iothub-emulator";
import { SECRET_SIG, SIG, UNKNOWN_VALUE, unwrapSecrets } from "./wire-format";
import { isUnknown } from "@pulumi/pulumi/output";
import type { dynamic } from "@pulumi/pulumi";
import type { MockCallArgs, MockCallResult, MockResourceArgs, MockResourceResult, Mocks } from "@pulumi/pulumi/runtime";

export const OFFLINE_SUBSCRIPTION_ID = "00000000-0000-0000-0000-000000000000";
export const OFFLINE_TENANT_ID = "11111111-1111-1111-1111-111111111111";

/** A value the offline engine made up for what only Azure knows, so a plan can say it is not Azure's. */
export interface StandIn {
    /** The value as the plan holds it, or, for what shows in no value (a file's contents, a resource's state), what it is. */
    value: string;
    /** What Azure gives in its place, and when. */
    standsFor: string;
}

// This run's stand-ins, as they were handed out. `always`: listed even where the plan holds no such text.
const standIns = new Map<string, StandIn & { always: boolean }>();

/** Notes `value` as made up offline, and returns it. */
function standIn(value: string, standsFor: string, always = false): string {
    if (!standIns.has(value)) standIns.set(value, { value, standsFor, always });
    return value;
}

/**
 * The latest run's stand-ins that show in `planText` (its plan as JSON), and those that show in no value; a value
 * answered but never used (the subscription id of a preview that creates nothing yet) is left out.
 */
export function standInsIn(planText: string): StandIn[] {
    return [...standIns.values()]
        .filter((entry) => entry.always || planText.includes(entry.value))
        .map(({ value, standsFor }) => ({ value, standsFor }));
}

/**
 * What the offline registered model's file holds, unless a test stored other bytes: the model Pulumi.yaml's modelPath
 * default names (this project's example), so the offline engine depends on no model but through that default.
 */
function standInModelFile(): string {
    const root = path.resolve(__dirname, "..");
    const project = readProjectFile(root);
    return path.resolve(root, project.defaults[qualifiedKey(project.name, "modelPath")]);
}

/** Outputs Azure computes for a new resource, from its name and inputs (types not listed compute none). */
const computedOutputs: Record<string, (name: string, inputs: Record<string, any>) => Record<string, unknown>> = {
    [AZURE_TYPES.registry.token]: (name) => ({ loginServer: `${name.toLowerCase()}.azurecr.io`, provisioningState: "Succeeded" }),
    [AZURE_TYPES.scopeMap.token]: () => ({ type: "UserDefined", provisioningState: "Succeeded" }),
    // A token is created without passwords: generateCredentials (offline: offlineAcrTokens) gives it one.
    [AZURE_TYPES.registryToken.token]: () => ({ provisioningState: "Succeeded", credentials: { certificates: [], passwords: [] } }),
    [AZURE_TYPES.iotHub.token]: (name, inputs) => ({
        properties: { ...inputs.properties, hostName: `${name}.azure-devices.net`, state: "Active" },
    }),
    [AZURE_TYPES.dps.token]: (name, inputs) => offlineDpsAnswer(AZURE_TYPES.dps.token, name, inputs),
    [AZURE_TYPES.storageAccount.token]: (name) => ({ primaryEndpoints: { blob: `https://${name}.blob.core.windows.net/` } }),
    [AZURE_TYPES.keyVault.token]: (name, inputs) => ({
        properties: { ...inputs.properties, vaultUri: `https://${name}.vault.azure.net/` },
    }),
    [AZURE_TYPES.logAnalytics.token]: (name) => ({ customerId: fakeGuid(`law:${name}`) }),
    [AZURE_TYPES.insights.token]: (name) => ({ appId: fakeGuid(`appi:${name}`) }),
    [AZURE_TYPES.mlWorkspace.token]: (name, inputs) => ({
        workspaceId: fakeGuid(`mlw:${name}`),
        identity: { ...inputs.identity, principalId: fakeGuid(`mlw-identity:${name}`), tenantId: OFFLINE_TENANT_ID },
    }),
    // Like azure-native, a model version's "name" output is its version (set below from the name input).
    [AZURE_TYPES.blob.token]: (name, inputs) => ({
        url: `https://${inputs.accountName}.blob.core.windows.net/${inputs.containerName}/${name}`,
    }),
};

/** A key-shaped value for a fake credential: base64 of a hash, like Azure's SAS keys and ACR passwords. */
export function fakeKey(seed: string): string {
    return createHash("sha256").update(`edgeml-offline:${seed}`).digest("base64");
}

/**
 * ARM's token operations that azure-native does not wrap (generateCredentials, a token's GET and PATCH), for the
 * registry's token providers; the bearer token is what getClientToken answers offline.
 */
export const offlineAcrTokens = new OfflineAcrTokens(fakeKey("arm-bearer-token"), (tokenId, name, generation) =>
    fakeKey(`acr-token:${tokenId.toLowerCase()}:${name}:${generation}`),
);

function fakeGuid(seed: string): string {
    const hex = createHash("sha256").update(seed).digest("hex");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

// Workspaces registered in this process, so the datastore lookup can answer with the workspace's own account.
const workspaceStorageAccounts = new Map<string, string>();

function workspaceStorage(workspaceName: string): string {
    const account = workspaceStorageAccounts.get(workspaceName);
    if (!account) throw new Error(`getDatastore: no workspace ${workspaceName} was declared before the lookup`);
    return account;
}

function resourceGroupId(group: string): string {
    return armResourceGroupId(OFFLINE_SUBSCRIPTION_ID, group);
}

/** The digest a registry would give an image: deterministic in what was built. */
function dockerImage(inputs: Record<string, any>): MockResourceResult {
    const imageName: string = inputs.imageName;
    const repository = imageName.replace(/:[^:/]+$/, "");
    const digest = createHash("sha256")
        .update(JSON.stringify({ imageName, build: inputs.build }))
        .digest("hex");
    standIn(`sha256:${digest}`, "the image's digest, which the registry computes when `pulumi up` pushes the image");
    return {
        id: `${repository}@sha256:${digest}`,
        state: {
            ...inputs,
            repoDigest: `${repository}@sha256:${digest}`,
            registryServer: inputs.registry?.server,
            baseImageName: imageName,
            context: inputs.build?.context,
            dockerfile: inputs.build?.dockerfile,
            platform: inputs.build?.platform,
        },
    };
}

/**
 * Answers with plain inputs, as a provider sees them, then puts secret inputs back as secrets, as the engine does: the
 * answer's value, secret, where it has one (a DPS instance's `properties`, secret as a whole on the wire for the
 * linked hub's connection string inside, come back with what Azure computed added), else the input.
 */
function newResource(wireArgs: MockResourceArgs): MockResourceResult | Promise<MockResourceResult> {
    const keepSecrets = (result: MockResourceResult): MockResourceResult => {
        for (const [key, value] of Object.entries(wireArgs.inputs)) {
            if (!value || typeof value !== "object" || (value as Record<string, unknown>)[SIG] !== SECRET_SIG) continue;
            result.state[key] = result.state[key] === undefined ? value : { [SIG]: SECRET_SIG, value: result.state[key] };
        }
        return result;
    };
    const answer = answerResource({ ...wireArgs, inputs: unwrapSecrets(wireArgs.inputs) }, wireArgs.inputs);
    // Synchronous answers stay synchronous: the order in which registrations complete, hence the plan's order of
    // resources, is the one every earlier offline plan had.
    return answer instanceof Promise ? answer.then(keepSecrets) : keepSecrets(answer);
}

/**
 * What Azure holds that the program did not create, keyed by lower-case ARM id: tests put state here (an admin
 * user turned off, a basic-tier hub) or null for a resource that does not exist. Ids not listed exist with the
 * usual settings, so `Resource.get` of anything plausible succeeds offline.
 */
export const existingAzureState = new Map<string, Record<string, unknown> | null>();

/** Answers `Resource.get`: the state Azure would return for an existing resource, derived from its id. */
function readExisting(type: string, id: string): MockResourceResult {
    const override = existingAzureState.get(id.toLowerCase());
    if (override === null) throw new Error(`Resource '${id}' was not found (ResourceNotFound)`);
    const parts = id.split("/");
    const group = parts[4];
    const name = parts[parts.length - 1];
    const shape = existingShapes[type];
    if (!shape) throw new Error(`the offline engine cannot read an existing ${type}; add it to offline/azure-answers.ts`);
    const base = { name, ...shape(name, group, parts) };
    standIn(
        "= read",
        "each existing resource's state (tier, admin user, location): made up offline as a usable one's, so the checks of it " +
            "pass here; `pulumi preview` reads and checks Azure's",
        true,
    );
    if (type === AZURE_TYPES.mlWorkspace.token) {
        workspaceStorageAccounts.set(
            name,
            String((base as Record<string, unknown>).storageAccount)
                .split("/")
                .pop() ?? "",
        );
    }
    return { id, state: deepMerge(base, override ?? {}) };
}

const existingShapes: Record<string, (name: string, group: string, parts: string[]) => Record<string, unknown>> = {
    [AZURE_TYPES.resourceGroup.token]: () => ({ location: "westeurope", properties: { provisioningState: "Succeeded" } }),
    [AZURE_TYPES.registry.token]: (name) => ({
        loginServer: `${name.toLowerCase()}.azurecr.io`,
        adminUserEnabled: true,
        sku: { name: "Standard", tier: "Standard" },
        location: "westeurope",
    }),
    [AZURE_TYPES.iotHub.token]: (name) => ({
        sku: { name: "S1", capacity: 1, tier: "Standard" },
        location: "westeurope",
        properties: { hostName: `${name}.azure-devices.net`, state: "Active" },
    }),
    [AZURE_TYPES.dps.token]: (name) => {
        // Which hubs an existing instance links is Azure's to say: offline, the hub its group names is taken as linked,
        // as an existing resource offline is a usable one.
        dpsLinks.set(dpsHostName(name).toLowerCase(), "any");
        return offlineDpsAnswer(AZURE_TYPES.dps.token, name);
    },
    [AZURE_TYPES.mlWorkspace.token]: (name, group) => {
        // A workspace a training team set up: its own storage, vault and insights, in its own resource group.
        const account = standIn(
            `st${createHash("sha256").update(name).digest("hex").slice(0, 10)}`,
            "the existing workspace's storage account, whose name Azure reports: made up offline",
        );
        const provider = (armType: string, resource: string) => armId(OFFLINE_SUBSCRIPTION_ID, group, armType, resource);
        return {
            location: "westeurope",
            workspaceId: fakeGuid(`mlw:${name}`),
            storageAccount: provider(AZURE_TYPES.storageAccount.armType, account),
            keyVault: provider(AZURE_TYPES.keyVault.armType, `kv-${name}`.slice(0, 24)),
            applicationInsights: provider(AZURE_TYPES.insights.armType, `appi-${name}`),
            identity: { type: "SystemAssigned", principalId: fakeGuid(`mlw-identity:${name}`), tenantId: OFFLINE_TENANT_ID },
        };
    },
    [AZURE_TYPES.modelContainer.token]: (model) => {
        // Read for <model>@latest only (a pinned version is read directly).
        standIn(
            `${model}@latest = version 7`,
            `the latest version of ${model} registered in the workspace, made up offline: \`pulumi up\` reads the real number`,
            true,
        );
        return { properties: { latestVersion: "7", nextVersion: "8" } };
    },
    [AZURE_TYPES.modelVersion.token]: (version, group, parts) => {
        // .../workspaces/<ws>/models/<model>/versions/<version>: a training run's output in the default datastore,
        // whose bytes are the project's own model unless a test stored others.
        const workspace = parts[parts.indexOf("workspaces") + 1];
        const model = parts[parts.indexOf("models") + 1];
        const blob = `${defaultContainer(workspace)}/azureml/training-run/${model}/${version}/model.json`;
        const standInFile = standInModelFile();
        const own = fs.readFileSync(standInFile);
        if (!offlineBlobs.has(blob)) offlineBlobs.set(blob, own);
        // Nobody must take the image planned here for one carrying the registered model: its bytes are not fetched.
        const relative = path.relative(process.cwd(), standInFile);
        const file = relative.startsWith("..") ? standInFile : relative;
        const shown = offlineBlobs.get(blob)!.equals(own) ? file : `the bytes of offline blob ${blob}`;
        standIn(
            shown,
            `stands in for the contents of ${model}:${version}'s registered model.json, which the offline engine cannot download: ` +
                "the image planned here is built with this file instead (its tag too); `pulumi up` downloads the registered one " +
                "from the workspace's datastore",
            true,
        );
        return {
            properties: {
                modelType: "custom_model",
                modelUri: `azureml://subscriptions/${OFFLINE_SUBSCRIPTION_ID}/resourcegroups/${group}/workspaces/${workspace}/datastores/workspaceblobstore/paths/azureml/training-run/${model}/${version}/model.json`,
            },
        };
    },
};

function deepMerge(base: Record<string, unknown>, override: Record<string, unknown>): Record<string, unknown> {
    const result: Record<string, unknown> = { ...base };
    for (const [key, value] of Object.entries(override)) {
        const inner = result[key];
        const bothObjects = value && typeof value === "object" && !Array.isArray(value) && inner && typeof inner === "object";
        result[key] = bothObjects ? deepMerge(inner as Record<string, unknown>, value as Record<string, unknown>) : value;
    }
    return result;
}

function answerResource(args: MockResourceArgs, wireInputs: Record<string, unknown>): MockResourceResult | Promise<MockResourceResult> {
    if (args.id) return readExisting(args.type, args.id);
    if (previewing && args.custom) return previewCreate(args, wireInputs);
    if (args.type === DOCKER_IMAGE_TYPE) return dockerImage(args.inputs);
    if (DYNAMIC_PROVIDERS.has(args.type)) return dynamicResource(args, wireInputs);
    if (args.type === AZURE_TYPES.resourceGroup.token) {
        const name = args.inputs.resourceGroupName ?? args.name;
        return { id: resourceGroupId(name), state: { ...args.inputs, name } };
    }
    if (!args.custom) return { id: undefined, state: args.inputs };
    const kind = azureTypeOf(args.type);
    if (!kind)
        throw new Error(`the offline engine has no answer for ${args.type}; add the type to AZURE_TYPES (components/shared/azure.ts)`);
    const name = args.inputs[kind.nameInput] ?? args.name;
    if (args.type === AZURE_TYPES.mlWorkspace.token) {
        workspaceStorageAccounts.set(name, nameFromId(String(args.inputs.storageAccount ?? "")));
    }
    const id = armId(OFFLINE_SUBSCRIPTION_ID, args.inputs.resourceGroupName, kind.armType, name, args.inputs);
    if (args.type === AZURE_TYPES.registryToken.token) offlineAcrTokens.declare(id, String(args.inputs.scopeMapId ?? ""));
    if (args.type === AZURE_TYPES.dps.token) declareDpsLinks(name, args.inputs.properties?.iotHubs);
    return { id, state: { ...args.inputs, ...computedOutputs[args.type]?.(name, args.inputs), name } };
}

/** Whether this run is a dry run (`pulumi preview` of a stack with nothing created yet). */
let previewing = false;

// Outputs a provider completes on creation beyond its inputs, unknown as a whole in the preview of a create
// (azure-native fills in the rest of `properties`, `sku` and `identity` from Azure's answer, not from the inputs).
const COMPLETED_OBJECTS = ["properties", "sku", "identity"];

/**
 * What `pulumi preview` knows of a resource it would create: no id, its inputs, and nothing the provider computes.
 * Dynamic resources' inputs are still checked by their provider (the engine calls check in a preview, not create);
 * outputs left out of the state are unknown to the program, as the SDK treats missing outputs in a dry run.
 */
async function previewCreate(args: MockResourceArgs, wireInputs: Record<string, unknown>): Promise<MockResourceResult> {
    const inputs = withUnknownsAsWireValues(args.inputs) as Record<string, unknown>;
    if (DYNAMIC_PROVIDERS.has(args.type)) {
        const checked = await DYNAMIC_PROVIDERS.get(args.type)!().check!(undefined, inputs);
        if (checked.failures && checked.failures.length > 0) throw checkFailed(args, inputs, wireInputs, checked.failures);
        return { id: undefined, state: inputs };
    }
    const azureNative = args.type.startsWith("azure-native:");
    const state = Object.fromEntries(Object.entries(args.inputs).filter(([key]) => !(azureNative && COMPLETED_OBJECTS.includes(key))));
    return { id: undefined, state };
}

/** The SDK's unknown sentinel as the wire value a provider receives for it (what a dynamic provider's check sees). */
function withUnknownsAsWireValues(value: unknown): unknown {
    // The SDK's sentinel lives in its output module (rpc has only the wire string); an unknown id arrives as it.
    if (isUnknown(value)) return UNKNOWN_VALUE;
    if (Array.isArray(value)) return value.map(withUnknownsAsWireValues);
    if (value === null || typeof value !== "object") return value;
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, withUnknownsAsWireValues(inner)]));
}

// ---- Blob storage: Azurite (./azurite), Microsoft's storage emulator, in this process. Started on the first storage
// invoke (most plans make none: only a registered model's download does), unref'd, and living as long as the
// process. Every storage account's blob endpoint is Azurite's one account (devstoreaccount1), which holds
// offlineBlobs, uploaded with Put Blob before each storage answer.

/** Blobs the offline Azure holds, "container/path" → bytes; tests may replace them. */
export const offlineBlobs = new Map<string, Buffer>();
let offlineAzurite: Promise<Azurite> | undefined;
/** What Azurite holds of offlineBlobs, as last uploaded. */
const uploadedBlobs = new Map<string, Buffer>();
/** Uploads run one after another, so concurrent invokes never race on a container or a blob. */
let blobSync: Promise<unknown> = Promise.resolve();

/** Azurite, holding offlineBlobs as they are now. */
function offlineStorage(): Promise<Azurite> {
    const started = (offlineAzurite ??= startAzurite({ unref: true }).catch((error: unknown) => {
        offlineAzurite = undefined;
        throw error;
    }));
    const synced = blobSync.catch(() => undefined).then(async () => syncBlobs(await started));
    blobSync = synced;
    return synced.then(() => started);
}

async function syncBlobs(azurite: Azurite): Promise<void> {
    const split = (name: string) => [name.slice(0, name.indexOf("/")), name.slice(name.indexOf("/") + 1)] as const;
    for (const [name, content] of offlineBlobs) {
        if (uploadedBlobs.get(name)?.equals(content)) continue;
        await azurite.putBlob(...split(name), content);
        uploadedBlobs.set(name, content);
    }
    for (const name of [...uploadedBlobs.keys()].filter((uploaded) => !offlineBlobs.has(uploaded))) {
        await azurite.deleteBlob(...split(name));
        uploadedBlobs.delete(name);
    }
}

/**
 * listStorageAccountServiceSAS: a service SAS as Azure makes it from the invoke's inputs (resource, permissions,
 * start and expiry, canonicalizedResource's container or blob), signed with Azurite's key for its one account.
 * One difference: Azurite listens on plain http, where a SAS restricted to https (what the program asks for) is
 * refused (AuthorizationProtocolMismatch), so the offline SAS allows "https,http".
 */
function offlineServiceSas(inputs: Record<string, any>): string {
    const resource = /^\/blob\/[^/]+\/([^/]+)(?:\/(.+))?$/.exec(String(inputs.canonicalizedResource ?? ""));
    const kind = String(inputs.resource ?? "");
    if (!resource || !["c", "b"].includes(kind) || (kind === "b") !== (resource[2] !== undefined)) {
        throw new Error(
            `the offline engine signs container (c) or blob (b) SAS tokens for /blob/<account>/<container>[/<blob>], not resource ${kind} ${inputs.canonicalizedResource}`,
        );
    }
    if (inputs.identifier) throw new Error("the offline engine cannot sign a SAS that refers to a stored access policy (identifier)");
    if (!inputs.permissions || !inputs.sharedAccessExpiryTime)
        throw new Error("listStorageAccountServiceSAS: a SAS without a stored access policy needs permissions and sharedAccessExpiryTime");
    return serviceSas({
        accountName: AZURITE_ACCOUNT,
        accountKey: AZURITE_ACCOUNT_KEY,
        containerName: resource[1],
        blobName: resource[2],
        permissions: String(inputs.permissions),
        start: inputs.sharedAccessStartTime,
        expiry: String(inputs.sharedAccessExpiryTime),
        protocols: "https,http",
    });
}

function defaultContainer(workspaceName: string): string {
    return standIn(
        `azureml-blobstore-${fakeGuid(`blobstore:${workspaceName}`)}`,
        "the workspace's default datastore container, which Azure ML names when it creates the workspace",
    );
}

function call(args: MockCallArgs): MockCallResult | Promise<MockCallResult> {
    if (args.token === "azure-native:storage:getStorageAccount" || args.token === "azure-native:storage:listStorageAccountServiceSAS")
        return callStorage(args);
    switch (args.token) {
        case "azure-native:authorization:getClientConfig":
            return {
                clientId: fakeGuid("client"),
                objectId: fakeGuid("object"),
                subscriptionId: OFFLINE_SUBSCRIPTION_ID,
                tenantId: OFFLINE_TENANT_ID,
            };
        case "azure-native:authorization:getClientToken":
            return { token: offlineAcrTokens.bearerToken };
        case "azure-native:containerregistry:listRegistryCredentials":
            return {
                username: args.inputs.registryName,
                passwords: [
                    { name: "password", value: fakeKey(`acr:${args.inputs.registryName}:1`) },
                    { name: "password2", value: fakeKey(`acr:${args.inputs.registryName}:2`) },
                ],
            };
        case "azure-native:machinelearningservices:getDatastore":
            // The default blob datastore lives in the workspace's storage account, in a container Azure ML names.
            return {
                id: armId(
                    OFFLINE_SUBSCRIPTION_ID,
                    args.inputs.resourceGroupName,
                    `${AZURE_TYPES.mlWorkspace.armType}/${args.inputs.workspaceName}/datastores`,
                    args.inputs.name,
                ),
                name: args.inputs.name,
                properties: {
                    datastoreType: "AzureBlob",
                    accountName: workspaceStorage(args.inputs.workspaceName),
                    containerName: defaultContainer(args.inputs.workspaceName),
                    isDefault: args.inputs.name === "workspaceblobstore",
                    credentials: { credentialsType: "AccountKey" },
                },
            };
        case "azure-native:iothub:listIotHubResourceKeys":
            return hubKeys(args.inputs.resourceName);
        case "azure-native:iothub:getIotHubResource":
            // An existing hub, as its read answers (a DPS instance's link names the hub's region).
            return readExisting(
                AZURE_TYPES.iotHub.token,
                armId(OFFLINE_SUBSCRIPTION_ID, args.inputs.resourceGroupName, AZURE_TYPES.iotHub.armType, args.inputs.resourceName),
            ).state;
        case "azure-native:deviceprovisioningservices:listIotDpsResourceKeys":
            // Started (or reset for this run) now, as a hub's emulator is by its keys; the group's provider waits for it.
            void dpsInstances.get(dpsHostName(args.inputs.provisioningServiceName)).catch(() => undefined);
            return offlineDpsAnswer(args.token, args.inputs.provisioningServiceName);
        default:
            throw new Error(`the offline engine has no answer for ${args.token}; add one to offline/azure-answers.ts`);
    }
}

/** Invokes answered from Azurite, which starts on first use. */
async function callStorage(args: MockCallArgs): Promise<MockCallResult> {
    const storage = await offlineStorage();
    switch (args.token) {
        case "azure-native:storage:getStorageAccount":
            return {
                id: armId(
                    OFFLINE_SUBSCRIPTION_ID,
                    args.inputs.resourceGroupName,
                    AZURE_TYPES.storageAccount.armType,
                    args.inputs.accountName,
                ),
                name: args.inputs.accountName,
                kind: "StorageV2",
                // Every account's blob endpoint is Azurite's, path-style, so downloads are real Blob REST calls, offline.
                primaryEndpoints: { blob: storage.endpoint },
            };
        default:
            return { serviceSasToken: offlineServiceSas(args.inputs) };
    }
}

/**
 * The hub's shared access policies. iothubowner, the one the program uses, carries the key its emulator was
 * started with (hubOwnerKey); the emulator knows no other policy. Answered at once, without waiting for the
 * emulator to listen, so the order of registrations (hence the plan) is the same whether or not it was running.
 */
function hubKeys(resourceName: string): MockCallResult {
    // Started (or reset for this run) now; the providers wait for it to listen.
    void offlineHub(`${resourceName}.azure-devices.net`).catch(() => undefined);
    return {
        value: ["iothubowner", "service", "device", "registryRead", "registryReadWrite"].map((keyName) => ({
            keyName,
            primaryKey: keyName === "iothubowner" ? hubOwnerKey(resourceName) : fakeKey(`hub:${resourceName}:${keyName}:primary`),
            secondaryKey: fakeKey(`hub:${resourceName}:${keyName}:secondary`),
            rights: keyName,
        })),
    };
}

/** The iothubowner key of an offline hub: its emulator's own key, derived from the hub's name. */
function hubOwnerKey(hubName: string): string {
    return fakeKey(`hub:${hubName}:iothubowner:primary`);
}

// ---- The emulators behind the answers: one per host name, started on first use in the process and living as long as
// it; reset on its first use in each run, so no run sees what an earlier one created (an edge device left over would be
// adopted, and the plan would depend on what ran before it in the same process).

let currentRun = 0;

interface RunScoped<E> {
    emulator: Promise<E>;
    /** Once it listens. */
    started?: E;
    /** The run that last used it. */
    run: number;
}

class RunScopedEmulators<E extends { hostName: string; reset(): void }> {
    /** By lower-case host name. */
    private readonly entries = new Map<string, RunScoped<E>>();

    constructor(private readonly start: (hostName: string) => Promise<E>) {}

    /** The emulator for a host name, started now or reset for this run (before any request of this run reaches it). */
    get(hostName: string): Promise<E> {
        const key = hostName.toLowerCase();
        let entry = this.entries.get(key);
        if (!entry) {
            const created: RunScoped<E> = { emulator: this.start(hostName), run: currentRun };
            this.entries.set(key, created);
            created.emulator.then(
                (emulator) => (created.started = emulator),
                () => this.entries.delete(key),
            );
            entry = created;
        } else if (entry.run !== currentRun) {
            entry.run = currentRun;
            // Synchronously when it is up, so no request of this run can reach it before the reset.
            if (entry.started) entry.started.reset();
            else entry.emulator = entry.emulator.then((emulator) => (emulator.reset(), emulator));
        }
        return entry.emulator;
    }

    /** The emulator for a host name once it listens. */
    started(hostName: string): E | undefined {
        return this.entries.get(hostName.toLowerCase())?.started;
    }

    /** The emulators the latest run used, by host name. */
    usedThisRun(): ReadonlyMap<string, E> {
        const used = new Map<string, E>();
        for (const entry of this.entries.values())
            if (entry.run === currentRun && entry.started) used.set(entry.started.hostName, entry.started);
        return used;
    }
}

// ---- Device Provisioning Service: what Azure answers for an instance (components/dps/dpsInstance.ts), and one emulator
// per instance (./dps-emulator) for its enrollment group's real provider, started with the name, ID scope and owner
// key these answers give, linked to the offline hubs the instance links, and reset on its first use in each run as the
// hubs are.

/** The ID scope Azure would assign an instance: made up from its name, the same in every run. */
function offlineIdScope(name: string): string {
    return `0ne${createHash("sha256").update(`dps:${name}`).digest("hex").slice(0, 8).toUpperCase()}`;
}

/** The provisioningserviceowner key of an offline instance: its emulator's own key, derived from the instance's name. */
function dpsOwnerKey(name: string): string {
    return fakeKey(`dps:${name}:provisioningserviceowner:primary`);
}

/**
 * A Device Provisioning Service as Azure answers for it: an IotDpsResource's computed outputs (created: `inputs`
 * completed; existing: a usable S1 instance), with its ID scope (a stand-in) and endpoints, or listIotDpsResourceKeys'
 * policies, whose provisioningserviceowner key derives from the instance's name as a hub's iothubowner key does.
 */
export function offlineDpsAnswer(token: string, name: string, inputs: Record<string, any> = {}): Record<string, unknown> {
    if (token === "azure-native:deviceprovisioningservices:listIotDpsResourceKeys") {
        return {
            value: [
                {
                    keyName: "provisioningserviceowner",
                    primaryKey: dpsOwnerKey(name),
                    secondaryKey: fakeKey(`dps:${name}:provisioningserviceowner:secondary`),
                    rights: "ServiceConfig, DeviceConnect, EnrollmentWrite",
                },
            ],
        };
    }
    const resourceToken = "azure-native:deviceprovisioningservices:IotDpsResource";
    if (token !== resourceToken) throw new Error(`offlineDpsAnswer answers for ${resourceToken} and its keys, not ${token}`);
    const idScope = standIn(
        offlineIdScope(name),
        "the Device Provisioning Service's ID scope, which Azure assigns when it creates the instance (`az iot dps show --query properties.idScope`)",
    );
    return {
        location: inputs.location ?? "westeurope",
        sku: { name: "S1", capacity: 1, ...inputs.sku, tier: "Standard" },
        properties: {
            ...inputs.properties,
            idScope,
            serviceOperationsHostName: `${name}.azure-devices-provisioning.net`,
            deviceProvisioningHostName: "global.azure-devices-provisioning.net",
            allocationPolicy: inputs.properties?.allocationPolicy ?? "Hashed",
            state: "Active",
            provisioningState: "Succeeded",
        },
    };
}

/** By service host name, `<name>.azure-devices-provisioning.net`. */
const dpsInstances = new RunScopedEmulators((hostName) => {
    const name = hostName.split(".")[0];
    return startDpsEmulator({ name, idScope: offlineIdScope(name), serviceKey: dpsOwnerKey(name), swagger: "if-present", unref: true });
});
/**
 * The hubs each instance of this run links, by its lower-case service host name: a created instance's `iotHubs` (host
 * names), or "any" for an existing one (see existingShapes).
 */
const dpsLinks = new Map<string, Set<string> | "any">();

function dpsHostName(name: string): string {
    return `${name}.azure-devices-provisioning.net`;
}

/** A created instance's links: the host names of the hubs its `iotHubs` connection strings name. */
function declareDpsLinks(name: string, iotHubs: unknown): void {
    const hostNames = (Array.isArray(iotHubs) ? iotHubs : []).map((link: { connectionString?: string }) =>
        hostNameOf(String(link?.connectionString ?? "")).toLowerCase(),
    );
    dpsLinks.set(dpsHostName(name).toLowerCase(), new Set(hostNames));
}

/** The DPS emulators the latest run used, by service host name (for tests and benchmarks: groups, registrations, violations). */
export function offlineDpsInstances(): ReadonlyMap<string, DpsEmulator> {
    return dpsInstances.usedThisRun();
}

/**
 * The emulator of an enrollment group's instance, linked to this run's offline hubs that the instance links (for an
 * existing instance, the hub the group names).
 */
async function dpsForGroup(inputs: Record<string, unknown>): Promise<DpsEmulator> {
    const hostName = dpsHostNameOf(String(inputs.serviceConnectionString));
    const dps = await dpsInstances.get(hostName);
    const links = dpsLinks.get(hostName.toLowerCase()) ?? new Set<string>();
    const linked = links === "any" ? [String(inputs.iotHubHostName)] : [...links];
    for (const hub of linked) dps.linkHub(await offlineHub(hub));
    return dps;
}

/** What the enrollment group's provider connects with: a real ProvisioningServiceClient bound to its instance's emulator. */
const offlineProvisioningClient: ProvisioningClientFactory = (connectionString) => {
    const hostName = dpsHostNameOf(connectionString);
    const dps = dpsInstances.started(hostName);
    if (!dps) throw new Error(`the offline engine has no Device Provisioning Service ${hostName}`);
    return dps.serviceClientFactory(connectionString);
};

// ---- IoT Hub: one emulator per hub host name (RunScopedEmulators).

const hubs = new RunScopedEmulators((hostName) => startOfflineHub(hostName.split(".")[0]));

/** Called by the engine as a run starts: hubs reset on first use, workspaces are those this run declares. */
export function beginOfflineRun(
    previous?: { resources: Array<{ type: string; name: string; state?: Record<string, unknown> }> },
    preview = false,
): void {
    currentRun += 1;
    previewing = preview;
    workspaceStorageAccounts.clear();
    offlineAcrTokens.reset();
    standIns.clear();
    // getClientConfig's answer, which every ARM id the program builds and the vault's tenant come from.
    standIn(OFFLINE_SUBSCRIPTION_ID, "your subscription's id (`az account show --query id`), in every ARM id");
    standIn(OFFLINE_TENANT_ID, "your Microsoft Entra tenant's id (`az account show --query tenantId`)");
    previousStates.clear();
    dpsLinks.clear();
    for (const resource of previous?.resources ?? [])
        if (resource.state) previousStates.set(`${resource.type}::${resource.name}`, resource.state);
}

/**
 * Dynamic resources whose provider keeps plain data and calls no service: a run given a previous plan starts them
 * from its recorded state and calls diff and update as `pulumi up` would, so a changed model file shows as the next
 * version. (The hub's resources keep secrets, which a plan only holds redacted: they are always created afresh.)
 */
export const REPLAYED_TYPES: ReadonlySet<string> = new Set([MODEL_VERSION_NUMBER_TYPE]);
const previousStates = new Map<string, Record<string, unknown>>();

/** The emulators the latest run used, by host name (for tests: their devices, configurations and violations). */
export function offlineHubs(): ReadonlyMap<string, IotHubEmulator> {
    return hubs.usedThisRun();
}

function offlineHub(hostName: string): Promise<IotHubEmulator> {
    return hubs.get(hostName);
}

function startOfflineHub(hubName: string): Promise<IotHubEmulator> {
    const hostName = `${hubName}.azure-devices.net`;
    return startIotHubEmulator({
        hubName,
        // The owner key and device keys offline runs always had: derived from the names, the same in every process.
        ownerKey: hubOwnerKey(hubName),
        deviceKeys: ({ deviceId, slot, sequence }) => fakeKey(`device:${hostName}:${deviceId}:${slot}:${sequence}`),
        // Devices that apply every deployment at once, so verifyRollout passes without waiting.
        edgeAgents: "report-applied",
        // Checked against the service swagger where it exists (this repository's tests, CI); a clone without the
        // shared reference data still plans, unchecked.
        swagger: "if-present",
        unref: true,
    });
}

/** What the providers connect with: a real azure-iothub Registry bound to the emulator of the connection string's hub. */
const offlineRegistry: RegistryFactory = (connectionString) => {
    const hostName = hostNameOf(connectionString);
    const hub = hubs.started(hostName);
    if (!hub) throw new Error(`the offline engine has no IoT Hub ${hostName}`);
    return hub.registryFactory(connectionString);
};

/** The emulator is local: failures are not worth minutes of backoff. */
const OFFLINE_HUB_RETRY: RetryPolicy = { baseDelayMs: 5, maxDelayMs: 50, deadlineMs: 5_000 };

/** Rollout polls wait on this clock: no real time passes, so a rollout that never settles fails at once. */
function simulatedClock(): Clock {
    let now = Date.now();
    return {
        now: () => now,
        sleep: (ms) => {
            now += ms;
            return new Promise((resolve) => setImmediate(resolve));
        },
    };
}

/** Inputs a provider's check refused: the user's to fix, worded as the Pulumi engine reports check failures. */
class CheckFailedError extends UserError {}

/** The program's dynamic resources and their real providers: none is answered with made-up outputs. */
const DYNAMIC_PROVIDERS = new Map<string, () => dynamic.ResourceProvider>([
    [EDGE_DEVICE_TYPE, () => new EdgeDeviceProvider(offlineRegistry, OFFLINE_HUB_RETRY)],
    [EDGE_DEPLOYMENT_TYPE, () => new EdgeDeploymentProvider(offlineRegistry, OFFLINE_HUB_RETRY, simulatedClock())],
    [ENROLLMENT_GROUP_TYPE, () => new EnrollmentGroupProvider(offlineProvisioningClient, OFFLINE_HUB_RETRY)],
    [MODEL_VERSION_NUMBER_TYPE, () => new ModelVersionNumberProvider()],
    [TOKEN_PASSWORD_TYPE, () => new TokenPasswordProvider(offlineAcrTokens.fetch, OFFLINE_HUB_RETRY, simulatedClock())],
    [
        TOKEN_PASSWORD_REVOCATION_TYPE,
        () => new TokenPasswordRevocationProvider(offlineAcrTokens.fetch, OFFLINE_HUB_RETRY, simulatedClock()),
    ],
]);

/** The ones that talk to an IoT Hub (serviceConnectionString input): their hub's emulator must be listening. */
const HUB_TYPES = new Set([EDGE_DEVICE_TYPE, EDGE_DEPLOYMENT_TYPE]);

/** A provider's check failures, worded as the Pulumi engine reports them; secret values are never quoted. */
function checkFailed(
    args: MockResourceArgs,
    inputs: Record<string, unknown>,
    wireInputs: Record<string, unknown>,
    failures: dynamic.CheckFailure[],
): CheckFailedError {
    const isSecret = (name: string) => (wireInputs[name] as Record<string, unknown> | undefined)?.[SIG] === SECRET_SIG;
    const problem = ({ property, reason }: dynamic.CheckFailure) => {
        if (!property) return `${args.type} resource '${args.name}' has a problem: ${reason}`;
        const value = isSecret(property) ? SECRET_MARKER : JSON.stringify(inputs[property]);
        return `${args.type} resource '${args.name}': property ${property}${value === undefined ? "" : ` value ${value}`} has a problem: ${reason}`;
    };
    return new CheckFailedError(failures.map(problem).join("\n"));
}

/** Runs the real provider as the dynamic provider host would: check, then create with the checked inputs. */
async function dynamicResource(args: MockResourceArgs, wireInputs: Record<string, unknown>): Promise<MockResourceResult> {
    const provider = DYNAMIC_PROVIDERS.get(args.type)!();
    const checked = await provider.check!(undefined, args.inputs);
    if (checked.failures && checked.failures.length > 0) throw checkFailed(args, args.inputs, wireInputs, checked.failures);
    const inputs = checked.inputs ?? args.inputs;
    // A layer merges only on top of a base deployment, someone else's in a real hub: a stand-in base (runtime only,
    // at basePriority) lets the layer's stages verify offline.
    if (args.type === EDGE_DEPLOYMENT_TYPE && inputs.mode === "fleet" && inputs.deploymentLayer === "layered") {
        const layered = await offlineHub(hostNameOf(inputs.serviceConnectionString));
        await addStandInBase(layered.registry(), String(inputs.targetCondition), Number(inputs.basePriority ?? 0));
    }
    const olds = REPLAYED_TYPES.has(args.type) ? previousStates.get(`${args.type}::${args.name}`) : undefined;
    if (olds) {
        // As the engine does with state: unchanged keeps it, a change updates it, a replacement creates anew.
        const diff = await provider.diff!(args.name, olds, inputs);
        if (!diff.changes) return { id: args.name, state: olds };
        if ((diff.replaces ?? []).length === 0)
            return { id: args.name, state: (await provider.update!(args.name, olds, inputs)).outs ?? {} };
    }
    const hub = HUB_TYPES.has(args.type) ? await offlineHub(hostNameOf(inputs.serviceConnectionString)) : undefined;
    // A canary ring is tagged outside the stack in a real hub: stand-in devices tagged to match let its stage verify.
    const canary =
        args.type === EDGE_DEPLOYMENT_TYPE && inputs.mode === "fleet"
            ? (inputs.canary as { condition?: string; minSuccessCount?: number } | undefined)
            : undefined;
    if (hub && canary?.condition) hub.addDevicesMatching(canary.condition, canary.minSuccessCount ?? 1, "canary-stand-in");
    if (args.type === ENROLLMENT_GROUP_TYPE) await dpsForGroup(inputs);
    const { id, outs } = await provider.create(inputs);
    return { id, state: outs ?? {} };
}

export const azureMocks: Mocks = { newResource, call };
