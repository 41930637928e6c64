// The previous plan for `npm start -- --diff <plan.json | git ref>`: a plan file written by an earlier run, or
// the plan of a git commit, computed by that commit's own scripts/plan.ts in a throwaway copy of its tree (so a
// pull request is compared with its base exactly as the base would have planned itself), offline as always.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PlanSourceError } from "../components/shared";
import type { OfflinePlan } from "../offline";

/** A --diff argument that cannot be used: reported as its message alone, exit code 1. */

export interface PreviousPlan {
    plan: OfflinePlan;
    /** How to name it in the output: the file, or the ref with its short commit. */
    source: string;
}

/** A file wins over a ref of the same name; anything else must name a commit of the project's repository. */
export function loadPreviousPlan(argument: string, stack: string, projectDir: string): PreviousPlan {
    const file = path.resolve(argument);
    if (fs.existsSync(file) && fs.statSync(file).isFile()) {
        const plan = parsePlan(fs.readFileSync(file, "utf8"), argument);
        if (plan.stack !== stack)
            throw new PlanSourceError(`${argument} is the plan of stack "${plan.stack}", not "${stack}"; compare plans of the same stack`);
        return { plan, source: argument };
    }
    return planAtRef(argument, stack, projectDir);
}

/** The JSON of an OfflinePlan, checked for the fields the diff reads; anything else names the file. */
export function parsePlan(text: string, where: string): OfflinePlan {
    let value: unknown;
    try {
        value = JSON.parse(text);
    } catch (error) {
        throw new PlanSourceError(`${where} is not a plan.json: ${(error as Error).message}`);
    }
    const problem = planShapeProblem(value);
    if (problem) throw new PlanSourceError(`${where} is not a plan.json written by \`npm start\`: ${problem}`);
    return value as OfflinePlan;
}

function planShapeProblem(value: unknown): string | undefined {
    const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);
    if (!isObject(value)) return "not a JSON object";
    if (typeof value.stack !== "string") return "no stack name";
    if (!Array.isArray(value.resources)) return "no resources list";
    if (!Array.isArray(value.invokes)) return "no invokes list";
    if (!isObject(value.outputs)) return "no outputs object";
    for (const [index, r] of value.resources.entries()) {
        const ok =
            isObject(r) &&
            typeof r.urn === "string" &&
            typeof r.type === "string" &&
            typeof r.name === "string" &&
            (r.operation === "create" || r.operation === "read") &&
            typeof r.custom === "boolean" &&
            typeof r.protect === "boolean" &&
            Array.isArray(r.dependencies) &&
            isObject(r.inputs);
        if (!ok) return `resources[${index}] lacks urn, type, name, operation, custom, protect, dependencies or inputs`;
    }
    for (const [index, i] of value.invokes.entries()) {
        if (!isObject(i) || typeof i.token !== "string" || !isObject(i.inputs)) return `invokes[${index}] lacks token or inputs`;
    }
    return undefined;
}

function planAtRef(ref: string, stack: string, projectDir: string): PreviousPlan {
    const notFound = (why: string) => new PlanSourceError(`--diff "${ref}" is neither a plan file nor a git commit: ${why}`);
    // A leading "-" would reach git as an option.
    if (ref.startsWith("-")) throw notFound(`no file ${path.resolve(ref)}`);
    const verify = git(["rev-parse", "--verify", "--quiet", `${ref}^{commit}`], projectDir);
    if (verify.error) throw notFound(`no file ${path.resolve(ref)}, and git could not run (${verify.error.message})`);
    if (verify.status !== 0) {
        // --quiet silences "unknown revision"; what git still says (not a repository, dubious ownership) is the reason.
        const said = verify.stderr.trim().split("\n")[0];
        throw notFound(
            `no file ${path.resolve(ref)}, and ${said ? `git says: ${said}` : `no such commit in the repository at ${projectDir}`}`,
        );
    }
    const commit = verify.stdout.trim();
    const source = `${ref} (${commit.slice(0, 7)})`;
    // Where the project sits inside the repository: the same folder of the ref's tree is its project.
    const prefix = git(["rev-parse", "--show-prefix"], projectDir).stdout.trim();

    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "edgeml-plan-ref-"));
    let link: string | undefined;
    try {
        const tree = path.join(scratch, "tree");
        fs.mkdirSync(tree);
        // git archive reads the object store only: the checkout, index and worktree list stay untouched.
        const archive = path.join(scratch, "tree.tar");
        const archived = git(["archive", "--format=tar", "-o", archive, commit], projectDir);
        if (archived.status !== 0) throw new PlanSourceError(`cannot read the tree of ${source}: ${archived.stderr.trim()}`);
        const untar = spawnSync("tar", ["-xf", archive, "-C", tree], { encoding: "utf8" });
        if (untar.status !== 0)
            throw new PlanSourceError(`cannot unpack the tree of ${source}: ${untar.stderr?.trim() || untar.error?.message}`);

        const project = path.join(tree, prefix);
        if (!fs.existsSync(path.join(project, `Pulumi.${stack}.yaml`))) {
            // The stack is new in this change: before it, nothing existed.
            return {
                plan: { project: "", stack, resources: [], invokes: [], outputs: {} },
                source: `${source}, which has no Pulumi.${stack}.yaml`,
            };
        }
        const script = path.join(project, "scripts", "plan.ts");
        if (!fs.existsSync(script)) throw new PlanSourceError(`cannot plan ${source}: it has no scripts/plan.ts`);
        // The ref's own code runs against today's installed packages (a lockfile change is not reflected).
        link = path.join(project, "node_modules");
        fs.symlinkSync(nodeModulesDir(), link, "dir");
        const run = spawnSync(process.execPath, ["--import", require.resolve("tsx"), script, "--stack", stack], {
            cwd: project,
            encoding: "utf8",
            timeout: 180_000,
            maxBuffer: 64 * 1024 * 1024,
        });
        if (run.status !== 0) {
            const why = run.error ? run.error.message : run.stderr.trim() || run.stdout.trim() || `exit code ${run.status}`;
            throw new PlanSourceError(`the offline plan of ${source} failed:\n${why}`);
        }
        const written = path.join(project, "out", stack, "plan.json");
        if (!fs.existsSync(written)) throw new PlanSourceError(`the offline plan of ${source} wrote no out/${stack}/plan.json`);
        return { plan: parsePlan(fs.readFileSync(written, "utf8"), `the plan.json of ${source}`), source };
    } finally {
        // The link first, so the clean-up can never reach into the real node_modules.
        if (link) fs.unlinkSync(link);
        fs.rmSync(scratch, { recursive: true, force: true });
    }
}

function git(args: string[], cwd: string) {
    return spawnSync("git", args, { cwd, encoding: "utf8" });
}

/** The node_modules folder this process loads its packages from. */
function nodeModulesDir(): string {
    const pulumiPackage = require.resolve("@pulumi/pulumi/package.json");
    return path.resolve(path.dirname(pulumiPackage), "..", "..");
}
