// `npm run test:image`: scoring images built, pushed, pulled and run for real, the way `pulumi up` builds them and
// edgeAgent runs them, on a private Docker engine. Needs Linux and root; installs what it lacks with apt-get, starts
// dockerd and a registry in the background and stops exactly those (by PID) at the end, also on failure or a signal.
// Then, for each stack (-s, repeatable; default dev), see image-test/module-image.ts:
//   1. stages the build context as ScoringImage does and builds it offline (the build's network reaches only the
//      package index served here);
//   2. pushes the image as the admin user and pulls it back by digest with the pull token in the stack's manifest;
//   3. creates the container from that manifest's module over the Engine API and checks what it answers, against
//      the framework's own predictions where the module's folder has sample-request.json and predict_reference.py;
//   4. prints the figures and what it does not prove, and ends with "N passed, N failed".
// The first stack also gets the checks that do not depend on the module: the classic builder, a registered model
// downloaded into the context, entry scripts whose init() or run() raise, refusals and the HEALTHCHECK.
// Flags: --fresh (a new data root), --arm64 (the first stack also for linux/arm64 under QEMU emulation),
// -s/--stack <name> (repeatable), --request <file> (POST it to each module's /score and print the answer), --bench
// [seconds] (the runtime's bench.py inside each image, beside Flask + gunicorn: figures, never a check of speed).
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loadConfig } from "../components/config";
import { readStackConfig, REPO_ROOT } from "../offline/engine";
import { arm64Checks } from "./image-test/arm64";
import { ensureBaseImage } from "./image-test/base-image";
import { assertThat, Checks, megabytes, StepFailed } from "./image-test/checks";
import { dockerCli, Dockerd, startDockerd } from "./image-test/engine";
import { Cleanup, installMissingPackages, mustRun, removeTree } from "./image-test/host";
import { ImageTestHost, moduleImageTest, stagedRequirements } from "./image-test/module-image";
import { pinName, pipTool, resolvePins, serveWheelhouse } from "./image-test/pins";
import { registryStatus, startRegistry } from "./image-test/registry";

const figures: string[] = [];
/** What the run found that decides what it cannot claim. */
const found = { leftOut: [] as string[], baseImage: "", configuredBase: "python:3.11-slim", arm64: false };

function notProven(): string[] {
    const sdk = found.leftOut.some((pin) => pinName(pin) === "azure-iot-device");
    return [
        `the IoT Edge module client: the container gets no IOTEDGE_* variables (no edgeHub runs here), so the runtime's module client is never started and its input/output are not exercised${sdk ? "; the image does not even hold it: azure-iot-device 2.14.0 is not in the package index this machine reaches" : ""}`,
        found.leftOut.length
            ? `the exact requirements: ${new Set(found.leftOut).size} requirement(s) the index cannot provide were left out of the images (listed above); the image \`pulumi up\` builds installs them all from PyPI`
            : "nothing about PyPI: every requirement came from this machine's package index",
        found.baseImage === found.configuredBase
            ? `${found.configuredBase} is the base image, as configured`
            : `${found.configuredBase}: the base image here is ${found.baseImage || "(none)"}, Debian bookworm's own Python 3.11 (debootstrap), not the official image the stack configures`,
        found.arm64
            ? "linux/arm64 on a device: the arm64 image was built and run here only under QEMU emulation"
            : "linux/arm64: not built by this run (`npm run test:image -- --arm64` builds it with both builders under QEMU emulation); an arm64 device is never exercised",
        "edgeAgent itself: the container is created from the manifest as edgeAgent would (createOptions + image + env + name) but without its labels, mounts and the azure-iot-edge network",
        "Azure Container Registry: a local distribution 2.8 registry with basic auth stands in for it, over plain HTTP on 127.0.0.1; it authenticates the admin user and the pull token but does not hold the token to reading the scoring repository as ACR's scope map does",
    ];
}

interface Options {
    fresh: boolean;
    arm64: boolean;
    stacks: string[];
    request?: string;
    /** --bench [seconds]: bench.py in each image, beside Flask + gunicorn. */
    benchSeconds?: number;
}

const USAGE = "accepted: --fresh, --arm64, -s/--stack <name> (repeatable), --request <file>, --bench [seconds, default 30]";

function parseOptions(argv: string[]): Options {
    const options: Options = { fresh: false, arm64: false, stacks: [] };
    for (let i = 0; i < argv.length; i++) {
        if (argv[i] === "--fresh") options.fresh = true;
        else if (argv[i] === "--arm64") options.arm64 = true;
        else if ((argv[i] === "--stack" || argv[i] === "-s") && argv[i + 1]) options.stacks.push(argv[++i]);
        else if (argv[i] === "--request" && argv[i + 1]) options.request = argv[++i];
        else if (argv[i] === "--bench") options.benchSeconds = /^\d+$/.test(argv[i + 1] ?? "") ? Number(argv[++i]) : 30;
        else throw new Error(`unknown argument "${argv[i]}"; ${USAGE}`);
    }
    for (const stack of options.stacks)
        if (!fs.existsSync(path.join(REPO_ROOT, `Pulumi.${stack}.yaml`)))
            throw new Error(`no stack file Pulumi.${stack}.yaml for --stack ${stack}`);
    if (options.request && !fs.existsSync(options.request)) throw new Error(`--request ${options.request}: no such file`);
    if (options.stacks.length === 0) options.stacks.push("dev");
    return options;
}

function hostPlatform(): string {
    const arch = { x64: "amd64", arm64: "arm64" }[process.arch as string];
    if (!arch) throw new Error(`no Docker platform for ${process.arch}`);
    return `linux/${arch}`;
}

async function imageTest(checks: Checks, cleanup: Cleanup, options: Options): Promise<void> {
    const first = await checks.step(`the ${options.stacks[0]} stack's configuration`, async () =>
        loadConfig({ stack: options.stacks[0], values: readStackConfig(options.stacks[0]).values, projectDir: REPO_ROOT }),
    );
    const cacheDir = process.env.EDGEML_IMAGE_TEST_CACHE || "/var/tmp/edgeml-image-test";
    if (options.fresh) await removeTree(cacheDir);
    fs.mkdirSync(cacheDir, { recursive: true });
    const runDir = fs.mkdtempSync(path.join(os.tmpdir(), "edgeml-image-"));
    cleanup.add(`remove ${runDir}`, () => removeTree(runDir));
    const log = (name: string) => path.join(runDir, `${name}.log`);
    console.log(
        `data root ${cacheDir}/data-root (kept for the next run${options.fresh ? "; emptied first: --fresh" : ""}), logs ${runDir} (removed at the end)`,
    );

    await checks.step("engine and registry packages (docker.io, debootstrap, iptables, docker-registry, apache2-utils)", async () => {
        const started = Date.now();
        const installed = await installMissingPackages(log("apt"));
        return installed.length ? `installed ${installed.join(" ")} in ${Math.round((Date.now() - started) / 1000)} s` : "all present";
    });
    const docker: Dockerd = await checks.step(
        "dockerd in the background (private data root, exec root, socket, bridge; no iptables rules)",
        () => startDockerd({ dataRoot: path.join(cacheDir, "data-root"), runDir, cleanup }),
        (d) => `pid ${d.process.pid}, storage driver ${d.storageDriver}, bridge ${d.bridge.name} ${d.bridge.address}`,
    );
    const engine = docker.engine;
    const cli = dockerCli();
    const registry = await checks.step(
        "registry on 127.0.0.1 behind basic auth (htpasswd: the admin user and the stack's pull token)",
        async () => {
            const started = await startRegistry({
                runDir,
                adminUsername: first.registry.name,
                pullUsername: first.pullToken.name,
                cleanup,
            });
            assertThat((await registryStatus(started)) === 401, "anonymous GET /v2/ was not refused");
            assertThat((await registryStatus(started, { ...started.pull, password: "wrong" })) === 401, "a wrong password was not refused");
            assertThat((await registryStatus(started, started.admin)) === 200, "the admin user was refused");
            assertThat((await registryStatus(started, started.pull)) === 200, "the pull token was refused");
            return started;
        },
        (r) =>
            `pid ${r.pid}, ${r.address}, users ${r.admin.username} and ${r.pull.username}: anonymous and wrong-password requests get 401`,
    );

    const platform = hostPlatform();
    const base = await checks.step(
        `base image (configured: ${first.image.baseImage})`,
        async () => {
            const made = await ensureBaseImage({
                engine,
                configured: first.image.baseImage,
                platform,
                cli,
                cliEnv: docker.cliEnv,
                workDir: runDir,
                logFile: log("debootstrap"),
            });
            const python = (
                await mustRun(cli, ["run", "--rm", "--network", "none", made.image, "python3", "--version"], { env: docker.cliEnv })
            ).stdout.trim();
            const size = (await engine.json<{ Size: number }>("GET", `/images/${encodeURIComponent(made.image)}/json`)).Size;
            return { ...made, python, size };
        },
        (b) => `${b.image}, ${b.origin}, ${b.python}, ${megabytes(b.size)}`,
    );
    found.baseImage = base.image;
    found.configuredBase = first.image.baseImage;
    const pythonVersion = /Python (\d+\.\d+)/.exec(base.python)?.[1] ?? "3.11";

    // One wheelhouse for every stack's requirements; its server lists the folder at each request, so wheels added
    // for a later stack are served too.
    const wheelhouse = path.join(runDir, "wheelhouse");
    fs.mkdirSync(wheelhouse, { recursive: true });
    const index = await serveWheelhouse(wheelhouse, docker.bridge.address);
    cleanup.add("stop the wheelhouse server", index.close);
    const pip = await pipTool(cacheDir);
    const provided = new Map<string, string | undefined>();
    const host: ImageTestHost = {
        checks,
        cleanup,
        docker,
        cli,
        registry,
        platform,
        runDir,
        log,
        figures,
        base,
        offline: { PIP_NO_INDEX: "1", PIP_FIND_LINKS: index.url, PIP_TRUSTED_HOST: docker.bridge.address },
        provide: async (lines) => {
            const fresh = lines.filter((line) => !provided.has(line));
            if (fresh.length) {
                const resolved = await resolvePins({ python: pip, pins: fresh, pythonVersion, platform, wheelhouse });
                for (const pin of resolved.kept) provided.set(pin, undefined);
                for (const { pin, reason } of resolved.leftOut) provided.set(pin, reason);
            }
            const leftOut = lines.flatMap((pin) => (provided.get(pin) === undefined ? [] : [{ pin, reason: provided.get(pin)! }]));
            found.leftOut.push(...leftOut.map((p) => p.pin));
            return leftOut;
        },
    };

    for (const [i, stack] of options.stacks.entries())
        await moduleImageTest(host, { stack, first: i === 0, request: options.request, benchSeconds: options.benchSeconds });

    if (options.arm64) {
        const context = path.join(runDir, options.stacks[0], "scoring-context");
        const arm64 = await arm64Checks({
            checks,
            engine,
            cli,
            cliEnv: docker.cliEnv,
            runDir,
            log,
            configuredBase: first.image.baseImage,
            pip: { python: pip, pins: stagedRequirements(context), pythonVersion, wheelhouse },
            index: { url: index.url, host: docker.bridge.address },
            context,
            model: { name: first.model.existing ? "model" : first.model.name, version: "1" },
        });
        figures.push(...arm64);
        found.arm64 = true;
    }
}

async function main(): Promise<number> {
    const started = Date.now();
    const checks = new Checks();
    let options: Options;
    try {
        options = parseOptions(process.argv.slice(2));
    } catch (error) {
        console.log((error as Error).message);
        return 2;
    }
    if (process.platform !== "linux" || process.getuid?.() !== 0) {
        console.log(
            "npm run test:image cannot run here: it needs Linux and root, to install docker.io, debootstrap, iptables, docker-registry and " +
                "apache2-utils with apt-get if missing, and to start its own dockerd. Run it as root (CI does); it is not skipped.",
        );
        checks.failed++;
        console.log(checks.summary());
        return 1;
    }
    const cleanup = new Cleanup();
    try {
        await imageTest(checks, cleanup, options);
    } catch (error) {
        if (error instanceof StepFailed) {
            console.log(`stopped: "${error.message}" failed, and what follows needs it`);
        } else {
            checks.failed++;
            console.log(`FAIL  unexpected error: ${(error as Error).stack ?? error}`);
        }
    } finally {
        await cleanup.run();
    }
    console.log("\nfigures:");
    for (const figure of figures) console.log(`  ${figure}`);
    console.log(
        `  npm run test:image took ${Math.round((Date.now() - started) / 1000)} s${options.fresh ? " from scratch (--fresh)" : ""}`,
    );
    console.log("\nwhat this does not prove:");
    for (const line of notProven()) console.log(`  - ${line}`);
    console.log(`\n${checks.summary()}`);
    return checks.failed === 0 ? 0 : 1;
}

main().then(
    (code) => process.exit(code),
    (error) => {
        console.log(`FAIL  ${(error as Error).stack ?? error}\n0 passed, 1 failed`);
        process.exit(1);
    },
);
