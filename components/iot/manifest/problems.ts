// Every rule reports what it found as a ManifestProblem naming the thing at fault, so the caller (the config
// loader, the EdgeDeployment component) can say which config key to fix instead of echoing a bare message.
import { ManifestError } from "../../shared/errors";

/** What a problem is about: a module, a route, a registry credential set, or a whole module twin. */
export type ProblemKind = "module" | "route" | "registry" | "twin";

export interface ManifestProblem {
    kind: ProblemKind;
    /** Module, route, registry or twin name, e.g. "scoring", "scoringToUpstream", "$edgeHub". */
    name: string;
    /** Field inside it, e.g. "settings.image", "env.MY VAR"; absent when the name itself is at fault. */
    field?: string;
    /** The rule broken, in words a reader can act on. */
    rule: string;
}

/** How the rules record a problem; `field` undefined when the name itself is at fault. */
export type Report = (kind: ProblemKind, name: string, field: string | undefined, rule: string) => void;

export function formatProblem(problem: ManifestProblem): string {
    const field = problem.field ? ` ${problem.field}` : "";
    return `${problem.kind} "${problem.name}"${field}: ${problem.rule}`;
}

/** Thrown when a manifest cannot be built or must not be sent; lists every problem, not just the first. */
export function manifestError(problems: ManifestProblem[]): ManifestError {
    return new ManifestError(problems, formatProblem);
}

export { ManifestError };
