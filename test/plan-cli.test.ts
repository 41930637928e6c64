// The offline plan as a user runs it: a child process, its output, its exit code and the file it writes.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { Output } from "@pulumi/pulumi";
import { OFFLINE_SUBSCRIPTION_ID, OFFLINE_TENANT_ID } from "../offline/azure-answers";
import { outputValue, REPO_ROOT, runOffline } from "../offline/engine";
import { formatPlan } from "../scripts/plan-format";

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
        // Where a value is cut, the way to see it whole; the plan ends with the commands that deploy the stack.
        assert.match(result.stdout, /^ {2}scoringImageRef = "edgemldevacr\.azurecr\.io\/edgeml\/scoring@sha256:[0-9a-f]+…$/m);
        assert.match(
            result.stdout,
            /^Values cut with …: `npm start -- --stack dev --wide` shows them whole; `--json` and out\/dev\/plan\.json hold them too\.$/m,
        );
        assert.match(result.stdout, /^Next steps, to deploy stack "dev" to Azure:$/m);
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

    it("labels what the offline engine made up for what only Azure knows, leaving plan.json's inputs as registered", async () => {
        const { plan: devPlan, standIns } = await runOffline({ stack: "dev" });
        const text = formatPlan(devPlan, false, { standIns });
        const legend = text
            .slice(text.indexOf("Offline stand-ins, made up for what only Azure knows"), text.indexOf("\nValues cut"))
            // Its entries unwrapped: one line each.
            .replace(/\n {6}/g, " ");
        assert.match(
            legend,
            new RegExp(`^ {2}${OFFLINE_SUBSCRIPTION_ID} {2}your subscription's id \\(\`az account show --query id\`\\)`, "m"),
        );
        assert.match(legend, new RegExp(`^ {2}${OFFLINE_TENANT_ID} {2}your Microsoft Entra tenant's id`, "m"));
        assert.match(legend, /^ {2}azureml-blobstore-[0-9a-f-]{21}… {2}the workspace's default datastore container, which Azure ML names/m);
        assert.match(
            legend,
            /^ {2}sha256:[0-9a-f]{32}… {2}the image's digest, which the registry computes when `pulumi up` pushes the image$/m,
        );
        // Each is what the plan holds, unmarked: the URNs, inputs and tests that pin them are unchanged.
        const vault = devPlan.resources.find((r) => r.type === "azure-native:keyvault:Vault")!;
        assert.strictEqual((vault.inputs.properties as { tenantId: string }).tenantId, OFFLINE_TENANT_ID);
        for (const { value } of standIns) assert.ok(JSON.stringify(devPlan).includes(value), value);
        // Only what the plan shows: a first preview creates nothing yet, so no ARM id holds the subscription id.
        const preview = await runOffline({ stack: "dev", preview: true });
        assert.deepStrictEqual(
            preview.standIns.map((s) => s.value),
            [OFFLINE_TENANT_ID],
        );
        assert.ok(!JSON.stringify(preview.plan).includes(OFFLINE_SUBSCRIPTION_ID));
    });

    it("ends the plan with the steps that deploy that stack: stack, name prefix, preview, up, devices", async () => {
        const steps = (text: string) =>
            text
                .slice(text.indexOf("\nNext steps"))
                .split("\n")
                .filter((line) => line.startsWith("  "))
                .map((line) => line.trim().split(/ {2,}/)[0]);
        const prod = formatPlan((await runOffline({ stack: "prod" })).plan);
        assert.match(prod, /\nNext steps, to deploy stack "prod" to Azure:\n/);
        assert.deepStrictEqual(steps(prod), [
            "pulumi stack init prod",
            "pulumi config set namePrefix <your-org>",
            "pulumi preview --diff",
            "pulumi up",
            "npm run devices -- --stack prod",
        ]);
        assert.match(prod, /namePrefix <your-org> {2}registry, storage, vault and hub names are global in Azure/);
        // No device of the stack's own (a fleet whose devices join elsewhere): no config.toml to write.
        const fleet = formatPlan((await runOffline({ stack: "prod", overrides: { edgeDevices: [] } })).plan);
        assert.deepStrictEqual(steps(fleet), [
            "pulumi stack init prod",
            "pulumi config set namePrefix <your-org>",
            "pulumi preview --diff",
            "pulumi up",
        ]);
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
