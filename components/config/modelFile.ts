// What the project needs to know about a model, a file or a folder in any format: its content hash (the version, the
// image tag and the registration's sha256 property) and, where the model says, which framework trained it (recorded
// on the registration): the portable JSON model of the temperature-anomaly example says so, and so does an MLflow model's
// MLmodel file.
//
// A folder's sha256 (so anyone can recompute it) is SHA-256 over, for each regular file below the folder (symbolic
// links followed) in the order of their relative paths' UTF-8 bytes, the concatenation of:
//     the relative path, "/"-separated, in UTF-8 | 0x00 | the file's size in bytes, in decimal ASCII | 0x00 | its bytes
// Paths count, so a renamed file is a new model; the size prefix keeps file boundaries unambiguous. In Python:
//     h = hashlib.sha256()
//     for rel in sorted(files):   # str order is code point order, which is UTF-8 byte order
//         data = open(os.path.join(folder, rel), "rb").read()
//         h.update(rel.encode() + b"\0" + str(len(data)).encode() + b"\0" + data)
// Every file counts, hidden ones included, as Azure ML uploads them all. A single file's sha256 is that of its bytes.
import { createHash, type Hash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";

export interface ModelFileInfo {
    sha256: string;
    framework: string;
    frameworkVersion: string;
}

export interface ModelPathInfo extends ModelFileInfo {
    kind: "file" | "folder";
    /** A folder's files as hashed (relative, "/"-separated, in hashing order); empty for a file. */
    files: string[];
    /** A folder with MLflow's MLmodel file at its top: an MLflow model. */
    mlflow: boolean;
}

/** The file or folder at an existing path (the caller checks it exists); a folder without files has `files: []`. */
export function describeModelPath(modelPath: string): ModelPathInfo {
    if (!fs.statSync(modelPath).isDirectory()) return { ...describeModelFile(modelPath), kind: "file", files: [], mlflow: false };
    const files = listModelFiles(modelPath);
    const hash = createHash("sha256");
    for (const file of files) {
        const absolute = path.join(modelPath, file);
        hash.update(Buffer.from(file, "utf8"))
            .update("\0")
            .update(String(fs.statSync(absolute).size))
            .update("\0");
        hashFileInto(hash, absolute);
    }
    const mlflow = files.includes(MLMODEL_FILE);
    return {
        sha256: hash.digest("hex"),
        ...(mlflow ? mlflowFramework(path.join(modelPath, MLMODEL_FILE)) : UNKNOWN),
        kind: "folder",
        files,
        mlflow,
    };
}

/** The file's sha256 and, for a portable JSON model that names them (the example's), its framework fields. */
export function describeModelFile(file: string): ModelFileInfo {
    const hash = createHash("sha256");
    hashFileInto(hash, file);
    let metadata: { framework?: unknown; frameworkVersion?: unknown } = {};
    // A model of gigabytes is not JSON worth parsing for two fields; its hash is read in pieces above.
    if (fs.statSync(file).size <= JSON_METADATA_LIMIT) {
        try {
            metadata = JSON.parse(fs.readFileSync(file, "utf8"));
        } catch {
            // Not JSON (a pickle or ONNX file): the framework is simply not known.
        }
    }
    return {
        sha256: hash.digest("hex"),
        framework: typeof metadata?.framework === "string" ? metadata.framework : "unknown",
        frameworkVersion: typeof metadata?.frameworkVersion === "string" ? metadata.frameworkVersion : "unknown",
    };
}

/** The file MLflow writes at the top of every model folder it saves, naming the model's flavors. */
export const MLMODEL_FILE = "MLmodel";

const JSON_METADATA_LIMIT = 16 * 1024 * 1024;
const UNKNOWN = { framework: "unknown", frameworkVersion: "unknown" };

/** The framework flavor MLmodel names beside the generic python_function one, and its `<flavor>_version`. */
function mlflowFramework(mlmodel: string): { framework: string; frameworkVersion: string } {
    let flavors: Record<string, unknown> = {};
    try {
        const document = yaml.load(fs.readFileSync(mlmodel, "utf8")) as { flavors?: Record<string, unknown> } | null;
        flavors = document?.flavors && typeof document.flavors === "object" ? document.flavors : {};
    } catch {
        // An MLmodel that does not parse: MLflow will say so when it loads the model; here the framework is unknown.
    }
    const framework = Object.keys(flavors).find((flavor) => flavor !== "python_function");
    if (!framework) return UNKNOWN;
    const fields = (flavors[framework] ?? {}) as Record<string, unknown>;
    const version = Object.entries(fields).find(([key, value]) => key.endsWith("_version") && typeof value === "string")?.[1];
    return { framework, frameworkVersion: typeof version === "string" ? version : "unknown" };
}

/** Regular files below a folder, relative and "/"-separated, in UTF-8 byte order of their paths. */
function listModelFiles(folder: string): string[] {
    const files: string[] = [];
    // Real paths of the folders being walked: a symbolic link back up the tree is not followed round forever.
    const walking = new Set<string>();
    const walk = (relative: string) => {
        const absolute = path.join(folder, relative);
        const real = fs.realpathSync(absolute);
        if (walking.has(real)) return;
        walking.add(real);
        for (const name of fs.readdirSync(absolute)) {
            const child = relative ? `${relative}/${name}` : name;
            const stat = fs.statSync(path.join(folder, child), { throwIfNoEntry: false });
            if (stat?.isDirectory()) walk(child);
            else if (stat?.isFile()) files.push(child);
        }
        walking.delete(real);
    };
    walk("");
    // UTF-8 byte order is code point order: what Python's sorted() gives, unlike JavaScript's UTF-16 default sort.
    return files.sort((a, b) => Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8")));
}

/** Adds a file's bytes to a hash a megabyte at a time, so a model of any size fits in memory. */
function hashFileInto(hash: Hash, file: string): void {
    const descriptor = fs.openSync(file, "r");
    try {
        const buffer = Buffer.alloc(1024 * 1024);
        for (let read = fs.readSync(descriptor, buffer); read > 0; read = fs.readSync(descriptor, buffer)) {
            hash.update(buffer.subarray(0, read));
        }
    } finally {
        fs.closeSync(descriptor);
    }
}
