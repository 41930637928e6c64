// Renders a plan diff for reviewers, compact and close to `pulumi preview --diff`: one line per changed
// resource (+ create, ~ update, +- replace, - delete) with its changed inputs, the deployment manifest's
// changes in module terms, changed reads and stack outputs, then one summary line. Plain ASCII markers so the
// text reads the same in a terminal and pasted into a CI job summary.
import { count, isEmptyDiff, type ChangeKind, type PlanDiff, type ResourceChange } from "./plan-diff";
import { printable, shorten } from "./plan-format";

const MARKERS: Record<ChangeKind, string> = { create: "+", update: "~", replace: "+-", delete: "-" };
const READ_MARKERS = { added: "+", removed: "-", changed: "~" } as const;

export interface DiffContext {
    stack: string;
    /** What the current plan is compared with, as the user named it (a file or a git ref). */
    source: string;
}

export function formatPlanDiff(diff: PlanDiff, context: DiffContext): string {
    const lines = [`edgeml plan diff: stack "${context.stack}" against ${context.source} (no cloud access)`, ""];
    if (isEmptyDiff(diff)) {
        lines.push("No changes.", "");
    } else {
        for (const resource of diff.resources) lines.push(...renderResource(resource));
        if (diff.resources.length > 0) lines.push("");
        section(
            lines,
            "Deployment manifest changes:",
            diff.manifest.map((line) => `  ${line}`),
        );
        section(
            lines,
            "Rollout stages, in order:",
            (diff.stages ?? []).map((line) => `  ${line}`),
        );
        section(
            lines,
            "Reads of existing state:",
            diff.reads.map((r) => `  ${READ_MARKERS[r.kind]} ${r.what}${r.args ? `  ${r.args}` : ""}`),
        );
        section(
            lines,
            "Stack outputs:",
            diff.outputs.map((o) => {
                if (o.before === undefined) return `  + ${o.name} = ${shorten(JSON.stringify(o.after))}`;
                if (o.after === undefined) return `  - ${o.name}`;
                // The manifest output is the deployment's content, already listed in module terms.
                if (o.name === "deploymentManifest" && diff.manifest.length > 0) return `  ~ ${o.name}: see "Deployment manifest changes"`;
                const [a, b] = showPair(JSON.stringify(o.before), JSON.stringify(o.after));
                return `  ~ ${o.name}: ${a} -> ${b}`;
            }),
        );
    }
    const blocked = diff.resources.filter((r) => r.blockedByProtect);
    if (blocked.length > 0) {
        lines.push(
            `${count(blocked.length, "protected resource")} would be replaced or deleted, so \`pulumi up\` would fail: ` +
                "unprotect first (edgeml:protect false, or `pulumi state unprotect <urn>`) if that is really intended.",
        );
    }
    lines.push(summaryLine(diff, context.source));
    return lines.join("\n");
}

export function summaryLine(diff: PlanDiff, source: string): string {
    const n = (kind: ChangeKind) => diff.resources.filter((r) => r.kind === kind).length;
    const reads = diff.reads.length > 0 ? `; ${count(diff.reads.length, "read")} of existing state changed` : "";
    // Resources only: pulumi preview also counts the stack and each component (as unchanged, their inputs never change).
    const pulumiExtra = `; pulumi preview also counts the stack and ${count(diff.components, "component")}`;
    return `Plan diff against ${source}: ${n("create")} to create, ${n("update")} to update, ${n("replace")} to replace, ${n("delete")} to delete, ${diff.unchanged} unchanged${reads}${pulumiExtra}`;
}

function renderResource(resource: ResourceChange): string[] {
    const flags = [
        resource.blockedByProtect ? "protected: `pulumi up` would fail" : "",
        resource.retained ? "retainOnDelete: the old one stays in Azure" : "",
    ].filter(Boolean);
    const lines = [
        `${MARKERS[resource.kind]} ${resource.kind} ${resource.type} "${resource.name}"${flags.length ? ` (${flags.join("; ")})` : ""}`,
    ];
    for (const note of resource.notes) lines.push(`    ${note}`);
    for (const input of resource.inputs) {
        const [a, b] = showPair(input.before, input.after);
        lines.push(`    ${input.path}: ${a} -> ${b}${input.replaces ? "  (forces replacement)" : ""}`);
    }
    return lines;
}

function section(lines: string[], title: string, items: string[]): void {
    if (items.length === 0) return;
    lines.push(title, ...items, "");
}

/**
 * Both values shortened; when they shorten to the same text (a long shared prefix, or ARM ids that differ
 * before the kept tail) both are shown from a little before the first difference instead.
 */
export function showPair(before: unknown, after: unknown): [string, string] {
    const [a, b] = [printable(before), printable(after)];
    if (a !== b || before === undefined || after === undefined) return [a, b];
    const text = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v));
    const [s, t] = [text(before), text(after)];
    let i = 0;
    while (i < s.length && s[i] === t[i]) i++;
    const from = Math.max(0, i - 20);
    return [`…${shorten(s.slice(from))}`, `…${shorten(t.slice(from))}`];
}
