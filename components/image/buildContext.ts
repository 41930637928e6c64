// A content hash of a Docker build context, honouring its .dockerignore, so the image tag changes exactly when
// something the build can see changes (and not when a local __pycache__ or test cache does).
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";

export function hashBuildContext(context: string): string {
    const ignored = readDockerignore(context);
    const hash = createHash("sha256");
    for (const file of listFiles(context, ignored)) {
        // Path and content both count: renaming a file changes what the Dockerfile copies.
        hash.update(file)
            .update("\0")
            .update(fs.readFileSync(path.join(context, file)))
            .update("\0");
    }
    return hash.digest("hex");
}

// Docker reads these even when .dockerignore lists them (scoring/'s starts with `*`): a changed Dockerfile must
// change the hash, and so the tag, like any other input of the build.
const ALWAYS_SENT = ["Dockerfile", ".dockerignore"];

/**
 * Files of the context that the Docker daemon would receive, as sorted forward-slash paths. An excluded folder is
 * still searched when an exception (`!model/model.json` after `*`) could re-include a file below it, as Docker does.
 */
export function listFiles(context: string, ignored = readDockerignore(context)): string[] {
    const files: string[] = [];
    const walk = (relative: string) => {
        // Code-unit order, not localeCompare: collation follows the machine's locale (da_DK sorts "aa" after
        // "z"), and the hash, hence the image tag, must be the same on every machine that plans this tree.
        for (const entry of fs
            .readdirSync(path.join(context, relative), { withFileTypes: true })
            .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
            const entryPath = relative ? `${relative}/${entry.name}` : entry.name;
            if (entry.isDirectory()) {
                if (!ignored(entryPath) || ignored.reincludesBelow(entryPath)) walk(entryPath);
            } else if (entry.isFile() && (!ignored(entryPath) || ALWAYS_SENT.includes(entryPath))) files.push(entryPath);
        }
    };
    walk("");
    return files;
}

/** Whether a relative path is excluded, and whether an exception might re-include something below a folder. */
export interface IgnoreRules {
    (relativePath: string): boolean;
    reincludesBelow(folder: string): boolean;
}

/** The .dockerignore patterns (*, **, ?, leading !) as Docker applies them: the last match wins. */
export function readDockerignore(context: string): IgnoreRules {
    const file = path.join(context, ".dockerignore");
    const rules = fs.existsSync(file)
        ? fs
              .readFileSync(file, "utf8")
              .split(/\r?\n/)
              .map((line) => line.trim())
              .filter((line) => line !== "" && !line.startsWith("#"))
              .map((line) => {
                  const glob = line.replace(/^!/, "").replace(/^\/+|\/+$/g, "");
                  // The part before the first wildcard: an exception can only reach folders on that path.
                  return { exclude: !line.startsWith("!"), glob, literalPrefix: glob.split(/[*?[]/)[0], pattern: globToRegExp(glob) };
              })
        : [];
    const ignored = (relativePath: string) => {
        let excluded = false;
        for (const rule of rules) if (rule.pattern.test(relativePath)) excluded = rule.exclude;
        return excluded;
    };
    return Object.assign(ignored, {
        reincludesBelow: (folder: string) =>
            rules.some(
                (rule) => !rule.exclude && (rule.literalPrefix.startsWith(`${folder}/`) || `${folder}/`.startsWith(rule.literalPrefix)),
            ),
    });
}

function globToRegExp(glob: string): RegExp {
    let source = "";
    for (let i = 0; i < glob.length; i++) {
        const char = glob[i];
        if (char === "*" && glob[i + 1] === "*") {
            source += ".*";
            i += glob[i + 2] === "/" ? 2 : 1;
        } else if (char === "*") source += "[^/]*";
        else if (char === "?") source += "[^/]";
        else source += char.replace(/[.+^${}()|[\]\\]/g, "\\$&");
    }
    // A pattern that names a folder excludes everything below it too.
    return new RegExp(`^${source}(?:/.*)?$`);
}
