// The offline engine: runs the Pulumi program in-process under Pulumi's mock runtime, with Azure-shaped
// answers and the stack's configuration read from Pulumi.<stack>.yaml (defaults from Pulumi.yaml, as the CLI
// applies them). It records every registration the program makes (type, name, parent, dependencies, inputs
// with secrets redacted) so the unit tests and the offline plan (`npm start`) see exactly the same thing.
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { configText, qualifiedKey } from "../components/config";
import { readStackFile } from "./stack-file";
import { SECRET_MARKER, StackFileError } from "../components/shared";
import { azureMocks, beginOfflineRun, REPLAYED_TYPES, type StandIn, standInsIn } from "./azure-answers";
import { ARCHIVE_SIG, ASSET_SIG, RESOURCE_SIG, SECRET_SIG, SIG, UNKNOWN_VALUE } from "./wire-format";

export const REPO_ROOT = path.resolve(__dirname, "..");

/** The project a command works on: the nearest folder at or above `from` with a Pulumi.yaml, as the CLI finds it. */
export function findProjectDir(from = process.cwd()): string {
    for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
        if (fs.existsSync(path.join(dir, "Pulumi.yaml"))) return dir;
        if (path.dirname(dir) === dir) throw new StackFileError(`no Pulumi.yaml in ${from} or any folder above it`);
    }
}
export const UNKNOWN_MARKER = "[unknown]";

export interface PlannedResource {
    urn: string;
    type: string;
    name: string;
    /** "create" for resources the program declares; "read" for existing ones it only looks up. */
    operation: "create" | "read";
    custom: boolean;
    parent?: string;
    /** URNs this resource waits on. */
    dependencies: string[];
    protect: boolean;
    /** Kept in Azure when removed from the program or destroyed. */
    retainOnDelete: boolean;
    /** Inputs as sent to the engine, secrets replaced by SECRET_MARKER. */
    inputs: Record<string, unknown>;
    /** Inputs whose change replaces the resource (its replaceOnChanges option), when it has any. */
    replaceOnChanges?: string[];
    /**
     * The state of a resource whose provider keeps plain data only (the model version number): what a later run
     * given this plan as `previous` starts from, as `pulumi up` starts from the stack's state.
     */
    state?: Record<string, unknown>;
}

export interface PlannedInvoke {
    token: string;
    inputs: Record<string, unknown>;
}

export interface OfflinePlan {
    project: string;
    stack: string;
    resources: PlannedResource[];
    invokes: PlannedInvoke[];
    /** Stack outputs, secrets replaced by SECRET_MARKER. */
    outputs: Record<string, unknown>;
}

export interface OfflineRun {
    plan: OfflinePlan;
    /** The program's exports as Pulumi values, for tests that check secrecy with pulumi.isSecret. */
    exports: Record<string, unknown>;
    /**
     * Each created resource's state as answered (inputs and outputs, e.g. what a dynamic provider's create
     * returned), by URN, secrets replaced by SECRET_MARKER. Not part of the plan: what a deployment reports.
     */
    states: Record<string, Record<string, unknown>>;
    /** What this offline run cannot reproduce of a real one (ESC imports, secrets it cannot decrypt). */
    warnings: string[];
    /**
     * What the offline engine made up for what only Azure knows (ids, digests, a registered model's contents), as the
     * plan shows it. Not part of the plan: plan.json holds exactly what the program registered.
     */
    standIns: StandIn[];
}

export interface OfflineOptions {
    stack: string;
    /** The program to run; defaults to the project's index.ts. Returns the stack outputs. */
    program?: () => Record<string, unknown> | Promise<Record<string, unknown>>;
    /** Config values that replace the stack file's (project keys unqualified); undefined removes a key. */
    overrides?: Record<string, unknown>;
    /** Where Pulumi.yaml and the stack files live. */
    projectDir?: string;
    /** An earlier plan of the stack standing in for its state (see PlannedResource.state). */
    previous?: OfflinePlan;
    /** A dry run, as the first `pulumi preview` of the stack: nothing exists yet, so what creation decides is unknown. */
    preview?: boolean;
}

/** The stacks of a project: every Pulumi.<stack>.yaml beside its Pulumi.yaml. */
export function listStacks(projectDir = REPO_ROOT): string[] {
    return fs
        .readdirSync(projectDir)
        .map((file) => /^Pulumi\.(.+)\.yaml$/.exec(file)?.[1])
        .filter((stack): stack is string => stack !== undefined)
        .sort();
}

/**
 * Project name and the stack's effective configuration, as the Pulumi CLI would hand it to the program: the stack
 * file read by the CLI's rules (offline/stack-file.ts), Pulumi.yaml's defaults applied, then test overrides.
 */
export function readStackConfig(stack: string, projectDir = REPO_ROOT, overrides: Record<string, unknown> = {}) {
    const read = readStackFile(stack, projectDir, () => listStacks(projectDir));
    const values = { ...read.values };
    for (const [key, value] of Object.entries(overrides)) {
        if (value === undefined) delete values[qualifiedKey(read.project, key)];
        else values[qualifiedKey(read.project, key)] = configText(value);
    }
    return { project: read.project, values, secretKeys: read.secretKeys, warnings: read.warnings };
}

/**
 * Dynamic resources serialize their provider's code on registration (hundreds of milliseconds each, through
 * the V8 inspector). The offline engine runs the provider classes in-process, never the serialized code, so it
 * skips the work; test/providers.test.ts proves the providers do serialize and load as the Pulumi CLI needs.
 */
function skipProviderSerialization(): void {
    const closure = require("@pulumi/pulumi/runtime/closure/serializeClosure");
    closure.serializeFunction = async () => ({
        text: "exports.handler = undefined; // offline: not serialized",
        exportName: "handler",
        containsSecrets: false,
    });
}

export async function runOffline(options: OfflineOptions): Promise<OfflineRun> {
    skipProviderSerialization();
    // The offline IoT Hubs start this run empty, whatever an earlier run in this process created.
    beginOfflineRun(options.previous, options.preview === true);
    const projectDir = options.projectDir ?? REPO_ROOT;
    const { project, values, secretKeys, warnings } = readStackConfig(options.stack, projectDir, options.overrides);
    const recorder = new Recorder();
    // preview: the SDK's own dry-run mode, in which outputs not known yet are unknown values, as in `pulumi preview`.
    await pulumi.runtime.setMocks(azureMocks, project, options.stack, options.preview === true);
    // The CLI tells the program where Pulumi.yaml is; relative paths in config are resolved against it.
    require("@pulumi/pulumi/runtime/state").getStore().settings.options.rootDirectory = projectDir;
    recorder.attach(pulumi.runtime.getMonitor());
    pulumi.runtime.setAllConfig(values, secretKeys);

    // A failed registration surfaces as an unhandled rejection, and the outputs of every resource that depended on
    // it never settle (the CLI would end the program there): the first failure ends the run, as under the CLI.
    let onRejection: (reason: unknown) => void = () => undefined;
    const firstFailure = new Promise<never>((_, reject) => (onRejection = reject));
    process.on("unhandledRejection", onRejection);
    try {
        return await Promise.race([
            firstFailure,
            (async () => {
                const exports = await (options.program ?? (() => loadProgram(projectDir)))();
                const outputs: Record<string, unknown> = {};
                for (const [name, value] of Object.entries(exports)) {
                    // As the SDK serializes the stack's outputs: one whose value is undefined is not exported at all.
                    const shown = await redactedValue(value);
                    if (shown !== undefined) outputs[name] = shown;
                }
                // Drain registrations still in flight (waitForRPCs is the SDK's own, marked internal in its typings).
                await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
                const { resources, invokes, states } = recorder.result();
                const standIns = standInsIn(JSON.stringify({ resources, invokes, outputs }));
                return { plan: { project, stack: options.stack, resources, invokes, outputs }, exports, states, warnings, standIns };
            })(),
        ]);
    } finally {
        process.off("unhandledRejection", onRejection);
    }
}

/** Runs index.ts afresh (a cached module would not register anything the second time). */
function loadProgram(projectDir: string): Record<string, unknown> {
    const entry = require.resolve(path.join(projectDir, "index.ts"));
    delete require.cache[entry];
    return { ...require(entry) };
}

async function redactedValue(value: unknown): Promise<unknown> {
    if (!pulumi.Output.isInstance(value)) return value;
    const output = value as pulumi.Output<unknown>;
    if (await pulumi.isSecret(output)) return SECRET_MARKER;
    // In a preview, an output that waits on a resource being created is not known yet (isKnown is the SDK's own).
    if (!(await (output as unknown as { isKnown: Promise<boolean> }).isKnown)) return UNKNOWN_MARKER;
    return outputValue(output);
}

/** An Output's value. Output.promise() is internal but rejects when the value fails, where apply() would hang. */
export function outputValue<T>(output: pulumi.Output<T>): Promise<T> {
    return (output as unknown as { promise(): Promise<T> }).promise();
}

/** Wire-format properties as plain JSON: secrets become SECRET_MARKER, references and assets readable strings. */
export function redactWireValue(value: unknown): unknown {
    if (value === UNKNOWN_VALUE) return UNKNOWN_MARKER;
    if (Array.isArray(value)) return value.map(redactWireValue);
    if (value === null || typeof value !== "object") return value;
    const record = value as Record<string, any>;
    switch (record[SIG]) {
        case SECRET_SIG:
            return SECRET_MARKER;
        case RESOURCE_SIG:
            return `resource:${record.urn}`;
        case ASSET_SIG:
            return `asset:${record.path ?? record.uri ?? "(inline text)"}`;
        case ARCHIVE_SIG:
            return `archive:${record.path ?? record.uri ?? "(inline assets)"}`;
    }
    return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, redactWireValue(v)]));
}

/** A dynamic resource's inputs carry its provider's serialized code: noise in a plan, so it is named only. */
function withoutProviderCode(inputs: Record<string, unknown>): Record<string, unknown> {
    return "__provider" in inputs ? { ...inputs, __provider: "[dynamic provider code]" } : inputs;
}

/**
 * Does what the Pulumi engine does with additionalSecretOutputs, which the mock monitor ignores, and hands the
 * answered state (secrets marked) to `record`.
 */
function markSecretOutputs(
    names: string[],
    record: (state: Record<string, unknown>) => void,
    callback: (error: unknown, response: any) => void,
) {
    return (error: unknown, response: any) => {
        if (response) {
            const state = response.getObject()?.toJavaScript() ?? {};
            if (names.length > 0) {
                for (const name of names) if (name in state) state[name] = { [SIG]: SECRET_SIG, value: state[name] };
                response.setObject(Struct.fromJavaScript(state));
            }
            record(state);
        }
        callback(error, response);
    };
}

/** Wraps the mock monitor's RPC handlers to record each request before the mocks answer it. */
class Recorder {
    private readonly resources: PlannedResource[] = [];
    private readonly invokes: PlannedInvoke[] = [];
    private readonly states: Record<string, Record<string, unknown>> = {};

    attach(monitor: any): void {
        const register = monitor.registerResource.bind(monitor);
        monitor.registerResource = (req: any, callback: any) => {
            const type: string = req.getType();
            const name: string = req.getName();
            const urn: string = monitor.newUrn(req.getParent(), type, name);
            const replaceOnChanges: string[] = req.getReplaceonchangesList();
            const planned: PlannedResource = {
                urn,
                type,
                name,
                operation: "create",
                custom: req.getCustom(),
                parent: req.getParent() || undefined,
                dependencies: [...new Set<string>(req.getDependenciesList())],
                protect: req.getProtect() === true,
                retainOnDelete: req.getRetainondelete() === true,
                inputs: withoutProviderCode(redactWireValue(req.getObject()?.toJavaScript() ?? {}) as Record<string, unknown>),
                ...(replaceOnChanges.length > 0 && { replaceOnChanges }),
            };
            this.resources.push(planned);
            const record = (state: Record<string, unknown>) => {
                if (!req.getCustom()) return;
                this.states[urn] = withoutProviderCode(redactWireValue(state) as Record<string, unknown>);
                if (REPLAYED_TYPES.has(type)) planned.state = this.states[urn];
            };
            return register(req, markSecretOutputs(req.getAdditionalsecretoutputsList(), record, callback));
        };
        const read = monitor.readResource.bind(monitor);
        monitor.readResource = (req: any, callback: any) => {
            this.resources.push({
                urn: monitor.newUrn(req.getParent(), req.getType(), req.getName()),
                type: req.getType(),
                name: req.getName(),
                operation: "read",
                custom: true,
                parent: req.getParent() || undefined,
                dependencies: [...new Set<string>(req.getDependenciesList())],
                protect: false,
                retainOnDelete: true,
                inputs: { id: req.getId(), ...(redactWireValue(req.getProperties()?.toJavaScript() ?? {}) as object) },
            });
            return read(req, callback);
        };
        const invoke = monitor.invoke.bind(monitor);
        monitor.invoke = (req: any, callback: any) => {
            const token: string = req.getTok();
            if (token !== "pulumi:pulumi:getResource") {
                this.invokes.push({ token, inputs: redactWireValue(req.getArgs()?.toJavaScript() ?? {}) as Record<string, unknown> });
            }
            return invoke(req, callback);
        };
    }

    result(): { resources: PlannedResource[]; invokes: PlannedInvoke[]; states: Record<string, Record<string, unknown>> } {
        return { resources: this.resources, invokes: this.invokes, states: this.states };
    }
}
