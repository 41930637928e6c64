// The offline plan as a user runs it: a child process, its output, its exit code and the file it writes.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { Output } from "@pulumi/pulumi";
import { outputValue, REPO_ROOT, runOffline } from "../offline/engine";

function plan(args: string[], cwd = REPO_ROOT) {
    const script = path.join(REPO_ROOT, "scripts", "plan.ts");
    const tsx = require.resolve("tsx");
    return spawnSync(process.execPath, ["--import", tsx, script, ...args], { cwd, encoding: "utf8", timeout: 60_000 });
}

describe("npm start (the offline plan)", () => {
    it("prints the dev plan grouped by component and writes out/dev/plan.json", () => {
        const result = plan([]);
        assert.strictEqual(result.status, 0, result.stderr);
        assert.match(result.stdout, /stack "dev"/);
        assert.match(result.stdout, /^registry \(edgeml:registry:ContainerRegistry\)$/m);
        assert.match(result.stdout, /waits on: resource-group/);
        assert.match(result.stdout, /registryAdminPassword = "\[secret\]"/);
        const written = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "out", "dev", "plan.json"), "utf8"));
        assert.strictEqual(written.stack, "dev");
        assert.ok(written.resources.every((r: any) => typeof r.type === "string" && Array.isArray(r.dependencies)));
    });

    it("writes out/dev/deployment.json: the manifest as applied, credentials redacted", async () => {
        const result = plan([]);
        assert.strictEqual(result.status, 0, result.stderr);
        const text = fs.readFileSync(path.join(REPO_ROOT, "out", "dev", "deployment.json"), "utf8");
        const manifest = JSON.parse(text);
        const desired = manifest.modulesContent.$edgeAgent["properties.desired"];
        assert.strictEqual(desired.schemaVersion, "1.1");
        assert.match(desired.modules.scoring.settings.image, /^edgemldevacr\.azurecr\.io\/edgeml\/scoring@sha256:[0-9a-f]{64}$/);
        assert.strictEqual(desired.runtime.settings.registryCredentials.edgemldevacr.password, "[secret]");
        // The password the child process's run used: offline runs are deterministic, so this run's is the same.
        const { exports } = await runOffline({ stack: "dev" });
        const password = await outputValue(exports.registryAdminPassword as Output<string>);
        assert.ok(password.length > 0 && !text.includes(password), "no registry password in the review copy");
        assert.strictEqual(manifest.modulesContent.$edgeHub["properties.desired"].schemaVersion, "1.2");
        assert.match(result.stdout, /Written: out\/dev\/plan\.json, out\/dev\/deployment\.json/);
    });

    describe("with a broken stack file", () => {
        let projectDir: string;
        before(() => {
            projectDir = fs.mkdtempSync(path.join(os.tmpdir(), "edgeml-plan-"));
            fs.copyFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), path.join(projectDir, "Pulumi.yaml"));
            fs.symlinkSync(path.join(REPO_ROOT, "index.ts"), path.join(projectDir, "index.ts"));
            fs.writeFileSync(
                path.join(projectDir, "Pulumi.broken.yaml"),
                "config:\n  edgeml:iotHubSku: B1\n  edgeml:keyVaultName: 9vault\n",
            );
        });
        after(() => fs.rmSync(projectDir, { recursive: true, force: true }));

        it("exits non-zero with the validation message and no stack trace, writing no plan", () => {
            const result = plan(["--stack", "broken"], projectDir);
            assert.strictEqual(result.status, 1);
            assert.match(result.stderr, /edgeml:iotHubSku = "B1" is invalid: basic-tier hubs have no module twins/);
            assert.match(result.stderr, /edgeml:keyVaultName = "9vault" is invalid/);
            assert.doesNotMatch(result.stderr, /\n\s+at /);
            assert.ok(!fs.existsSync(path.join(projectDir, "out")));
        });

        it("names the stacks that exist when asked for one that does not", () => {
            const result = plan(["--stack", "nosuch"], projectDir);
            assert.strictEqual(result.status, 1);
            assert.match(result.stderr, /no stack file Pulumi\.nosuch\.yaml; stacks here: broken/);
        });
    });

    it("rejects an unknown flag with usage help", () => {
        const result = plan(["--stak", "dev"]);
        assert.strictEqual(result.status, 1);
        assert.match(result.stderr, /unknown argument "--stak"; accepted: --stack <value>/);
    });
});
