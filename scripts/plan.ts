// `npm start [-- --stack <name>] [--diff <plan.json | git ref>]`: the offline plan. Runs the program under the
// offline engine with the stack's configuration, prints what `pulumi up` would create, and writes
// out/<stack>/plan.json. With --diff it prints instead what would change compared with a previous plan.
import * as fs from "fs";
import * as path from "path";
import { EDGE_DEPLOYMENT_TYPE } from "../components/iot";
import { DeploymentManifest, redactManifest } from "../components/iot/manifest";
import { isUserFacing, UsageError } from "../components/shared";
import { loadConfig } from "../components/config";
import { findProjectDir, OfflinePlan, readStackConfig, runOffline } from "../offline";
import { flagsTakenByNpm, parseArgs } from "./args";
import { diffPlans, isEmptyDiff } from "./plan-diff";
import { formatPlanDiff } from "./plan-diff-format";
import { formatPlan } from "./plan-format";
import { loadPreviousPlan } from "./plan-source";

const USAGE = `usage: npm start -- [-s <stack>] [--preview | --diff <plan.json | git ref>] [--json | --wide] [--expect-no-changes]
  -s, --stack <name>         the stack, as in Pulumi.<name>.yaml (default: dev)
  --diff <plan.json | ref>   what would change against a saved plan, or against the plan of a git ref (e.g. main)
  --preview                  the dry run a first \`pulumi preview\` makes: what creation decides (ids, keys, digests)
                             is unknown, shown as output<string>
  --json                     the plan, or the diff, as JSON on stdout for scripts (everything else on stderr)
  --wide                     every value of the plan whole (without it, long values are cut with …)
  --expect-no-changes        with --diff: exit 1 when anything would change, as pulumi preview --expect-no-changes
  -h, --help                 this help
Writes out/<stack>/plan.json and out/<stack>/deployment.json. A diff that would replace or delete a protected
resource exits 1, as \`pulumi up\` would fail on it.`;

const SWITCHES = ["json", "wide", "expect-no-changes", "preview", "help"] as const;

async function main(): Promise<number> {
    const args = parseArgs(process.argv.slice(2), { stack: "dev", diff: "" }, { switches: SWITCHES, aliases: { s: "stack", h: "help" } });
    if (args.help) {
        console.log(USAGE);
        return 0;
    }
    if (args["expect-no-changes"] && !args.diff)
        throw new UsageError("--expect-no-changes needs --diff <plan.json | git ref> to compare with");
    if (args.preview && args.diff)
        throw new UsageError("--preview shows a first preview; --diff compares with a previous plan: use one of them");
    // The diff cuts the values it compares, as pulumi preview --diff does; its JSON holds the changed inputs whole.
    if (args.wide && args.diff) throw new UsageError("--wide shows the plan's values whole; for a diff's, use --diff with --json");
    if (args.wide && args.json) throw new UsageError("--json holds every value whole already: use one of --json and --wide");
    const projectDir = findProjectDir();
    // Read before this run writes: `--diff out/<stack>/plan.json` means the plan of the previous run.
    const previous = args.diff ? loadPreviousPlan(args.diff, args.stack, projectDir) : undefined;
    // The previous plan stands in for the stack's state, as in `pulumi up` (the model's version numbering).
    const { plan, warnings, standIns } = await runOffline({
        stack: args.stack,
        projectDir,
        previous: previous?.plan,
        preview: args.preview,
    });
    for (const warning of warnings) console.error(`warning: ${warning}`);
    // What the configuration decided for the user (a dropped conda entry, the image's Python) and could not check, as
    // `pulumi preview` shows them; the program ran the same loader, so these are its notes, read again here.
    const config = loadConfig({ stack: args.stack, values: readStackConfig(args.stack, projectDir).values, projectDir });
    for (const note of config.notes) console.error(`note: ${note}`);
    for (const warning of config.warnings) console.error(`warning: ${warning}`);
    const outDir = path.join(projectDir, "out", args.stack);
    fs.mkdirSync(outDir, { recursive: true });
    const written = [writeJson(path.join(outDir, "plan.json"), plan)];
    const manifest = deploymentManifestOf(plan);
    if (manifest) written.push(writeJson(path.join(outDir, "deployment.json"), redactManifest(manifest)));
    // With --json, stdout carries the JSON alone.
    const say = args.json ? console.error : console.log;
    let status = 0;
    if (previous) {
        const diff = await diffPlans(previous.plan, plan);
        if (args.json) console.log(JSON.stringify(diff, null, 2));
        else console.log(formatPlanDiff(diff, { stack: args.stack, source: previous.source }));
        if (diff.resources.some((r) => r.blockedByProtect)) status = 1;
        if (args["expect-no-changes"] && !isEmptyDiff(diff)) {
            say(`--expect-no-changes: the plan differs from ${previous.source}`);
            status = 1;
        }
    } else if (args.json) {
        console.log(JSON.stringify(plan, null, 2));
    } else {
        console.log(formatPlan(plan, args.preview, { wide: args.wide, standIns }));
    }
    say(`Written: ${written.map((file) => path.relative(process.cwd(), file)).join(", ")}`);
    return status;
}

function writeJson(file: string, value: unknown): string {
    fs.writeFileSync(file, JSON.stringify(value, null, 2) + "\n");
    return file;
}

/** The manifest the deployment would apply, from the plan (its credentials already redacted there). */
function deploymentManifestOf(plan: OfflinePlan): DeploymentManifest | undefined {
    return plan.resources.find((r) => r.type === EDGE_DEPLOYMENT_TYPE)?.inputs.content as DeploymentManifest | undefined;
}

if (process.env.EDGEML_REPORT_PEAK_MEMORY) {
    // For the benchmark: the whole process's peak resident memory, reported as it exits.
    process.on("exit", () => console.error(`peak-memory-kib=${process.resourceUsage().maxRSS}`));
}

// exitCode, not exit(): a large --json document on a pipe is still being written when main() returns.
main().then(
    (status) => void (process.exitCode = status),
    (error: unknown) => fail(error),
);

function fail(error: unknown): never {
    // User mistakes (config, stack files, flags, a previous plan) and what Azure's state makes unusable (an existing
    // registry's admin user off) get their message only, as the Pulumi CLI prints them; anything else is a bug and
    // keeps its stack trace.
    console.error(isUserFacing(error) ? (error as Error).message : error);
    if (error instanceof UsageError) {
        const npmHint = flagsTakenByNpm(["stack", "diff", ...SWITCHES]);
        if (npmHint) console.error(npmHint);
        console.error(USAGE);
    }
    process.exit(1);
}
