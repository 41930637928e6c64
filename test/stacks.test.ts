// "Every stack file in the repo evaluates, prod protects its stateful resources, and dev and prod differ only in
// their Pulumi.<stack>.yaml": what test/program.test.ts does not prove already (it checks six stateful types and
// that each stack evaluates) is proven here: every stateful type, and that nothing but the stack file tells
// one stack from another.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { ENROLLMENT_GROUP_TYPE } from "../components/dps";
import { AZURE_TYPES } from "../components/shared";
import { offlineHubs } from "../offline/azure-answers";
import { OfflinePlan, REPO_ROOT, listStacks, runOffline } from "../offline/engine";
import { IOTHUB_SWAGGER } from "../offline/reference-data";
import { STATEFUL_TYPES, createdOfType as created } from "./support/plan-queries";
import { copyProject, removeProject } from "./support/project-copy";
import { requireReference } from "./support/references";

/** The program: index.ts and every TypeScript file under components/. */
function programSources(): string[] {
    const walk = (dir: string): string[] =>
        fs
            .readdirSync(dir, { withFileTypes: true })
            .flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : e.name.endsWith(".ts") ? [path.join(dir, e.name)] : []));
    return [path.join(REPO_ROOT, "index.ts"), ...walk(path.join(REPO_ROOT, "components"))];
}

/** Source without comments (a "//" after ":" is a URL, not a comment). */
function code(text: string): string {
    return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:])\/\/.*$/gm, "$1");
}

/** The plan with what is derived from the stack name put back to `stack`, and hashes and GUIDs made neutral. */
function normalized(plan: OfflinePlan, stack: string, as: string): unknown {
    const text = JSON.stringify(plan)
        .split(stack)
        .join(as)
        .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, "<guid>")
        .replace(/[0-9a-f]{12,}/g, "<hash>");
    return JSON.parse(text);
}

describe("stacks: dev and prod differ only in their Pulumi.<stack>.yaml", function () {
    this.timeout(60_000);
    const plans = new Map<string, OfflinePlan>();
    /** What each stack's offline hubs saw (the emulators are reset by the next run, so it is copied here). */
    const hubs = new Map<string, { hostName: string; validating: boolean; requests: number; violations: unknown[] }[]>();
    before(async () => {
        for (const stack of listStacks()) {
            plans.set(stack, (await runOffline({ stack })).plan);
            hubs.set(
                stack,
                [...offlineHubs().values()].map((hub) => ({
                    hostName: hub.hostName,
                    validating: hub.validating,
                    requests: hub.stats.totalRequests,
                    violations: [...hub.violations],
                })),
            );
        }
    });

    it("every stack file in the repository evaluates", () => {
        assert.deepStrictEqual([...plans.keys()], listStacks());
        assert.ok(plans.has("dev") && plans.has("prod"));
        for (const [stack, plan] of plans)
            assert.ok(
                plan.resources.some((r) => r.custom),
                stack,
            );
    });

    it("every stack's devices and deployment reach its hub in requests the IoT Hub service swagger allows", function () {
        requireReference(this, IOTHUB_SWAGGER);
        for (const stack of listStacks()) {
            const seen = hubs.get(stack)!;
            assert.deepStrictEqual(
                seen.map((hub) => hub.hostName),
                [plans.get(stack)!.outputs.iotHubHostName],
                stack,
            );
            for (const hub of seen) {
                assert.strictEqual(
                    hub.validating,
                    true,
                    `${stack}: ${hub.hostName} checks requests against the swagger in this repository`,
                );
                assert.ok(hub.requests > 0, `${stack}: ${hub.hostName} was used`);
                assert.deepStrictEqual(hub.violations, [], `${stack}: ${hub.hostName}`);
            }
        }
    });

    it("prod protects every stateful resource it creates, dev none", () => {
        for (const type of STATEFUL_TYPES) {
            const prod = created(plans.get("prod")!, type);
            assert.ok(prod.length > 0, `prod creates no ${type}`);
            for (const r of prod) assert.strictEqual(r.protect, true, `prod ${r.type} "${r.name}"`);
            for (const r of created(plans.get("dev")!, type)) assert.strictEqual(r.protect, false, `dev ${r.type} "${r.name}"`);
        }
    });

    it("prod protects the resource group only when it creates one, and the rest either way", async () => {
        const { plan } = await runOffline({ stack: "prod", overrides: { existingResourceGroup: "team-rg" } });
        assert.deepStrictEqual(created(plan, "azure-native:resources:ResourceGroup"), []);
        for (const type of STATEFUL_TYPES.slice(1)) {
            assert.ok(created(plan, type).length > 0, type);
            for (const r of created(plan, type)) assert.strictEqual(r.protect, true, `${r.type} "${r.name}"`);
        }
    });

    it("with deviceProvisioning dps, prod protects the Device Provisioning Service and its enrollment group, dev neither", async () => {
        for (const [stack, protect] of [
            ["prod", true],
            ["dev", false],
        ] as const) {
            const { plan } = await runOffline({ stack, overrides: { deviceProvisioning: "dps" } });
            for (const type of [AZURE_TYPES.dps.token, ENROLLMENT_GROUP_TYPE]) {
                const resources = created(plan, type);
                assert.strictEqual(resources.length, 1, `${stack} creates one ${type}`);
                assert.strictEqual(resources[0].protect, protect, `${stack} ${type}`);
            }
        }
    });

    it("no program source branches on a stack name or reads the environment", () => {
        const names = listStacks();
        const problems: string[] = [];
        for (const file of programSources()) {
            code(fs.readFileSync(file, "utf8"))
                .split("\n")
                .forEach((line, index) => {
                    const where = `${path.relative(REPO_ROOT, file)}:${index + 1}`;
                    for (const stack of names)
                        if (new RegExp(`(["'\`])${stack}\\1`).test(line)) problems.push(`${where} names the stack "${stack}"`);
                    if (/process\.env\b/.test(line))
                        problems.push(`${where} reads process.env, which differs by machine, not by stack file`);
                });
        }
        assert.deepStrictEqual(problems, []);
    });

    it("prod's stack file under another stack name plans exactly like prod, up to the names derived from the stack", async () => {
        const copy = copyProject();
        try {
            fs.copyFileSync(path.join(copy, "Pulumi.prod.yaml"), path.join(copy, "Pulumi.prodtwin.yaml"));
            const twin = (await runOffline({ stack: "prodtwin", projectDir: copy })).plan;
            assert.deepStrictEqual(normalized(twin, "prodtwin", "prod"), normalized(plans.get("prod")!, "prod", "prod"));
        } finally {
            removeProject(copy);
        }
    });
});
