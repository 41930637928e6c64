// The build context of a scoring module, staged into one folder: edgeml's runtime, the user's folder, their
// requirements and the model, in the layout scoring/runtime/image/Dockerfile copies from. Docker builds the staged
// folder and the image tag hashes it, so all three (runtime, user code, model) decide the tag, and the folder must
// hold exactly what is staged. Copying runs nothing, so staging at preview is safe.
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { writeFileAtomically } from "../shared";
import { hashBuildContext, listFiles, readDockerignore } from "./buildContext";

export interface StagedFile {
    content: Buffer;
    mode: number;
}

/** Relative path in the staged context (forward slashes) → content. */
export type StagedFiles = Map<string, StagedFile>;

export interface ModuleSources {
    /** edgeml's runtime (scoring/runtime), absolute. */
    runtimeDir: string;
    /** The user's scoringDir, absolute. */
    appDir: string;
    /** The local model file or folder, absolute; left out of app/ when it lies inside the user's folder. */
    modelPath?: string;
    /** pip requirement lines converted from the user's conda file. */
    requirements: string[];
}

/** Where the model sits in the context; the Dockerfile copies this folder to azureml-models/<name>/<version>/. */
export const MODEL_DIR_IN_CONTEXT = "model";

// Never part of a module: caches and environments that a developer's folder accumulates.
const ALWAYS_LEFT_OUT = /(^|\/)(__pycache__|\.pytest_cache|\.venv|venv|\.git|\.mypy_cache)(\/|$)|\.py[co]$/;
// What the image copies from the runtime; its tests and benchmarks stay out.
const RUNTIME_PARTS = ["api", "edgeml_server", "requirements.txt", "image/omit_requirements.py"];

/** The staged files, but for the model (see localModelFiles and the registered model's download). */
export function moduleContextFiles(sources: ModuleSources, model: StagedFiles): StagedFiles {
    const files: StagedFiles = new Map();
    files.set("Dockerfile", readStaged(path.join(sources.runtimeDir, "image", "Dockerfile")));
    for (const part of RUNTIME_PARTS) {
        const source = path.join(sources.runtimeDir, part);
        if (fs.statSync(source).isFile()) files.set(`runtime/${part}`, readStaged(source));
        else for (const file of walk(source)) files.set(`runtime/${part}/${file}`, readStaged(path.join(source, file)));
    }
    const modelInApp = sources.modelPath && relativeInside(sources.appDir, sources.modelPath);
    for (const file of listFiles(sources.appDir, readDockerignore(sources.appDir))) {
        if (ALWAYS_LEFT_OUT.test(file)) continue;
        if (modelInApp && (file === modelInApp || file.startsWith(`${modelInApp}/`))) continue;
        files.set(`app/${file}`, readStaged(path.join(sources.appDir, file)));
    }
    const requirements = sources.requirements.length ? `${sources.requirements.join("\n")}\n` : "";
    files.set("requirements.txt", { content: Buffer.from(requirements), mode: 0o644 });
    for (const [file, content] of model) files.set(file, content);
    return files;
}

/** A local model file as model/<name>, or a folder as model/<folder name>/<its files>. */
export function localModelFiles(modelPath: string): StagedFiles {
    const files: StagedFiles = new Map();
    const base = `${MODEL_DIR_IN_CONTEXT}/${path.basename(modelPath)}`;
    if (fs.statSync(modelPath).isFile()) files.set(base, readStaged(modelPath));
    // Every file of a model folder, as its registration uploads them all (and as its sha256 counts them).
    else for (const file of walk(modelPath, "", false)) files.set(`${base}/${file}`, readStaged(path.join(modelPath, file)));
    return files;
}

/** Writes `files` into `destination` (made to hold exactly them); returns the folder's content hash and files. */
export function writeStagedContext(destination: string, files: StagedFiles, sources: string[]): { sha256: string; files: string[] } {
    const target = path.resolve(destination);
    const inside = (a: string, b: string) => a === b || a.startsWith(b + path.sep);
    // Cleaning the destination deletes files: it must never hold a source.
    for (const source of sources.map((s) => path.resolve(s)))
        if (inside(source, target) || inside(target, source))
            throw new pulumi.RunError(`staging folder ${target} overlaps ${source}, which it is staged from`);
    fs.mkdirSync(target, { recursive: true });
    removeStale(target, new Set(files.keys()));
    for (const [file, { content, mode }] of files) writeIfChanged(path.join(target, file), content, mode);
    return { sha256: hashBuildContext(target), files: [...files.keys()].sort() };
}

function readStaged(file: string): StagedFile {
    // Executable bits survive (a user's shell script); nothing else of the mode matters to the image.
    return { content: fs.readFileSync(file), mode: fs.statSync(file).mode & 0o111 ? 0o755 : 0o644 };
}

/** Files under a folder as sorted forward-slash paths (caches left out unless told); code-unit order, as buildContext's. */
function walk(root: string, relative = "", leaveOutCaches = true): string[] {
    const files: string[] = [];
    for (const entry of fs
        .readdirSync(path.join(root, relative), { withFileTypes: true })
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
        const file = relative ? `${relative}/${entry.name}` : entry.name;
        if (leaveOutCaches && ALWAYS_LEFT_OUT.test(file)) continue;
        if (entry.isDirectory()) files.push(...walk(root, file, leaveOutCaches));
        else if (entry.isFile()) files.push(file);
    }
    return files;
}

function relativeInside(folder: string, file: string): string | undefined {
    const relative = path.relative(folder, file);
    return relative && !relative.startsWith("..") && !path.isAbsolute(relative) ? relative.split(path.sep).join("/") : undefined;
}

/** Deletes what is not staged (stale files, leftover temp files, emptied folders) so the folder matches exactly. */
export function removeStale(root: string, keep: Set<string>, relative = ""): void {
    for (const entry of fs.readdirSync(path.join(root, relative), { withFileTypes: true })) {
        const file = relative ? `${relative}/${entry.name}` : entry.name;
        if (entry.isDirectory() && [...keep].some((k) => k.startsWith(`${file}/`))) removeStale(root, keep, file);
        else if (!(entry.isFile() && keep.has(file))) fs.rmSync(path.join(root, file), { recursive: true, force: true });
    }
}

/** Unchanged files are left alone (same bytes and mode), so restaging an unchanged module touches nothing. */
export function writeIfChanged(file: string, content: Buffer, mode: number): void {
    const current = fs.statSync(file, { throwIfNoEntry: false });
    if (current?.isFile() && (current.mode & 0o777) === mode && fs.readFileSync(file).equals(content)) return;
    writeFileAtomically(file, content, mode);
}
