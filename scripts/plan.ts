// `npm start [-- --stack <name>]`: the offline plan. Runs the program under the offline engine with the
// stack's configuration, prints what `pulumi up` would create, and writes out/<stack>/plan.json.
import * as fs from "fs";
import * as path from "path";
import { ConfigError } from "../components/config";
import { StackFileError, findProjectDir, runOffline } from "../test/support/offline-engine";
import { formatPlan } from "./plan-format";
import { parseArgs, UsageError } from "./args";

async function main(): Promise<void> {
    const args = parseArgs(process.argv.slice(2), { stack: "dev" });
    const projectDir = findProjectDir();
    const { plan } = await runOffline({ stack: args.stack, projectDir });
    const outDir = path.join(projectDir, "out", args.stack);
    fs.mkdirSync(outDir, { recursive: true });
    fs.writeFileSync(path.join(outDir, "plan.json"), JSON.stringify(plan, null, 2) + "\n");
    console.log(formatPlan(plan));
    console.log(`Plan written to ${path.relative(process.cwd(), path.join(outDir, "plan.json"))}`);
}

if (process.env.EDGEML_REPORT_PEAK_MEMORY) {
    // For the benchmark: the whole process's peak resident memory, reported as it exits.
    process.on("exit", () => console.error(`peak-memory-kib=${process.resourceUsage().maxRSS}`));
}

main().catch((error: unknown) => {
    // User mistakes get their message only; anything else is a bug and keeps its stack trace.
    const userMistake = error instanceof ConfigError || error instanceof StackFileError || error instanceof UsageError;
    console.error(userMistake ? (error as Error).message : error);
    process.exit(1);
});
