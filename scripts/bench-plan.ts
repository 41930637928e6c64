// `npm run bench`: wall time and peak memory of the offline plan, as a user runs it (a fresh node process per
// run: startup, TypeScript loading, the Pulumi SDK and the program). Prints figures; asserts nothing.
import { spawnSync } from "child_process";
import * as os from "os";
import * as path from "path";
import { parseArgs } from "./args";

const TARGET_WALL_MS = 3000;
const args = parseArgs(process.argv.slice(2), { stack: "dev", runs: "5" });
const runs = Number(args.runs);
const root = path.resolve(__dirname, "..");
const walls: number[] = [];
const peaks: number[] = [];

for (let i = 0; i < runs + 1; i++) {
    const started = process.hrtime.bigint();
    const result = spawnSync(
        process.execPath,
        ["--import", require.resolve("tsx"), path.join(root, "scripts", "plan.ts"), "--stack", args.stack],
        {
            cwd: root,
            encoding: "utf8",
            env: { ...process.env, EDGEML_REPORT_PEAK_MEMORY: "1" },
        },
    );
    const wall = Number(process.hrtime.bigint() - started) / 1e6;
    if (result.status !== 0) throw new Error(`offline plan failed:\n${result.stderr}`);
    const peakKiB = Number(/peak-memory-kib=(\d+)/.exec(result.stderr)?.[1]);
    // The first run warms the TypeScript transpile cache, as the user's first `npm start` after install does.
    if (i === 0) {
        console.log(`warm-up run: ${wall.toFixed(0)} ms`);
        continue;
    }
    walls.push(wall);
    peaks.push(peakKiB);
}

const sorted = [...walls].sort((a, b) => a - b);
const median = sorted[Math.floor(sorted.length / 2)];
console.log(`offline plan, stack ${args.stack}, ${runs} runs on ${os.cpus().length} cores`);
console.log(
    `  wall time: median ${median.toFixed(0)} ms, min ${sorted[0].toFixed(0)} ms, max ${sorted[sorted.length - 1].toFixed(0)} ms (target < ${TARGET_WALL_MS} ms)`,
);
console.log(`  peak memory (max RSS): ${(Math.max(...peaks) / 1024).toFixed(0)} MiB`);
