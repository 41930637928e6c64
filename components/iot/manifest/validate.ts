// Checks a manifest before anything is sent to IoT Hub, with the rules the receivers apply: IoT Hub (twin size
// and key rules, 512-byte values), edgeAgent (module names, images, create options chunks, env, enums) and
// edgeHub (route syntax and sinks). Manifests read from files are checked too, so nothing here trusts the
// static type: every field is read as unknown.
import { buildManifest } from "./build";
import { checkEdgeAgent, checkRegistry } from "./edgeAgentRules";
import { checkEdgeHub } from "./edgeHubRules";
import { baseOnlyProblems, expandLayer, isLayered, layerOf } from "./layer";
import { imageReferenceProblem, isPinnedByDigest } from "./imageReference";
import { parseRoute } from "./routes";
import { Json, record } from "./json";
import { checkModule, checkModuleName } from "./moduleRules";
import { ManifestError } from "../../shared/errors";
import { manifestError, ManifestProblem, Report } from "./problems";
import { forbiddenTwinKeys, TWIN_DESIRED_MAX_BYTES, twinSize } from "./twinRules";
import type { DeploymentContent, DeploymentManifest, LayeredManifest, ManifestInput } from "./types";

/**
 * Every problem of a manifest or a layer, or of the content an input builds (its layer when `layered`), plus
 * input-only rules; empty when it may be sent.
 */
export function validateManifest(subject: ManifestInput | DeploymentContent): ManifestProblem[] {
    return "modulesContent" in subject ? checkManifest(subject) : checkInput(subject);
}

export function assertValidManifest(subject: ManifestInput | DeploymentContent): void {
    const problems = validateManifest(subject);
    if (problems.length > 0) throw manifestError(problems);
}

function checkInput(input: ManifestInput): ManifestProblem[] {
    const problems: ManifestProblem[] = [];
    const { name, image } = input.scoring;
    // A malformed image is reported by the manifest check; only a well-formed but movable one is reported here.
    if (imageReferenceProblem(image) === undefined && !isPinnedByDigest(image)) {
        problems.push({
            kind: "module",
            name,
            field: "settings.image",
            rule: "must be pinned by digest (…@sha256:<64 hex>) so a deployment names exact content",
        });
    }
    try {
        const manifest = buildManifest(input);
        return [...problems, ...checkManifest(input.layered ? layerOf(manifest) : manifest), ...checkScoringInput(manifest, input.scoring)];
    } catch (error) {
        if (error instanceof ManifestError) return [...problems, ...error.problems];
        throw error;
    }
}

/**
 * The scoring module must receive telemetry (a route into its input) and must never receive its own output: a route
 * whose source covers the module's outputs (/messages/*, /messages/modules/<it>/...) loops unless a WHERE condition
 * (which is not evaluated here) keeps them out, as the leaf-devices route's does.
 */
function checkScoringInput(manifest: DeploymentManifest, scoring: ManifestInput["scoring"]): ManifestProblem[] {
    const problems: ManifestProblem[] = [];
    const ownOutputs = [`/messages/modules/${scoring.name}/outputs/${scoring.outputName}`];
    let delivered = false;
    for (const [name, spec] of Object.entries(manifest.modulesContent.$edgeHub["properties.desired"].routes)) {
        const parsed = parseRoute(typeof spec === "string" ? spec : spec.route);
        if (!("route" in parsed)) continue;
        const { source, condition, sink } = parsed.route;
        if (sink.kind !== "module" || sink.module !== scoring.name || sink.input !== scoring.inputName) continue;
        delivered = true;
        if (condition === undefined && ownOutputs.some((output) => covers(source, output))) {
            problems.push({
                kind: "route",
                name,
                rule: `its source ${source} includes the ${scoring.name} module's own output, which would come back into its input`,
            });
        }
    }
    if (!delivered) {
        problems.push({
            kind: "route",
            name: `${scoring.name}/inputs/${scoring.inputName}`,
            field: "telemetry",
            rule: `no route delivers telemetry into the ${scoring.name} module's input ${scoring.inputName}, so it would score nothing`,
        });
    }
    return problems;
}

/** Whether an edgeHub source path matches a message path: `*` as the last item matches everything below. */
function covers(source: string, path: string): boolean {
    const [want, have] = [source.split("/").filter(Boolean), path.split("/").filter(Boolean)];
    for (let i = 0; i < want.length; i++) {
        if (want[i] === "*" && i === want.length - 1) return true;
        if (i >= have.length || (want[i] !== "*" && want[i].toLowerCase() !== have[i].toLowerCase())) return false;
    }
    return want.length === have.length;
}

function checkManifest(manifest: unknown): ManifestProblem[] {
    const problems: ManifestProblem[] = [];
    const report: Report = (kind, name, field, rule) => problems.push({ kind, name, ...(field !== undefined && { field }), rule });

    const content = record(record(manifest)?.modulesContent);
    if (!content) {
        report("twin", "modulesContent", undefined, "is required: it holds the module twins to set");
        return problems;
    }
    if (isLayered(manifest)) {
        const layerModules = checkLayer(manifest, report);
        checkTwins(expandLayer(manifest)!.modulesContent, layerModules, report);
        return problems;
    }
    const agent = desired(content, "$edgeAgent");
    const hub = desired(content, "$edgeHub");
    if (!agent) report("twin", "$edgeAgent", "properties.desired", "is required");
    if (!hub) report("twin", "$edgeHub", "properties.desired", "is required");
    const moduleNames = agent ? checkEdgeAgent(agent, report) : new Set<string>();
    if (hub) checkEdgeHub(hub, moduleNames, report);
    checkTwins(content, moduleNames, report);
    return problems;
}

/**
 * A layer's rules: nothing of the base's (baseOnlyProblems), then each module, credential and route as in a complete
 * manifest, except that a route may deliver to a module of the base. Returns the layer's module names.
 */
function checkLayer(content: LayeredManifest, report: Report): Set<string> {
    for (const p of baseOnlyProblems(content)) report(p.kind, p.name, p.field, p.rule);
    const twins = expandLayer(content)!.modulesContent as unknown as Record<string, { "properties.desired": Json }>;
    const agent = twins.$edgeAgent?.["properties.desired"] ?? {};
    const modules = record(agent.modules) ?? {};
    for (const [name, module] of Object.entries(modules)) {
        checkModuleName(name, report);
        checkModule(name, record(module), report);
    }
    const credentials = record(record(record(agent.runtime)?.settings)?.registryCredentials) ?? {};
    for (const [name, credential] of Object.entries(credentials)) checkRegistry(name, record(credential), report);
    checkEdgeHub({ routes: {}, ...twins.$edgeHub?.["properties.desired"] }, undefined, report);
    return new Set(Object.keys(modules));
}

function checkTwins(content: Json, moduleNames: Set<string>, report: Report): void {
    for (const twin of Object.keys(content)) {
        const isRuntimeTwin = twin === "$edgeAgent" || twin === "$edgeHub";
        // Names of deployed modules were checked with the module.
        if (!isRuntimeTwin && !moduleNames.has(twin)) checkModuleName(twin, report);
        const properties = desired(content, twin);
        if (!properties) {
            if (!isRuntimeTwin) report("twin", twin, "properties.desired", "must be an object");
            continue;
        }
        const size = twinSize(properties);
        if (size > TWIN_DESIRED_MAX_BYTES) {
            report(
                "twin",
                twin,
                "properties.desired",
                `is ${size} bytes as IoT Hub counts it; a module twin's desired properties are limited to ${TWIN_DESIRED_MAX_BYTES}`,
            );
        }
        // Keys of the runtime twins are module, env, registry and route names, checked with their own rules.
        if (isRuntimeTwin) continue;
        for (const key of forbiddenTwinKeys(properties)) {
            report("twin", twin, `properties.desired.${key}`, "twin keys may not contain '.', '$', spaces or control characters");
        }
    }
}

function desired(content: Json, twin: string): Json | undefined {
    return record(record(content[twin])?.["properties.desired"]);
}
