// A conda environment file (Azure ML's myenv.yml) as the pip requirements the scoring image installs. Pure: text in,
// requirements, notes and problems out, so every rule is tested without files. The rules:
// - conda entries become pip requirements under their PyPI name (the stack's edgeml:condaPipNames first, then the
//   tables of condaPipNames.ts); a conda package neither knows stops the preview: guessing would fail at
//   `docker build`, or install the wrong project. `python` is no requirement: it chooses the base image's Python
//   (choosePythonVersion).
// - versions: conda's `name=1.2` is a fuzzy match (1.2, 1.2.1, ...: conda reads it as `1.2.*`), so it becomes
//   pip's prefix match `name==1.2.*`; pip's `name==1.2` would mean exactly 1.2(.0), refusing the 1.2.x that conda
//   would have installed. `==`, `>=`, `<=`, `>`, `<`, `!=`, `~=` and comma-joined ranges are the same in both.
//   Build strings (`numpy=1.26.4=py311h...`) and channel prefixes (`conda-forge::numpy`) mean nothing to pip and
//   are dropped, each with a note.
// - the `pip:` section is kept as it is, option lines (`--extra-index-url ...`, `-f ...`) included, except pip's
//   options that name files (-r, -c, -e), which the image build does not have.
// - Azure ML's own packages (azureml-*) are dropped from both sections: the edgeml runtime does their job.
// Nothing is dropped silently: each dropped or rewritten entry has a note the plan prints.
import * as yaml from "js-yaml";
import { configKey } from "../shared";
import {
    AZUREML_DROP_REASON,
    CONDA_DROP_REASONS,
    CONDA_NOT_PIP,
    CONDA_PIP_RENAMES,
    CONDA_PIP_SAME_NAMES,
    isAzureMlPackage,
    normalizedPackageName,
} from "./condaPipNames";

export interface CondaEnvironment {
    /** Python X.Y for the base image, from the file's `python` entry (see choosePythonVersion); undefined: none. */
    pythonVersion?: string;
    /** The `python` entry as written, for the note saying what it chose. */
    pythonEntry?: string;
    /** requirements.txt lines (options included), in the file's order. */
    requirements: string[];
    /** One line per entry dropped or rewritten, for the plan to print. */
    notes: string[];
}

export interface CondaConversion extends CondaEnvironment {
    /** What stops the preview, each naming the entry and what to do; empty when the file converts. */
    problems: string[];
}

export interface CondaConversionOptions {
    /** The stack's edgeml:condaPipNames, conda name (normalized) → pip name; "" leaves the package out. */
    pipNames?: Readonly<Record<string, string>>;
}

/** Python versions with official python:X.Y-slim images that a range in a conda file may choose among. */
export const PYTHON_VERSIONS = ["3.8", "3.9", "3.10", "3.11", "3.12", "3.13", "3.14"] as const;
/** The base image's Python when nothing says otherwise; the scoring runtime is tested on it. */
export const DEFAULT_PYTHON_VERSION = "3.11";

const SAME_NAMES = new Set(CONDA_PIP_SAME_NAMES);

export function convertCondaEnvironment(text: string, options: CondaConversionOptions = {}): CondaConversion {
    const result: CondaConversion = { requirements: [], notes: [], problems: [] };
    // js-yaml refuses an empty document ("the input is empty"); said plainly, it is the file that is empty.
    if (text.split(/\r?\n/).every((line) => line.trim() === "" || line.trim().startsWith("#"))) {
        result.problems.push("is empty: a conda environment (name:, channels:, dependencies:) was expected");
        return result;
    }
    let document: unknown;
    try {
        document = yaml.load(text);
    } catch (error) {
        if (!(error instanceof yaml.YAMLException)) throw error;
        const where = error.mark && typeof error.mark.line === "number" ? `line ${error.mark.line + 1}: ` : "";
        result.problems.push(`${where}not valid YAML: ${error.reason}`);
        return result;
    }
    if (document === null || typeof document !== "object" || Array.isArray(document)) {
        result.problems.push("is not a conda environment: a mapping with name:, channels: and dependencies: was expected");
        return result;
    }
    const environment = document as Record<string, unknown>;
    if (environment.variables !== undefined) {
        result.notes.push(
            `variables: not applied (a conda activation setting); set the module's environment with ${configKey("scoringEnv")}`,
        );
    }
    const dependencies = environment.dependencies ?? [];
    if (!Array.isArray(dependencies)) {
        result.problems.push(`dependencies: must be a list, not ${JSON.stringify(dependencies)}`);
        return result;
    }
    const pipNames = options.pipNames ?? {};
    const listed = new Set<string>();
    dependencies.forEach((entry, index) => {
        if (typeof entry === "string") {
            const name = convertCondaEntry(entry.trim(), pipNames, result);
            if (name) listed.add(name);
        } else if (isPipSection(entry)) {
            convertPipSection(entry.pip, result);
        } else {
            result.problems.push(
                `dependencies[${index}] = ${JSON.stringify(entry)} is neither a conda package ("name", "name=1.2") nor the "pip:" list`,
            );
        }
    });
    for (const name of Object.keys(pipNames).filter((name) => !listed.has(name))) {
        result.notes.push(`${configKey("condaPipNames")} maps "${name}", which the conda file does not list`);
    }
    return result;
}

function isPipSection(entry: unknown): entry is { pip: unknown } {
    return entry !== null && typeof entry === "object" && !Array.isArray(entry) && Object.keys(entry).join() === "pip";
}

/** One conda entry as a requirement, a note or a problem; returns its normalized name when it has one. */
function convertCondaEntry(entry: string, pipNames: Readonly<Record<string, string>>, result: CondaConversion): string | undefined {
    const parsed = /^(?:([^\s:]+)::)?([A-Za-z0-9_][A-Za-z0-9_.-]*)(.*)$/s.exec(entry);
    if (!parsed) {
        result.problems.push(`conda entry "${entry}" is not a package specification ("name", "name=1.2", "name>=1.2")`);
        return undefined;
    }
    const [, channel, name, rest] = parsed;
    const normalized = normalizedPackageName(name);
    const constraint = condaConstraint(rest);
    if ("problem" in constraint) {
        result.problems.push(`conda entry "${entry}": ${constraint.problem}; write it under "- pip:" in pip's own syntax instead`);
        return normalized;
    }
    if (normalized === "python") {
        result.pythonEntry = entry;
        const chosen = choosePythonVersion(constraint.specifier);
        if ("problem" in chosen) result.problems.push(`conda entry "${entry}": ${chosen.problem}`);
        else result.pythonVersion = chosen.version;
        return normalized;
    }

    const drop = (reason: string) => result.notes.push(`dropped "${entry}": ${reason}`);
    let pipName: string;
    // Own keys only: conda-forge has a package named "constructor", which `in` would find on every object.
    if (Object.hasOwn(pipNames, normalized)) {
        if (pipNames[normalized] === "") {
            drop(`${configKey("condaPipNames")} leaves it out`);
            return normalized;
        }
        pipName = pipNames[normalized];
        result.notes.push(`"${entry}" installed as pip's ${pipName}, as ${configKey("condaPipNames")} maps it`);
    } else if (isAzureMlPackage(normalized)) {
        drop(AZUREML_DROP_REASON);
        return normalized;
    } else if (Object.hasOwn(CONDA_NOT_PIP, normalized)) {
        drop(CONDA_DROP_REASONS[CONDA_NOT_PIP[normalized]]);
        return normalized;
    } else if (Object.hasOwn(CONDA_PIP_RENAMES, normalized)) {
        pipName = CONDA_PIP_RENAMES[normalized];
        result.notes.push(`"${entry}" installed as pip's ${pipName}: conda's ${name} is ${pipName} on PyPI`);
    } else if (SAME_NAMES.has(normalized)) {
        pipName = name;
    } else {
        result.problems.push(
            `conda package "${name}" (entry "${entry}") has no known pip name: move it under "- pip:" with its name on PyPI, ` +
                `map it with ${configKey("condaPipNames")} ("${normalized}=<pip name>", or "${normalized}=" to leave it out), ` +
                `or remove it if the scoring module does not need it`,
        );
        return normalized;
    }
    if (channel) result.notes.push(`"${entry}": channel ${channel} dropped; pip installs from its own index`);
    if (constraint.build) {
        result.notes.push(
            `"${entry}": build string "${constraint.build}" dropped; conda's builds are not on PyPI, pip picks the wheel for the image's Python and platform`,
        );
    }
    for (const ignored of constraint.ignored) result.notes.push(`"${entry}": ${ignored} dropped; pip has no such selector`);
    result.requirements.push(`${pipName}${constraint.specifier}`);
    return normalized;
}

function convertPipSection(section: unknown, result: CondaConversion): void {
    if (section === null || section === undefined) return;
    if (!Array.isArray(section)) {
        result.problems.push(`pip: must be a list of requirements, not ${JSON.stringify(section)}`);
        return;
    }
    for (const item of section) {
        if (typeof item !== "string") {
            result.problems.push(`pip: entry ${JSON.stringify(item)} is not a requirement (write it as text, e.g. "name==1.2")`);
            continue;
        }
        const line = item.trim();
        if (line === "") continue;
        const fileOption = /^(-r|--requirement|-c|--constraint|-e|--editable)(?=[\s=]|$)/.exec(line);
        if (fileOption) {
            result.problems.push(
                `pip: "${line}": ${fileOption[1]} names a file or folder, which the image build does not have; list the requirements themselves`,
            );
            continue;
        }
        const name = line.startsWith("-") ? undefined : /^[A-Za-z0-9][A-Za-z0-9._-]*/.exec(line)?.[0];
        if (name && isAzureMlPackage(normalizedPackageName(name))) {
            result.notes.push(`dropped pip's "${line}": ${AZUREML_DROP_REASON}`);
            continue;
        }
        result.requirements.push(line);
    }
}

interface Constraint {
    /** pip's version specifier ("==1.2.*", ">=1.2,<2"), "" for any version. */
    specifier: string;
    build?: string;
    /** Bracket selectors pip has no equivalent of (channel=..., subdir=...). */
    ignored: string[];
}

/**
 * What follows a conda package's name, in conda's MatchSpec forms: `=1.2[=build]` (fuzzy), `==1.2`, `>=1.2,<2`,
 * `1.2 build` (separated by a space: exact, as conda reads it), and `[version='>=1.2', build='py311*']`.
 */
function condaConstraint(written: string): Constraint | { problem: string } {
    // Spaces inside a version ("numpy >= 1.26, <2") are not the space before a build string.
    const rest = written.replace(/\s*([,|])\s*/g, "$1").replace(/(==|!=|>=|<=|~=|>|<|=)\s+/g, "$1");
    const trimmed = rest.trim();
    if (trimmed === "") return { specifier: "", ignored: [] };
    if (trimmed.startsWith("[")) {
        const inner = /^\[(.*)\]$/s.exec(trimmed);
        if (!inner) return { problem: "its [...] selector is not closed" };
        const selectors: Record<string, string> = {};
        for (const pair of inner[1].matchAll(/(\w+)\s*=\s*(?:'([^']*)'|"([^"]*)"|([^,\]\s]*))/g)) {
            selectors[pair[1]] = pair[2] ?? pair[3] ?? pair[4];
        }
        const { version = "", build, ...others } = selectors;
        const specifier = pipSpecifier(version, false);
        if (typeof specifier !== "string") return specifier;
        return { specifier, build, ignored: Object.entries(others).map(([key, value]) => `${key}=${value}`) };
    }
    if (/^\s/.test(rest)) {
        const tokens = trimmed.split(/\s+/);
        if (tokens.length > 2) return { problem: "more than a version and a build follow the name" };
        const specifier = pipSpecifier(tokens[0], false);
        return typeof specifier === "string" ? { specifier, build: tokens[1], ignored: [] } : specifier;
    }
    if (trimmed.startsWith("=") && !trimmed.startsWith("==")) {
        const [version, build, ...more] = trimmed.slice(1).split("=");
        if (more.length > 0) return { problem: "more than a version and a build follow the name" };
        const specifier = pipSpecifier(version, true);
        return typeof specifier === "string" ? { specifier, build, ignored: [] } : specifier;
    }
    const exactWithBuild = /^==([^=,|<>!~\s]+)=([^=\s]+)$/.exec(trimmed);
    const specifier = pipSpecifier(exactWithBuild ? `==${exactWithBuild[1]}` : trimmed, false);
    return typeof specifier === "string" ? { specifier, build: exactWithBuild?.[2], ignored: [] } : specifier;
}

const PIP_PART = /^(==|!=|>=|<=|>|<|~=)[0-9][0-9A-Za-z.+!_-]*?(\.\*)?$/;

/** A conda version spec as pip's; a bare version is fuzzy after `=` and exact otherwise, as conda reads them. */
function pipSpecifier(version: string, fuzzy: boolean): string | { problem: string } {
    const spec = version.replace(/\s+/g, "");
    if (spec === "" || spec === "*") return "";
    if (spec.includes("|")) return { problem: `version "${version}" is an "or" of versions, which pip has no form of` };
    const parts: string[] = [];
    for (const part of spec.split(",")) {
        const [, op = "", bare] = /^(==|!=|>=|<=|~=|>|<|=)?(.*)$/.exec(part)!;
        let converted: string;
        if (op === "" || op === "=") converted = fuzzy || op === "=" || bare.endsWith("*") ? prefixMatch(bare) : `==${bare}`;
        else if (bare.endsWith("*"))
            converted = op === "==" || op === "!=" ? `${op}${prefixMatch(bare).slice(2)}` : `${op}${starless(bare)}`;
        else converted = `${op}${bare}`;
        if (!PIP_PART.test(converted)) return { problem: `version "${version}" has no pip form (read as "${converted}")` };
        parts.push(converted);
    }
    return parts.join(",");
}

/** conda's fuzzy 1.2 (or 1.2.*, 1.2*) as pip's ==1.2.*; a pre-release or local version, which PEP 440 gives no prefix form, exactly. */
function prefixMatch(version: string): string {
    const release = starless(version);
    return /^\d+(\.\d+)*$/.test(release) ? `==${release}.*` : `==${release}`;
}

function starless(version: string): string {
    return version.replace(/\.?\*$/, "");
}

/**
 * The Python X.Y a conda `python` entry asks of the base image (python:X.Y-slim), given as pip's specifier:
 * - a pin (`python=3.10`, `python==3.10.4`, `python=3.10.4`, `python 3.10.*`): its X.Y, so `python=3.10.4` runs on
 *   python:3.10-slim, the newest 3.10 patch release;
 * - any other range (`python>=3.9`, `python>=3.9,<3.12`, `python=3`): 3.11 when the range allows it, else the allowed
 *   version of PYTHON_VERSIONS nearest to 3.11 (the newer of two as near), judged by the newest patch of each (what
 *   its slim image carries): the version the runtime is tested on, or the smallest step from it;
 * - no entry (an empty specifier): 3.11.
 */
export function choosePythonVersion(specifier: string): { version: string } | { problem: string } {
    const parts = specifier === "" ? [] : specifier.split(",");
    const pin = parts.length === 1 ? /^==(\d+)\.(\d+)(\.[0-9.]*)?(\.\*)?$/.exec(parts[0]) : null;
    if (pin) return { version: `${pin[1]}.${pin[2]}` };
    const allowed = PYTHON_VERSIONS.filter((candidate) => parts.every((part) => allowsSeries(part, candidate)));
    if (allowed.length === 0) return { problem: `no Python from ${PYTHON_VERSIONS.join(", ")} satisfies "${specifier}"` };
    const minor = (v: string) => Number(v.split(".")[1]);
    const target = minor(DEFAULT_PYTHON_VERSION);
    const nearest = [...allowed].sort((a, b) => Math.abs(minor(a) - target) - Math.abs(minor(b) - target) || minor(b) - minor(a))[0];
    return { version: nearest };
}

/** Whether the newest patch of series X.Y (X.Y.999) satisfies one pip specifier part. */
function allowsSeries(part: string, series: string): boolean {
    const [, op, version, star] = /^(==|!=|>=|<=|~=|>|<)([0-9.]+?)(\.\*)?$/.exec(part) ?? [];
    if (!op) return false;
    const candidate = [...series.split(".").map(Number), 999];
    const bound = version.split(".").map(Number);
    const prefixEqual = bound.every((n, i) => candidate[i] === n);
    const order = compareVersions(candidate, bound);
    switch (op) {
        case "==":
            return star ? prefixEqual : order === 0;
        case "!=":
            return star ? !prefixEqual : order !== 0;
        case ">=":
            return order >= 0;
        case "<=":
            return order <= 0;
        case ">":
            return order > 0;
        case "<":
            return order < 0;
        default:
            // ~=X.Y: >=X.Y and the same X; ~=X.Y.Z: >=X.Y.Z and the same X.Y.
            return order >= 0 && bound.slice(0, -1).every((n, i) => candidate[i] === n);
    }
}

function compareVersions(a: number[], b: number[]): number {
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
        const difference = (a[i] ?? 0) - (b[i] ?? 0);
        if (difference !== 0) return Math.sign(difference);
    }
    return 0;
}
