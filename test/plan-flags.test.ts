// The offline plan's command line as users type it: help, short flags, the `--` npm needs, JSON for scripts,
// --expect-no-changes and the exit code of a diff that would touch a protected resource.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { UsageError } from "../components/shared";
import { REPO_ROOT, runOffline } from "../offline";
import { flagsTakenByNpm, parseArgs } from "../scripts/args";

function plan(args: string[], env: NodeJS.ProcessEnv = {}) {
    const script = path.join(REPO_ROOT, "scripts", "plan.ts");
    return spawnSync(process.execPath, ["--import", require.resolve("tsx"), script, ...args], {
        cwd: REPO_ROOT,
        encoding: "utf8",
        timeout: 60_000,
        env: { ...process.env, ...env },
    });
}

describe("npm start's flags", function () {
    this.timeout(60_000);

    it("parses --name value, --name=value, switches and short aliases, and names what it cannot take", () => {
        const options = { switches: ["json"] as const, aliases: { s: "stack" } };
        assert.deepStrictEqual(parseArgs(["-s", "prod", "--json"], { stack: "dev" }, options), { stack: "prod", json: true });
        assert.deepStrictEqual(parseArgs(["--stack=prod"], { stack: "dev" }, options), { stack: "prod", json: false });
        assert.deepStrictEqual(parseArgs(["-h"], { stack: "dev" }, { switches: ["help"] as const, aliases: { h: "help" } }), {
            stack: "dev",
            help: true,
        });
        assert.throws(
            () => parseArgs(["--stak", "prod"], { stack: "dev" }, options),
            (e: Error) => e instanceof UsageError && /unknown argument "--stak"; accepted: --stack <value>, --json/.test(e.message),
        );
        assert.throws(() => parseArgs(["--json=yes"], { stack: "dev" }, options), /--json takes no value/);
        assert.throws(
            () => parseArgs(["prod"], { stack: "dev" }, options),
            /npm keeps the flags before `--` for itself, so write `npm start -- --stack prod`/,
        );
        assert.match(
            flagsTakenByNpm(["stack", "json"], { npm_config_stack: "true" }) ?? "",
            /npm took --stack as its own option: put `--` before/,
        );
        assert.strictEqual(flagsTakenByNpm(["stack"], {}), undefined);
    });

    it("prints usage for --help and -h, and usage with the npm hint for a forgotten `--`", () => {
        // -h is --help's alias (parsed above); one run shows the text.
        const result = plan(["-h"]);
        assert.strictEqual(result.status, 0, result.stderr);
        for (const option of ["--stack", "-s", "--diff", "--preview", "--json", "--wide", "--expect-no-changes", "--help"])
            assert.ok(result.stdout.includes(option), option);
        // `npm start --stack prod` runs the script with just "prod" and npm_config_stack set.
        const forgotten = plan(["prod"], { npm_config_stack: "true" });
        assert.strictEqual(forgotten.status, 1);
        assert.match(forgotten.stderr, /npm took --stack as its own option/);
        assert.match(forgotten.stderr, /^usage: npm start -- /m);
        assert.doesNotMatch(forgotten.stderr, /\n\s+at /, "no stack trace");
    });

    it("--wide prints every value whole, ARM ids included; --json is the plan alone, without the text for people", () => {
        const wide = plan(["--wide"]);
        assert.strictEqual(wide.status, 0, wide.stderr);
        assert.ok(!wide.stdout.includes("…"), wide.stdout);
        assert.match(wide.stdout, /^ {2}scoringImageRef = "edgemldevacr\.azurecr\.io\/edgeml\/scoring@sha256:[0-9a-f]{64}"$/m);
        assert.match(wide.stdout, /storageAccount=\/subscriptions\/0{8}-0{4}-0{4}-0{4}-0{12}\/resourceGroups\/edgeml-dev-rg\/providers\//);
        assert.match(wide.stdout, /^ {2}sha256:[0-9a-f]{64} {2}the image's digest/m, "the stand-ins whole too");
        assert.doesNotMatch(wide.stdout, /Values cut with/);

        const json = plan(["--json"]);
        assert.strictEqual(json.status, 0, json.stderr);
        assert.strictEqual(JSON.parse(json.stdout).stack, "dev", "stdout is the JSON alone");
        assert.doesNotMatch(json.stdout + json.stderr, /Next steps|Offline stand-ins|Values cut/);

        // Neither combines: a diff's values whole are in its JSON, and JSON's are whole already.
        for (const [args, message] of [
            [["--wide", "--diff", "main"], /--wide shows the plan's values whole; for a diff's, use --diff with --json/],
            [["--wide", "--json"], /--json holds every value whole already/],
        ] as const) {
            const refused = plan([...args]);
            assert.strictEqual(refused.status, 1, args.join(" "));
            assert.match(refused.stderr, message);
        }
    });

    it("--json prints the diff as JSON on stdout; --expect-no-changes and a protected replacement exit 1", async () => {
        // A saved prod plan whose registry had another name: replacing the protected registry.
        const { plan: prod } = await runOffline({ stack: "prod" });
        const registry = prod.resources.find((r) => r.type === "azure-native:containerregistry:Registry")!;
        registry.inputs = { ...registry.inputs, registryName: "edgemlprodoldacr" };
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "edgeml-flags-"));
        const saved = path.join(dir, "plan.json");
        fs.writeFileSync(saved, JSON.stringify(prod));
        try {
            const result = plan(["-s", "prod", "--diff", saved, "--json"]);
            assert.strictEqual(result.status, 1, "a protected resource would be replaced");
            const diff = JSON.parse(result.stdout);
            const replaced = diff.resources.find((r: { type: string }) => r.type === "azure-native:containerregistry:Registry");
            assert.deepStrictEqual([replaced.kind, replaced.blockedByProtect], ["replace", true]);
            assert.match(result.stderr, /^Written: /m, "everything but the JSON goes to stderr");

            fs.writeFileSync(saved, JSON.stringify((await runOffline({ stack: "dev" })).plan));
            assert.strictEqual(plan(["--diff", saved, "--expect-no-changes"]).status, 0, "no changes");
            const devPlan = JSON.parse(fs.readFileSync(saved, "utf8"));
            devPlan.outputs.iotHubName = "another-hub";
            fs.writeFileSync(saved, JSON.stringify(devPlan));
            const changed = plan(["--diff", saved, "--expect-no-changes"]);
            assert.strictEqual(changed.status, 1);
            assert.match(changed.stdout + changed.stderr, /--expect-no-changes: the plan differs/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
