// A throwaway copy of the project, for tests that change its files (score.py, a stack file) or commit it to a
// git repository of their own, and run the offline plan on the copy. The repository itself is never touched.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { REPO_ROOT } from "../../offline/engine";

/**
 * Copies the project's files into a new temp folder and links node_modules into it. "The project's files" are
 * what git would commit: tracked files and untracked ones that are not ignored (work in progress included, so
 * the copy plans like the checkout does), without out/, caches or virtual environments.
 */
export function copyProject(from = REPO_ROOT): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "edgeml-project-"));
    const listed = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: from, encoding: "utf8" });
    for (const file of new Set(listed.split("\0").filter(Boolean))) {
        const source = path.join(from, file);
        // Deleted in the checkout but still in the index: not part of the tree being planned.
        if (!fs.existsSync(source) || !fs.statSync(source).isFile()) continue;
        fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
        fs.copyFileSync(source, path.join(dir, file));
    }
    fs.symlinkSync(path.join(from, "node_modules"), path.join(dir, "node_modules"), "dir");
    return dir;
}

/** Removes a copy; the node_modules link first, so nothing can reach into the real one. */
export function removeProject(dir: string): void {
    const link = path.join(dir, "node_modules");
    if (fs.existsSync(link) && fs.lstatSync(link).isSymbolicLink()) fs.unlinkSync(link);
    fs.rmSync(dir, { recursive: true, force: true });
}

/** git in `cwd` with a throwaway identity and no signing, so commits work on any machine. */
export function git(cwd: string, ...args: string[]): string {
    return execFileSync(
        "git",
        ["-c", "user.name=x", "-c", "user.email=x@y", "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main", ...args],
        {
            cwd,
            encoding: "utf8",
        },
    );
}
