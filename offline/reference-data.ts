/**
 * Where the reference data lives: files others published (Microsoft's schemas, swaggers and resource type
 * definitions, manifests, the tutorial's recording), which the tests use as oracles nobody on this project wrote.
 * They are never copied into the repository: scripts/references.json lists each one with its public source, commit,
 * licence and sha256, and `npm run fetch-references` downloads them. Everything that reads them asks here, so that a
 * clone, this project's own checkout and CI all find the same files:
 *  1. $EDGEML_REFERENCE_DIR, when set (a relative path is taken from the project's root, whatever the cwd);
 *  2. `<project>/../shared/reference/`, when it exists (the checkout this project is developed in has it);
 *  3. `<project>/.reference/` (gitignored), where `npm run fetch-references` writes in a clone.
 * scoring/examples/temperature-anomaly/tests/reference_data.py makes the same choice for the Python tests: change
 * both together.
 */
import { existsSync, readFileSync, statSync } from "fs";
import * as path from "path";

export const REFERENCE_DIR_ENV = "EDGEML_REFERENCE_DIR";
/** Set to 1 (CI does): a test whose oracle is missing fails instead of being skipped. */
export const REQUIRE_REFERENCES_ENV = "EDGEML_REQUIRE_REFERENCES";
export const FETCH_COMMAND = "npm run fetch-references";

export const PROJECT_ROOT = path.resolve(__dirname, "..");
export const REFERENCE_LIST_FILE = path.join(PROJECT_ROOT, "scripts", "references.json");

/** The oracle files the code names; each is listed in scripts/references.json. */
export const IOTHUB_SWAGGER = "iothub-service-swagger.json";
export const DPS_SWAGGER = "dps-service-swagger.json";

export interface ReferenceDir {
    dir: string;
    /** Why this folder, for messages: which of the three rules chose it. */
    chosenBy: string;
}

export function referenceDir(): ReferenceDir {
    const fromEnv = process.env[REFERENCE_DIR_ENV];
    if (fromEnv) return { dir: path.resolve(PROJECT_ROOT, fromEnv), chosenBy: `$${REFERENCE_DIR_ENV}` };
    const shared = path.resolve(PROJECT_ROOT, "..", "shared", "reference");
    if (isDirectory(shared)) return { dir: shared, chosenBy: "../shared/reference exists next to the project" };
    return {
        dir: path.join(PROJECT_ROOT, ".reference"),
        chosenBy: `no $${REFERENCE_DIR_ENV} and no ../shared/reference, so the project's own .reference/`,
    };
}

/** A file (or folder) of the reference data, e.g. "azure-types/...json"; it may not exist. */
export function referencePath(name: string): string {
    return path.join(referenceDir().dir, name);
}

/** Whether a missing oracle is a failure rather than a skip. */
export function referencesRequired(): boolean {
    return ["1", "true"].includes(process.env[REQUIRE_REFERENCES_ENV] ?? "");
}

/** One entry of scripts/references.json. */
export interface ReferenceFile {
    /** Where it goes, relative to the reference folder. */
    path: string;
    /** GitHub `owner/name`. */
    repository: string;
    /** The pinned commit (40 hex digits). */
    commit: string;
    /** The file's path in that repository at that commit. */
    source: string;
    /** sha256 of the file as it is in the reference folder (after any redaction). */
    sha256: string;
    licence: string;
    /**
     * A credential the upstream file holds, replaced before the file is written: every JSON string member named
     * `field` gets the value `replacement`. `upstreamSha256` is the hash of the file as published.
     */
    redact?: { field: string; replacement: string; upstreamSha256: string };
    note?: string;
}

export function readReferenceList(file = REFERENCE_LIST_FILE): ReferenceFile[] {
    const list = JSON.parse(readFileSync(file, "utf8")) as { files?: ReferenceFile[] };
    if (!Array.isArray(list.files)) throw new Error(`${file}: no "files" list`);
    return list.files;
}

/**
 * The listed files a requirement names: a file ("iothub-service-swagger.json") or, ending with "/", a folder
 * ("azure-types/") meaning every listed file in it. A name the list does not have is a mistake in the caller:
 * nothing would ever fetch it.
 */
export function listedFiles(name: string, list = readReferenceList()): string[] {
    const files = list.map((entry) => entry.path).filter((file) => (name.endsWith("/") ? file.startsWith(name) : file === name));
    if (files.length === 0) throw new Error(`"${name}" is not in ${path.relative(PROJECT_ROOT, REFERENCE_LIST_FILE)}`);
    return files;
}

/**
 * What is missing of the named requirements, for a message: a folder as such when none of its files is there,
 * otherwise each missing file. Empty when everything is in place.
 */
export function missingReferences(names: string[]): string[] {
    const list = readReferenceList();
    return names.flatMap((name) => {
        const files = listedFiles(name, list);
        const missing = files.filter((file) => !existsSync(referencePath(file)));
        return name.endsWith("/") && missing.length === files.length ? [name] : missing;
    });
}

/** Says what is missing, where it was looked for and how to get it. */
export function missingReferenceMessage(missing: string[]): string {
    const { dir, chosenBy } = referenceDir();
    return `reference data missing: ${missing.join(", ")} (looked in ${dir}: ${chosenBy}); run \`${FETCH_COMMAND}\``;
}

/** The path of a reference file that must be there (scripts that fail rather than skip), or an error saying why not. */
export function existingReference(name: string): string {
    const missing = missingReferences([name]);
    if (missing.length > 0) throw new Error(missingReferenceMessage(missing));
    return referencePath(name);
}

function isDirectory(dir: string): boolean {
    try {
        return statSync(dir).isDirectory();
    } catch {
        return false;
    }
}
