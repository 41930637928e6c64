// `npm start [-- --stack <name>] [--diff <plan.json | git ref>]`: the offline plan. Runs the program under the
// offline engine with the stack's configuration, prints what `pulumi up` would create, and writes
// out/<stack>/plan.json. With --diff it prints instead what would change compared with a previous plan.
import * as fs from "fs";
import * as path from "path";
import { EDGE_DEPLOYMENT_TYPE } from "../components/iot";
import { DeploymentManifest, redactManifest } from "../components/iot/manifest";
import { isUserFacing } from "../components/shared";
import { findProjectDir, OfflinePlan, runOffline } from "../offline";
import { parseArgs } from "./args";
import { diffPlans } from "./plan-diff";
import { formatPlanDiff } from "./plan-diff-format";
import { formatPlan } from "./plan-format";
import { loadPreviousPlan } from "./plan-source";

async function main(): Promise<void> {
    const args = parseArgs(process.argv.slice(2), { stack: "dev", diff: "" });
    const projectDir = findProjectDir();
    // Read before this run writes: `--diff out/<stack>/plan.json` means the plan of the previous run.
    const previous = args.diff ? loadPreviousPlan(args.diff, args.stack, projectDir) : undefined;
    const { plan } = await runOffline({ stack: args.stack, projectDir });
    const outDir = path.join(projectDir, "out", args.stack);
    fs.mkdirSync(outDir, { recursive: true });
    const written = [writeJson(path.join(outDir, "plan.json"), plan)];
    const manifest = deploymentManifestOf(plan);
    if (manifest) written.push(writeJson(path.join(outDir, "deployment.json"), redactManifest(manifest)));
    if (previous) console.log(formatPlanDiff(await diffPlans(previous.plan, plan), { stack: args.stack, source: previous.source }));
    else console.log(formatPlan(plan));
    console.log(`Written: ${written.map((file) => path.relative(process.cwd(), file)).join(", ")}`);
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

main().catch((error: unknown) => {
    // User mistakes (config, stack files, flags, a previous plan) and what Azure's state makes unusable (an existing
    // registry's admin user off) get their message only, as the Pulumi CLI prints them; anything else is a bug and
    // keeps its stack trace.
    console.error(isUserFacing(error) ? (error as Error).message : error);
    process.exit(1);
});
