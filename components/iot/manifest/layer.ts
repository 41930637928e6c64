// Layered deployments: content that adds the scoring module, its routes, its registry credential and its module twin
// on top of a base deployment (someone else's, or another stack's) instead of a complete manifest. As Microsoft
// documents them ("Understand IoT Edge automatic deployments for single devices or at scale" and "Deploy and monitor
// IoT Edge modules at scale using the Azure CLI", both under Layered deployment) and azure-iot-cli-extension writes
// them (the `az iot edge deployment create` layered examples; it tells a layer from a base by $edgeAgent having no
// "properties.desired"): $edgeAgent and $edgeHub are present, an empty object at least ("all layered deployments
// must include an edgeAgent object to be considered valid"), and what they set is in dot notation,
// `properties.desired.modules.<name>` and `properties.desired.routes.<name>`, which IoT Hub merges into the base's
// twins by priority. A layer "may not contain system modules": edgeAgent's runtime and system modules and edgeHub's
// own settings (schemaVersion, storeAndForwardConfiguration) are the base's. The registry credential the scoring
// image needs goes to its own path, `properties.desired.runtime.settings.registryCredentials.<name>`, as Microsoft's
// Industrial-IoT deploys its layered modules (Azure/Industrial-IoT, IoTHubPublisherDeployment.cs): one entry beside
// the base's credentials, the base's runtime settings left as they are.
// Pure shape functions, imported alone by the serialized deployment provider; the layer's rules are validate.ts's.
import { Json, record } from "./json";
import type { ManifestProblem } from "./problems";
import type { DeploymentContent, DeploymentManifest, LayeredManifest, RegistryCredential } from "./types";

const DESIRED = "properties.desired";
const CREDENTIALS = `${DESIRED}.runtime.settings.registryCredentials.`;
/** What a layer may set in the runtime twins, one name per path; the rest is the base's (rule in words). */
const LAYER_KEYS: Record<string, [RegExp, string]> = {
    $edgeAgent: [
        /^properties\.desired\.(modules|runtime\.settings\.registryCredentials)\.[^.]+$/,
        "belongs to the base deployment: a layer defines no system modules or runtime settings, only properties.desired.modules.<name> (and registryCredentials.<name>)",
    ],
    $edgeHub: [
        /^properties\.desired\.routes\.[^.]+$/,
        "belongs to the base deployment: edgeHub's settings (schemaVersion, storeAndForwardConfiguration) are the base's; a layer adds properties.desired.routes.<name>",
    ],
};

/** A layer: $edgeAgent without "properties.desired" (how azure-iot-cli-extension tells a layer from a base). */
export function isLayered(content: unknown): content is LayeredManifest {
    const agent = record(record(record(content)?.modulesContent)?.$edgeAgent);
    return agent !== undefined && !(DESIRED in agent);
}

/** The layer of a complete manifest: its modules, routes, registry credentials and module twins; nothing of the runtime. */
export function layerOf(manifest: DeploymentManifest): LayeredManifest {
    const { $edgeAgent, $edgeHub, ...twins } = manifest.modulesContent;
    const dotted = (prefix: string, entries: object) =>
        Object.fromEntries(Object.entries(entries).map(([name, value]) => [`${DESIRED}.${prefix}.${name}`, value]));
    const agent = $edgeAgent[DESIRED];
    return {
        modulesContent: {
            $edgeAgent: {
                ...dotted("runtime.settings.registryCredentials", agent.runtime.settings.registryCredentials),
                ...dotted("modules", agent.modules),
            },
            $edgeHub: dotted("routes", $edgeHub[DESIRED].routes),
            ...twins,
        },
    };
}

/**
 * Content in the complete manifest's shape: a layer's dotted paths set in each twin's desired properties, as a device
 * with this layer alone would have them (modules, routes, credentials, module twins); a complete manifest as it is.
 */
export function expandLayer(content: DeploymentContent | undefined): DeploymentManifest | undefined {
    if (!isLayered(content)) return content;
    const twins: Json = {};
    for (const [twin, entries] of Object.entries(content.modulesContent)) {
        const desired: Json = {};
        for (const [key, value] of Object.entries(record(entries) ?? {})) {
            if (key === DESIRED) Object.assign(desired, value);
            else if (key.startsWith(`${DESIRED}.`)) setPath(desired, key.slice(DESIRED.length + 1).split("."), value);
        }
        twins[twin] = { [DESIRED]: desired };
    }
    return { modulesContent: twins } as unknown as DeploymentManifest;
}

/** The registry credentials a content carries, the objects themselves (to fill in or redact). */
export function registryCredentialsOf(content: DeploymentContent | undefined): RegistryCredential[] {
    const agent = record(content?.modulesContent?.$edgeAgent) ?? {};
    if (isLayered(content))
        return Object.entries(agent).flatMap(([key, value]) => (key.startsWith(CREDENTIALS) ? [value as RegistryCredential] : []));
    const settings = record(record(record(agent[DESIRED])?.runtime)?.settings);
    return Object.values(record(settings?.registryCredentials) ?? {}) as RegistryCredential[];
}

/** What a layer sets that is the base deployment's, and a missing $edgeAgent or $edgeHub. */
export function baseOnlyProblems(content: unknown): ManifestProblem[] {
    const problems: ManifestProblem[] = [];
    for (const [twin, [allowed, rule]] of Object.entries(LAYER_KEYS)) {
        const entries = record(record(record(content)?.modulesContent)?.[twin]);
        if (!entries) problems.push({ kind: "twin", name: twin, rule: `is required in a layered deployment, an empty object at least` });
        for (const key of Object.keys(entries ?? {})) if (!allowed.test(key)) problems.push({ kind: "twin", name: twin, field: key, rule });
    }
    return problems;
}

function setPath(target: Json, path: string[], value: unknown): void {
    let node = target;
    for (const key of path.slice(0, -1)) node = record(node[key]) ?? (node[key] = {});
    node[path[path.length - 1]] = value;
}
