// Renders an offline plan for people: resources grouped by the component that owns them, key inputs, what
// each waits on, reads of existing Azure state, and the stack outputs; then what the offline engine made up, how to
// see values it cut, and the commands that deploy the stack for real. Secrets are already redacted upstream.
import { describeRolloutStages, EDGE_DEPLOYMENT_TYPE, EDGE_DEVICE_TYPE, type EdgeDeploymentInputs, modulesOf } from "../components/iot";
import { type DeploymentContent, expandLayer, isLayered } from "../components/iot/manifest";
import { type OfflinePlan, type PlannedResource, type StandIn, UNKNOWN_MARKER } from "../offline";

const MAX_VALUE = 70;
const LINE_WIDTH = 110;
/** A stand-in's value in the legend: enough to recognise it beside the value in the plan. */
const MAX_STAND_IN = 40;

export interface PlanFormatOptions {
    /** Every value whole, none cut to MAX_VALUE with "…" (ARM ids included). */
    wide?: boolean;
    /** What the offline engine made up (OfflineRun.standIns), listed after the plan. */
    standIns?: readonly StandIn[];
}

export function formatPlan(plan: OfflinePlan, preview = false, options: PlanFormatOptions = {}): string {
    // Every value shown goes through fit: cut unless --wide, and the plan says how to see what was cut.
    let cut = false;
    const fit = (text: string) => {
        if (options.wide) return text;
        const short = shorten(text);
        if (short !== text) cut = true;
        return short;
    };
    const title = preview
        ? `edgeml offline preview: stack "${plan.stack}", as a first \`pulumi preview\` sees it (nothing exists yet: output<string> is known after apply)`
        : `edgeml offline plan: stack "${plan.stack}" (no cloud access; Azure's answers come from the offline engine)`;
    const lines = [title, ""];
    const byUrn = new Map(plan.resources.map((r) => [r.urn, r]));
    const children = (parent: string | undefined) => plan.resources.filter((r) => r.parent === parent);

    const render = (resource: PlannedResource, depth: number) => {
        const pad = "  ".repeat(depth);
        if (!resource.custom) {
            lines.push(`${pad}${resource.name} (${resource.type})`);
        } else {
            const marker = resource.operation === "read" ? "=" : "+";
            const verb = resource.operation === "read" ? "read" : "create";
            lines.push(`${pad}${marker} ${verb} ${resource.type} "${resource.name}"${resource.protect ? " (protected)" : ""}`);
            // Azure ownership tags are the same everywhere; other resources' tags (device twins) matter.
            const ownershipTags = resource.type.startsWith("azure-native:");
            // Noise left out: a dynamic provider's serialized code, ownership tags, empty values.
            const inputs = flatten(withManifestSummary(resource.inputs), "", fit).filter(
                ([key, value]) =>
                    key !== "__provider" && !(ownershipTags && key.startsWith("tags.")) && !["", '""', "[]", "(none)"].includes(value),
            );
            for (const line of wrap(inputs.map(([k, v]) => `${k}=${v}`))) lines.push(`${pad}    ${line}`);
            // A deployment's stages in the order a rollout runs them, with their target conditions.
            if (resource.type === EDGE_DEPLOYMENT_TYPE) {
                lines.push(
                    `${pad}    rollout:`,
                    ...describeRolloutStages(resource.inputs as unknown as EdgeDeploymentInputs).map((stage) => `${pad}      ${stage}`),
                );
            }
            const waits = resource.dependencies.filter((urn) => urn !== resource.parent).map((urn) => byUrn.get(urn)?.name ?? urn);
            if (waits.length > 0) lines.push(`${pad}    waits on: ${waits.join(", ")}`);
        }
        for (const child of children(resource.urn)) render(child, depth + 1);
    };
    // Plain resources (the resource group) first: everything else waits on them.
    const roots = children(undefined).sort((a, b) => Number(a.custom === false) - Number(b.custom === false));
    for (const root of roots) {
        render(root, 0);
        lines.push("");
    }

    if (plan.invokes.length > 0) {
        lines.push("Reads from Azure:");
        for (const invoke of plan.invokes) {
            const args = flatten(invoke.inputs, "", fit)
                .map(([k, v]) => `${k}=${v}`)
                .join("  ");
            lines.push(`  ${invoke.token}${args ? `  ${args}` : ""}`);
        }
        lines.push("");
    }

    lines.push("Stack outputs:");
    for (const [name, value] of Object.entries(plan.outputs))
        lines.push(`  ${name} = ${value === UNKNOWN_MARKER ? "output<string>" : fit(JSON.stringify(value))}`);
    lines.push("");

    const created = plan.resources.filter((r) => r.custom && r.operation === "create").length;
    const read = plan.resources.filter((r) => r.operation === "read").length + plan.invokes.length;
    const components = plan.resources.filter((r) => !r.custom).length;
    // pulumi preview's "+ N to create" counts the stack and each component too.
    lines.push(
        `${created} resources to create in ${components} components, ${read} reads of existing state (pulumi preview: + ${created + components + 1} to create, the stack and the components included).`,
    );

    const standIns = options.standIns ?? [];
    if (standIns.length > 0) {
        lines.push("", "Offline stand-ins, made up for what only Azure knows (`pulumi preview` and `pulumi up` get Azure's own):");
        for (const { value, standsFor } of standIns) {
            const shown = options.wide || value.length <= MAX_STAND_IN ? value : `${value.slice(0, MAX_STAND_IN - 1)}…`;
            if (shown !== value) cut = true;
            lines.push(...wrapWords(`  ${shown}  ${standsFor}`, "      "));
        }
    }
    if (cut) {
        lines.push(
            "",
            `Values cut with …: \`npm start -- --stack ${plan.stack}${preview ? " --preview" : ""} --wide\` shows them whole; ` +
                `\`--json\` and out/${plan.stack}/plan.json hold them too.`,
        );
    }
    lines.push("", ...nextSteps(plan));
    return lines.join("\n");
}

/** From this offline plan to the stack in Azure, the commands in order (README: "From an empty subscription ..."). */
function nextSteps(plan: OfflinePlan): string[] {
    const hasDevices = plan.resources.some((r) => r.type === EDGE_DEVICE_TYPE && r.operation === "create");
    const steps: Array<[string, string]> = [
        [`pulumi stack init ${plan.stack}`, `once, with Pulumi.${plan.stack}.yaml as it is (then \`pulumi stack select ${plan.stack}\`)`],
        ["pulumi config set namePrefix <your-org>", "registry, storage, vault and hub names are global in Azure: make them yours"],
        ["pulumi preview --diff", "what Azure itself says would change"],
        ["pulumi up", "creates what this plan lists, and rolls the model out"],
    ];
    // A stack without devices of its own (a fleet whose devices join the hub elsewhere) has no config.toml to write.
    if (hasDevices)
        steps.push([`npm run devices -- --stack ${plan.stack}`, "each device's /etc/aziot/config.toml, and the command that installs it"]);
    const width = Math.max(...steps.map(([command]) => command.length));
    return [
        `Next steps, to deploy stack "${plan.stack}" to Azure:`,
        ...steps.map(([command, why]) => `  ${command.padEnd(width)}  ${why}`),
    ];
}

/**
 * A deployment's manifest shown as its modules and routes (a layer's: what it adds to its base deployment); the
 * whole manifest goes to deployment.json.
 */
function withManifestSummary(inputs: Record<string, unknown>): Record<string, unknown> {
    const content = inputs.content as DeploymentContent | undefined;
    if (!content?.modulesContent) return inputs;
    const modules = Object.fromEntries(Object.entries(modulesOf(content)).map(([name, m]) => [name, m.image]));
    const routes = expandLayer(content)?.modulesContent.$edgeHub?.["properties.desired"]?.routes ?? {};
    const layer = isLayered(content) ? { layer: `on top of the base deployment at priority ${printable(inputs.basePriority ?? 0)}` } : {};
    const { content: _manifest, ...rest } = inputs;
    return { ...rest, manifest: { ...layer, modules: modules, routes } };
}

/** [dotted.path, printable value] for every leaf of an input tree; `fit` shortens each value's text. */
export function flatten(value: unknown, prefix = "", fit: (text: string) => string = shorten): Array<[string, string]> {
    if (value !== null && typeof value === "object" && !Array.isArray(value)) {
        return Object.entries(value).flatMap(([key, inner]) => flatten(inner, prefix ? `${prefix}.${key}` : key, fit));
    }
    return [[prefix, printable(value, fit)]];
}

/** A value as one short line: strings as they are, anything else as JSON; "(none)" for a missing value. */
export function printable(value: unknown, fit: (text: string) => string = shorten): string {
    if (value === undefined) return "(none)";
    // As pulumi preview shows a value that is known only after apply.
    if (value === UNKNOWN_MARKER) return "output<string>";
    return fit(typeof value === "string" ? value : JSON.stringify(value));
}

export function shorten(text: string): string {
    // ARM ids are long and differ only at the end: keep the resource kind and name.
    const armId = /^"?\/subscriptions\/.*\/([^/]+\/[^/]+?)"?$/.exec(text);
    if (armId) return `…/${armId[1]}`;
    return text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE - 1)}…` : text;
}

/**
 * Text broken at single spaces into lines of at most LINE_WIDTH characters, `indent` before each after the first;
 * runs of spaces (a legend's gap between value and meaning) stay, and a longer word keeps a line of its own.
 */
function wrapWords(text: string, indent: string): string[] {
    const lines: string[] = [];
    for (const word of text.split(/(?<=\S) (?=\S)/)) {
        const last = lines.length - 1;
        if (last >= 0 && lines[last].length + 1 + word.length <= LINE_WIDTH) lines[last] += ` ${word}`;
        else lines.push(last >= 0 ? indent + word : word);
    }
    return lines;
}

/** Joins items into lines of at most LINE_WIDTH characters. */
function wrap(items: string[]): string[] {
    const lines: string[] = [];
    for (const item of items) {
        const last = lines.length - 1;
        if (last >= 0 && lines[last].length + item.length + 2 <= LINE_WIDTH) lines[last] += `  ${item}`;
        else lines.push(item);
    }
    return lines;
}
