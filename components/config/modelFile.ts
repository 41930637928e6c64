// What the project needs to know about a model file: its content hash (the version, the image tag and the
// registration's sha256 property) and which framework trained it (recorded on the registration).
import { createHash } from "crypto";
import * as fs from "fs";

export interface ModelFileInfo {
    sha256: string;
    framework: string;
    frameworkVersion: string;
}

/** Reads the file once; framework fields come from the portable JSON model that scoring/train.py writes. */
export function describeModelFile(file: string): ModelFileInfo {
    const bytes = fs.readFileSync(file);
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    let metadata: { framework?: unknown; frameworkVersion?: unknown } = {};
    try {
        metadata = JSON.parse(bytes.toString("utf8"));
    } catch {
        // Not JSON (a pickle or ONNX file): the framework is simply not known.
    }
    return {
        sha256,
        framework: typeof metadata.framework === "string" ? metadata.framework : "unknown",
        frameworkVersion: typeof metadata.frameworkVersion === "string" ? metadata.frameworkVersion : "unknown",
    };
}
