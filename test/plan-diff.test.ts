// `npm start -- --diff <plan.json | git ref>`: what a change would do, offline. The diff itself is checked
// in-process on plans of changed copies and configuration overrides; the CLI in child processes, against a plan
// file and against commits of a throwaway git repository.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { hashBuildContext } from "../components/image/buildContext";
import { DOCKER_IMAGE_TYPE } from "../components/image";
import { EDGE_DEPLOYMENT_TYPE, EDGE_DEVICE_TYPE } from "../components/iot";
import { AZURE_TYPES } from "../components/shared";
import { AZURE_REPLACE_INPUTS, diffPlans, isEmptyDiff, type PlanDiff } from "../scripts/plan-diff";
import { formatPlanDiff } from "../scripts/plan-diff-format";
import { OfflinePlan, PlannedResource, REPO_ROOT, runOffline } from "../offline/engine";
import { resourceOfType } from "./support/plan-queries";
import { copyProject, git, removeProject } from "./support/project-copy";
import { makeContext } from "./support/temp-context";

const REGISTRY_TYPE = "azure-native:containerregistry:Registry";
const MODEL_VERSION_TYPE = "azure-native:machinelearningservices:ModelVersion";

function plan(args: string[], cwd = REPO_ROOT, env: NodeJS.ProcessEnv = process.env) {
    const tsx = require.resolve("tsx");
    return spawnSync(process.execPath, ["--import", tsx, path.join(cwd, "scripts", "plan.ts"), ...args], {
        cwd,
        env,
        encoding: "utf8",
        timeout: 120_000,
    });
}

const managedCount = (p: OfflinePlan) => p.resources.filter((r) => r.custom && r.operation === "create").length;
const kinds = (diff: PlanDiff) => diff.resources.map((r) => `${r.kind} ${r.type} ${r.name}`);

describe("plan diff (npm start -- --diff)", function () {
    this.timeout(60_000);
    let dev: OfflinePlan;
    let prod: OfflinePlan;
    before(async () => {
        dev = (await runOffline({ stack: "dev" })).plan;
        prod = (await runOffline({ stack: "prod" })).plan;
    });

    describe("diffPlans", () => {
        it("finds nothing between two plans of an unchanged tree: the offline plan is deterministic", async () => {
            const again = (await runOffline({ stack: "dev" })).plan;
            // Fake keys, hashes, ids and the order of resources and dependencies: all identical.
            assert.strictEqual(JSON.stringify(again), JSON.stringify(dev));
            const diff = await diffPlans(dev, again);
            assert.ok(isEmptyDiff(diff), JSON.stringify(diff));
            assert.strictEqual(diff.unchanged, managedCount(dev));
            const text = formatPlanDiff(diff, { stack: "dev", source: "the same tree" });
            assert.match(text, /^No changes\.$/m);
            assert.match(
                text,
                new RegExp(
                    `0 to create, 0 to update, 0 to replace, 0 to delete, ${managedCount(dev)} unchanged; pulumi preview also counts the stack and \\d+ components$`,
                ),
            );
        });

        it("hashes the build context, hence tags the image, the same whatever the machine's locale", function () {
            const context = makeContext({ "aa.py": "a", "z.py": "z", "B.py": "b", ".dockerignore": "" });
            try {
                // Danish collation sorts "aa" after "z": a localeCompare-sorted walk would hash in another order.
                const script = path.join(context, "..", `${path.basename(context)}-hash.ts`);
                fs.writeFileSync(
                    script,
                    `import { hashBuildContext } from ${JSON.stringify(path.join(REPO_ROOT, "components", "image", "buildContext"))};\n` +
                        `console.log(new Intl.Collator().resolvedOptions().locale, hashBuildContext(${JSON.stringify(context)}));\n`,
                );
                const env = { ...process.env, LC_ALL: "da_DK.UTF-8", LANG: "da_DK.UTF-8" };
                const child = spawnSync(process.execPath, ["--import", require.resolve("tsx"), script], { encoding: "utf8", env });
                fs.rmSync(script);
                assert.strictEqual(child.status, 0, child.stderr);
                const [locale, hash] = child.stdout.trim().split(" ");
                if (locale !== "da-DK") this.skip(); // a Node.js without full ICU data cannot show the difference
                assert.strictEqual(hash, hashBuildContext(context));
            } finally {
                fs.rmSync(context, { recursive: true, force: true });
            }
        });

        it("shows a changed scoring image as one image update, the deployment update and one module change", async () => {
            const copy = copyProject();
            try {
                fs.appendFileSync(
                    path.join(copy, "scoring", "examples", "temperature-anomaly", "score.py"),
                    "\n# a changed scoring module\n",
                );
                const changed = (await runOffline({ stack: "dev", projectDir: copy })).plan;
                const diff = await diffPlans(dev, changed);
                assert.deepStrictEqual(kinds(diff), [
                    `update ${DOCKER_IMAGE_TYPE} scoring-image`,
                    `update ${EDGE_DEPLOYMENT_TYPE} edge-rollout`,
                ]);
                assert.strictEqual(diff.manifest.length, 1, diff.manifest.join("\n"));
                assert.match(
                    diff.manifest[0],
                    /^module scoring: image \S+\/edgeml\/scoring@sha256:[0-9a-f]{64} -> \S+\/edgeml\/scoring@sha256:[0-9a-f]{64}$/,
                );

                const image = diff.resources[0];
                const [oldTag, newTag] = [tagOf(resourceOfType(dev, DOCKER_IMAGE_TYPE)), tagOf(resourceOfType(changed, DOCKER_IMAGE_TYPE))];
                assert.notStrictEqual(oldTag, newTag);
                assert.ok(image.notes.includes(`tag: ${oldTag} -> ${newTag}`), image.notes.join("\n"));
                assert.deepStrictEqual(
                    image.inputs.map((c) => c.path),
                    ["imageName"],
                );
                assert.deepStrictEqual(
                    diff.outputs.map((o) => o.name),
                    ["deploymentManifest", "scoringImageRef"],
                );

                const text = formatPlanDiff(diff, { stack: "dev", source: "before" });
                assert.match(text, /^~ update docker:index\/image:Image "scoring-image"$/m);
                assert.match(text, /^~ update pulumi-nodejs:dynamic\/iot:EdgeDeployment "edge-rollout"$/m);
                assert.match(text, /^Deployment manifest changes:\n {2}module scoring: image .+\n\n/m);
                assert.match(
                    text,
                    /Plan diff against before: 0 to create, 2 to update, 0 to replace, 0 to delete, \d+ unchanged; pulumi preview also counts the stack and \d+ components$/,
                );
            } finally {
                removeProject(copy);
            }
        });

        it("numbers a changed model file n -> n+1 and keeps n for an unchanged one, from the previous plan as state", async () => {
            const version = (plan: OfflinePlan) => resourceOfType(plan, "azure-native:machinelearningservices:ModelVersion").inputs.version;
            assert.strictEqual(version(dev), "1", "a new stack's model is version 1");
            // The same tree with the previous plan as state: the same version, nothing to do.
            const again = (await runOffline({ stack: "dev", previous: dev })).plan;
            assert.strictEqual(version(again), "1");
            assert.ok(isEmptyDiff(await diffPlans(dev, again)));
            const copy = copyProject();
            try {
                const file = path.join(copy, "scoring", "examples", "temperature-anomaly", "model", "model.json");
                fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace(/\n?$/, "\n\n"));
                const changed = (await runOffline({ stack: "dev", projectDir: copy, previous: again })).plan;
                assert.strictEqual(version(changed), "2");
                const next = (await runOffline({ stack: "dev", projectDir: copy, previous: changed })).plan;
                assert.strictEqual(version(next), "2", "still the same file: still version 2");
                const diff = await diffPlans(again, changed);
                const modelVersion = diff.resources.find((r) => r.type === "azure-native:machinelearningservices:ModelVersion");
                assert.ok(modelVersion, kinds(diff).join("\n"));
                assert.strictEqual(
                    modelVersion.kind,
                    "replace",
                    "a model version is immutable: a new one is created, the old one retained",
                );
                assert.ok(modelVersion.inputs.some((c) => c.path === "version" && c.before === "1" && c.after === "2"));
                assert.match(formatPlanDiff(diff, { stack: "dev", source: "before" }), /version: 1 -> 2/);
                const image = diff.resources.find((r) => r.type === DOCKER_IMAGE_TYPE);
                assert.ok(image?.inputs.some((c) => c.path === "build.args.MODEL_VERSION" && c.before === "1" && c.after === "2"));
            } finally {
                removeProject(copy);
            }
        });

        it("shows a device removed from edgeDevices as a delete of that EdgeDevice", async () => {
            const fewer = (await runOffline({ stack: "prod", overrides: { edgeDevices: ["plant1-line1-edge", "plant1-line2-edge"] } }))
                .plan;
            const diff = await diffPlans(prod, fewer);
            // Fleet mode targets by tag, so the deployment itself does not change.
            assert.deepStrictEqual(kinds(diff), [`delete ${EDGE_DEVICE_TYPE} hub-device-plant2-line1-edge`]);
            // Devices inherit protect from the IotHub component: in prod, taking one out needs unprotecting first.
            assert.strictEqual(diff.resources[0].blockedByProtect, true);
            assert.match(
                formatPlanDiff(diff, { stack: "prod", source: "x" }),
                /^- delete pulumi-nodejs:dynamic\/iot:EdgeDevice "hub-device-plant2-line1-edge" \(protected: `pulumi up` would fail\)$/m,
            );
        });

        it("replaces the hub when a setting fixed at creation changes, and lists what depends on it as updates", async () => {
            for (const overrides of [{ iotHubPartitions: 4 }, { location: "northeurope" }]) {
                const changed = (await runOffline({ stack: "dev", overrides })).plan;
                const diff = await diffPlans(dev, changed);
                const hub = diff.resources.find((r) => r.type === AZURE_TYPES.iotHub.token);
                assert.strictEqual(hub?.kind, "replace", `${JSON.stringify(overrides)}: ${kinds(diff).join("; ")}`);
                const forced = hub.inputs.filter((c) => c.replaces).map((c) => c.path);
                assert.ok(
                    forced.length > 0 &&
                        forced.every((p) => ["location", "properties.eventHubEndpoints.events.partitionCount"].includes(p)),
                    forced.join(", "),
                );
                // A new hub has none of the old identities or deployments: both are listed, naming the hub.
                for (const type of [EDGE_DEVICE_TYPE, EDGE_DEPLOYMENT_TYPE]) {
                    const dependent = diff.resources.find((r) => r.type === type);
                    assert.ok(dependent && dependent.kind !== "delete", `${type} is listed`);
                    assert.ok(
                        dependent.notes.some((n) => n.includes(`depends on ${AZURE_TYPES.iotHub.token} "hub-hub", which is replaced`)),
                        dependent.notes.join("\n"),
                    );
                }
            }
        });

        it("replaces the registry when registryName changes, and flags it in prod where it is protected", async () => {
            const renamed = (await runOffline({ stack: "prod", overrides: { registryName: "contosoprodacr" } })).plan;
            const diff = await diffPlans(prod, renamed);
            const registry = diff.resources.find((r) => r.type === REGISTRY_TYPE);
            assert.ok(registry, kinds(diff).join("\n"));
            assert.strictEqual(registry.kind, "replace");
            assert.strictEqual(registry.blockedByProtect, true);
            assert.deepStrictEqual(
                registry.inputs.filter((c) => c.replaces).map((c) => [c.path, c.before, c.after]),
                [["registryName", "edgemlprodacr", "contosoprodacr"]],
            );
            // The image is pushed elsewhere (an update), and a fleet deployment's new content is a new deployment.
            assert.strictEqual(diff.resources.find((r) => r.type === DOCKER_IMAGE_TYPE)?.kind, "update");
            assert.strictEqual(diff.resources.find((r) => r.type === EDGE_DEPLOYMENT_TYPE)?.kind, "replace");
            assert.ok(diff.reads.some((r) => r.what === "azure-native:containerregistry:listRegistryCredentials"));
            const text = formatPlanDiff(diff, { stack: "prod", source: "x" });
            assert.match(
                text,
                /^\+- replace azure-native:containerregistry:Registry "registry-acr" \(protected: `pulumi up` would fail\)$/m,
            );
            assert.match(text, /^ {4}registryName: edgemlprodacr -> contosoprodacr {2}\(forces replacement\)$/m);
            assert.match(text, /1 protected resource would be replaced or deleted, so `pulumi up` would fail/);

            const devRenamed = (await runOffline({ stack: "dev", overrides: { registryName: "contosodevacr" } })).plan;
            const devRegistry = (await diffPlans(dev, devRenamed)).resources.find((r) => r.type === REGISTRY_TYPE);
            assert.deepStrictEqual([devRegistry?.kind, devRegistry?.blockedByProtect], ["replace", false]);
        });

        it("shows a changed scoringEnv as an env change of the scoring module", async () => {
            const withEnv = (await runOffline({ stack: "dev", overrides: { scoringEnv: ["LOG_LEVEL=debug"] } })).plan;
            const diff = await diffPlans(dev, withEnv);
            assert.deepStrictEqual(kinds(diff), [`update ${EDGE_DEPLOYMENT_TYPE} edge-rollout`]);
            assert.deepStrictEqual(diff.manifest, ["module scoring: env LOG_LEVEL (none) -> debug"]);
        });

        it("has offline replacement rules for every azure-native type the stacks declare", () => {
            const types = new Set(
                [...dev.resources, ...prod.resources]
                    .filter((r) => r.custom && r.operation === "create" && r.type.startsWith("azure-native:"))
                    .map((r) => r.type),
            );
            const missing = [...types].filter((type) => !(type in AZURE_REPLACE_INPUTS));
            assert.deepStrictEqual(missing, [], "add the type's ARM path parameters (and forceNew inputs) to AZURE_REPLACE_INPUTS");
        });

        it("follows the providers' own rules on synthetic plans", async () => {
            const base = planOf([
                resource(
                    "azure-native:containerregistry:Registry",
                    "acr",
                    { registryName: "a", location: "westeurope", sku: { name: "Basic" } },
                    { protect: true },
                ),
                resource(DOCKER_IMAGE_TYPE, "image", {
                    imageName: "a.azurecr.io/x:1",
                    registry: { server: "a.azurecr.io", username: "a", password: "[secret]" },
                }),
                resource("azure-native:storage:Blob", "blob", { blobName: "m/1/model.json" }, { retainOnDelete: true }),
                resource(
                    MODEL_VERSION_TYPE,
                    "described",
                    { name: "m", version: "1", properties: { description: "a" } },
                    { retainOnDelete: true },
                ),
                resource(MODEL_VERSION_TYPE, "versioned", { name: "m", version: "1" }, { retainOnDelete: true }),
            ]);
            const next = planOf([
                // Location compared as azure-native does (case and spaces do not count); the SKU changes in place.
                resource(
                    "azure-native:containerregistry:Registry",
                    "acr",
                    { registryName: "a", location: "West Europe", sku: { name: "Standard" } },
                    { protect: true },
                ),
                // The docker provider ignores a new registry username; a new tag is a rebuild.
                resource(DOCKER_IMAGE_TYPE, "image", {
                    imageName: "a.azurecr.io/x:2",
                    registry: { server: "a.azurecr.io", username: "b", password: "[secret]" },
                }),
                // Retained on delete: a new version replaces (the old one stays in Azure), a new description updates.
                resource(
                    MODEL_VERSION_TYPE,
                    "described",
                    { name: "m", version: "1", properties: { description: "b" } },
                    { retainOnDelete: true },
                ),
                resource(MODEL_VERSION_TYPE, "versioned", { name: "m", version: "2" }, { retainOnDelete: true }),
            ]);
            const diff = await diffPlans(base, next);
            assert.deepStrictEqual(
                diff.resources.map((r) => [r.kind, r.name, r.inputs.map((c) => c.path).join(","), r.blockedByProtect, r.retained]),
                [
                    ["update", "acr", "sku.name", false, false],
                    ["update", "image", "imageName", false, false],
                    ["update", "described", "properties.description", false, false],
                    ["replace", "versioned", "version", false, true],
                    ["delete", "blob", "", false, true],
                ],
            );
            const removedProtected = await diffPlans(base, planOf([]));
            assert.strictEqual(removedProtected.resources.find((r) => r.name === "acr")?.blockedByProtect, true);
        });
    });

    describe("the CLI", () => {
        let scratch: string;
        before(() => {
            scratch = fs.mkdtempSync(path.join(os.tmpdir(), "edgeml-diff-"));
        });
        after(() => fs.rmSync(scratch, { recursive: true, force: true }));

        it("--diff <plan.json> prints the changes against that plan instead of the plan", () => {
            // A previous plan without the image and with another scoringImageRef: the image is new.
            const previous = {
                ...dev,
                resources: dev.resources.filter((r) => r.type !== DOCKER_IMAGE_TYPE),
                outputs: { ...dev.outputs, scoringImageRef: "old" },
            };
            const file = path.join(scratch, "previous-plan.json");
            fs.writeFileSync(file, JSON.stringify(previous));
            const result = plan(["--stack", "dev", "--diff", file]);
            assert.strictEqual(result.status, 0, result.stderr);
            assert.match(result.stdout, /^\+ create docker:index\/image:Image "scoring-image"$/m);
            assert.match(result.stdout, /^ {4}tag: [0-9a-f]{16}$/m);
            assert.match(result.stdout, /^ {2}~ scoringImageRef: "old" -> "\S+@sha256:/m);
            assert.match(
                result.stdout,
                new RegExp(
                    `Plan diff against ${escape(file)}: 1 to create, 0 to update, 0 to replace, 0 to delete, ${managedCount(dev) - 1} unchanged`,
                ),
            );
            assert.doesNotMatch(result.stdout, /Reads from Azure:/, "the diff replaces the full plan");
            assert.match(result.stdout, /Written: out\/dev\/plan\.json/);
        });

        it("refuses a plan of another stack, a file that is no plan, and an argument that is neither file nor commit", () => {
            const prodFile = path.join(scratch, "prod-plan.json");
            fs.writeFileSync(prodFile, JSON.stringify(prod));
            const notAPlan = path.join(scratch, "package.json");
            fs.writeFileSync(notAPlan, JSON.stringify({ name: "x" }));
            for (const [argument, message] of [
                [prodFile, /prod-plan\.json is the plan of stack "prod", not "dev"/],
                [notAPlan, /package\.json is not a plan\.json written by `npm start`: no stack name/],
                [
                    "no-such-plan-or-ref",
                    /--diff "no-such-plan-or-ref" is neither a plan file nor a git commit: no file .*no-such-plan-or-ref, and no such commit/,
                ],
            ] as const) {
                const result = plan(["--stack", "dev", "--diff", argument]);
                assert.strictEqual(result.status, 1, argument);
                assert.match(result.stderr, message);
                assert.strictEqual(result.stderr.trim().split("\n").length, 1, result.stderr);
                assert.doesNotMatch(result.stderr, /\n\s+at /);
            }
        });

        describe("--diff <git ref>", () => {
            let repo: string;
            let refTempDirs: () => string[];
            let tmp: string;
            before(() => {
                // Three commits: without the dev stack, with a broken one, with the project's own (HEAD).
                repo = copyProject();
                git(repo, "init", "-q");
                // The linked node_modules (a symlink, which .gitignore's "node_modules/" does not match) and plans.
                fs.writeFileSync(path.join(repo, ".git", "info", "exclude"), "/node_modules\n/out/\n");
                const stackFile = path.join(repo, "Pulumi.dev.yaml");
                const good = fs.readFileSync(stackFile, "utf8");
                fs.rmSync(stackFile);
                git(repo, "add", "-A");
                git(repo, "commit", "-qm", "before the dev stack existed");
                fs.writeFileSync(stackFile, "config:\n  edgeml:iotHubSku: B1\n");
                git(repo, "add", "-A");
                git(repo, "commit", "-qm", "a broken dev stack");
                fs.writeFileSync(stackFile, good);
                git(repo, "add", "-A");
                git(repo, "commit", "-qm", "the dev stack");
                // A temp folder of this test's own: another process's plans (a second test run) cannot show up in it.
                tmp = fs.mkdtempSync(path.join(os.tmpdir(), "edgeml-plan-diff-test-"));
                refTempDirs = () => fs.readdirSync(tmp).filter((name) => name.startsWith("edgeml-plan-ref-"));
            });
            after(() => {
                removeProject(repo);
                fs.rmSync(tmp, { recursive: true, force: true });
            });

            it("finds no changes against HEAD for an unchanged tree, and leaves no temp tree behind", () => {
                const before = refTempDirs();
                const result = plan(["--diff", "HEAD"], repo, { ...process.env, TMPDIR: tmp });
                assert.strictEqual(result.status, 0, result.stderr);
                assert.match(result.stdout, /^No changes\.$/m);
                assert.match(
                    result.stdout,
                    /Plan diff against HEAD \([0-9a-f]{7}\): 0 to create, 0 to update, 0 to replace, 0 to delete, \d+ unchanged; pulumi preview also counts/m,
                );
                assert.deepStrictEqual(
                    refTempDirs().filter((d) => !before.includes(d)),
                    [],
                );
                assert.strictEqual(git(repo, "status", "--porcelain"), "", "the repository is left as it was");
            });

            it("shows a changed score.py against HEAD as one module change", () => {
                const score = path.join(repo, "scoring", "examples", "temperature-anomaly", "score.py");
                const original = fs.readFileSync(score, "utf8");
                fs.appendFileSync(score, "\n# a changed scoring module\n");
                try {
                    const result = plan(["--diff", "HEAD"], repo);
                    assert.strictEqual(result.status, 0, result.stderr);
                    assert.match(result.stdout, /^~ update docker:index\/image:Image "scoring-image"$/m);
                    assert.match(result.stdout, /^ {4}tag: [0-9a-f]{16} -> [0-9a-f]{16}$/m);
                    const manifest = /Deployment manifest changes:\n((?: {2}.*\n)*)/.exec(result.stdout)?.[1].trimEnd().split("\n");
                    assert.strictEqual(manifest?.length, 1, result.stdout);
                    assert.match(manifest[0], /^ {2}module scoring: image /);
                    assert.match(
                        result.stdout,
                        /: 0 to create, 2 to update, 0 to replace, 0 to delete, \d+ unchanged; pulumi preview also counts/m,
                    );
                } finally {
                    fs.writeFileSync(score, original);
                }
            });

            it("treats a commit without the stack file as an empty plan: everything is created", () => {
                const result = plan(["--diff", "HEAD~2"], repo);
                assert.strictEqual(result.status, 0, result.stderr);
                assert.match(
                    result.stdout,
                    new RegExp(
                        `which has no Pulumi\\.dev\\.yaml: ${managedCount(dev)} to create, 0 to update, 0 to replace, 0 to delete, 0 unchanged`,
                    ),
                );
            });

            it("says so, with the commit's own error, when that commit's plan fails", () => {
                const result = plan(["--diff", "HEAD~1"], repo);
                assert.strictEqual(result.status, 1);
                assert.match(
                    result.stderr,
                    /^the offline plan of HEAD~1 \([0-9a-f]{7}\) failed:\nInvalid configuration for stack "dev":\n {2}- edgeml:iotHubSku = "B1" is invalid/,
                );
                assert.doesNotMatch(result.stderr, /\n\s+at /);
            });
        });
    });
});

function tagOf(image: PlannedResource): string {
    return String(image.inputs.imageName).split(":").pop() ?? "";
}

function escape(text: string): string {
    return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function planOf(resources: PlannedResource[]): OfflinePlan {
    return { project: "edgeml", stack: "test", resources, invokes: [], outputs: {} };
}

function resource(type: string, name: string, inputs: Record<string, unknown>, options: Partial<PlannedResource> = {}): PlannedResource {
    const urn = `urn:pulumi:test::edgeml::${type}::${name}`;
    return {
        urn,
        type,
        name,
        operation: "create",
        custom: true,
        dependencies: [],
        protect: false,
        retainOnDelete: false,
        inputs,
        ...options,
    };
}
