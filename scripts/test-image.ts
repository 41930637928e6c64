// `npm run test:image`: the scoring image built, pushed, pulled and run for real, the way edgeAgent runs it, on a
// private Docker engine. Needs Linux and root; installs what it lacks with apt-get, starts dockerd and a registry in
// the background and stops exactly those (by PID) at the end, also on failure or a signal. Then:
//   1. builds scoring/ with BuildKit and with the classic builder, and a staged bring-your-own context, offline
//      (the build's network reaches only the package index served here);
//   2. pushes the image to the local registry behind basic auth as the admin user and pulls it back by its digest
//      with the pull token in the registryCredentials entry of the stack's own deployment manifest;
//   3. creates the container from that manifest's module (createOptions + image + env + name) over the Engine API;
//   4. checks health, /score on the reference rows, a bad body, the user, the HEALTHCHECK and `docker stop`;
//   5. prints the figures and what it does not prove, and ends with "N passed, N failed".
// Flags: --fresh (a new data root: no base image, no build cache), --arm64 (also build for linux/arm64 under QEMU
// emulation and score a message in it; ~10 more minutes from scratch), --stack <name> (default dev).
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loadConfig, SCORING_DIR, StackConfig } from "../components/config";
import { imageTag } from "../components/image";
import { assertValidManifest, buildManifest, DeploymentManifest, ManifestInput } from "../components/iot/manifest";
import { readStackConfig, REPO_ROOT } from "../offline/engine";
import { arm64Checks } from "./image-test/arm64";
import { ensureBaseImage } from "./image-test/base-image";
import { dockerBuild, stageRegisteredModelContext } from "./image-test/build";
import { assertThat, Checks, megabytes, StepFailed } from "./image-test/checks";
import { dockerCli, Dockerd, Engine, startDockerd } from "./image-test/engine";
import { Cleanup, installMissingPackages, mustRun, portIsFree, removeTree, run } from "./image-test/host";
import { containerCreateRequest, createModuleContainer, pullModuleImage, registryAuthHeader } from "./image-test/module-container";
import { pinName, pipTool, resolvePins, serveWheelhouse } from "./image-test/pins";
import { compressedSize, Credentials, registryStatus, startRegistry } from "./image-test/registry";
import { percentile, referenceMessages, ScoringClient } from "./image-test/scoring-client";

const REFERENCE_CSV = path.resolve(REPO_ROOT, "..", "shared", "reference", "ai-toolkit", "temperature_data.csv");
const SCORING = path.join(REPO_ROOT, SCORING_DIR);
const MIN_ACCURACY = 0.95;
const STOP_LIMIT_MS = 2_000;

const figures: string[] = [];
/** What the run found that decides what it cannot claim. */
const found = { leftOut: [] as string[], baseImage: "", configuredBase: "python:3.11-slim", arm64: false };

function notProven(): string[] {
    const sdk = found.leftOut.some((pin) => pinName(pin) === "azure-iot-device");
    return [
        `the IoT Edge module client: the container gets no IOTEDGE_* variables (no edgeHub runs here), so edge.py's client is never started and amlInput/amlOutput are not exercised${sdk ? "; the image does not even hold it: azure-iot-device 2.14.0 is not in the package index this machine reaches" : ""}`,
        found.leftOut.length
            ? `the exact pins: ${found.leftOut.length} pins of myenv.yml the index cannot provide were left out of this image (listed above); the image \`pulumi up\` builds installs them all from PyPI`
            : "nothing about PyPI: every pin came from this machine's package index",
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
    stack: string;
}

function parseOptions(argv: string[]): Options {
    const options: Options = { fresh: false, arm64: false, stack: "dev" };
    for (let i = 0; i < argv.length; i++) {
        if (argv[i] === "--fresh") options.fresh = true;
        else if (argv[i] === "--arm64") options.arm64 = true;
        else if (argv[i] === "--stack" && argv[i + 1]) options.stack = argv[++i];
        else throw new Error(`unknown argument "${argv[i]}"; accepted: --fresh, --arm64, --stack <name>`);
    }
    return options;
}

function hostPlatform(): string {
    const arch = { x64: "amd64", arm64: "arm64" }[process.arch as string];
    if (!arch) throw new Error(`no Docker platform for ${process.arch}`);
    return `linux/${arch}`;
}

/** What the stack would deploy, for this image digest, with the local registry's address and pull token in it. */
function deploymentManifest(
    config: StackConfig,
    registry: { address: string; pull: Credentials },
    imageRef: string,
    createOptions?: Record<string, unknown>,
): DeploymentManifest {
    const input: ManifestInput = {
        ...config.deployment.manifest,
        registry: {
            name: config.registry.name,
            loginServer: registry.address,
            username: registry.pull.username,
            password: registry.pull.password,
        },
        scoring: { ...config.deployment.manifest.scoring, image: imageRef, ...(createOptions && { createOptions }) },
    };
    assertValidManifest(input);
    return buildManifest(input);
}

interface ContainerInfo {
    State: { Running: boolean; Pid: number; ExitCode: number; Health?: { Status: string; Log?: Array<{ Output: string }> } };
    NetworkSettings: { IPAddress: string };
}

function inspect(engine: Engine, id: string): Promise<ContainerInfo> {
    return engine.json<ContainerInfo>("GET", `/containers/${id}/json`);
}

async function imageTest(checks: Checks, cleanup: Cleanup, options: Options): Promise<void> {
    const config = await checks.step(`the ${options.stack} stack's configuration`, async () =>
        loadConfig({ stack: options.stack, values: readStackConfig(options.stack).values, projectDir: REPO_ROOT }),
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
    const moduleName = config.deployment.manifest.scoring.name;
    // A container left by an interrupted earlier run of this test, in this test's own data root.
    await engine.request("DELETE", `/containers/${encodeURIComponent(moduleName)}?force=1`);

    const registry = await checks.step(
        "registry on 127.0.0.1 behind basic auth (htpasswd: the admin user and the stack's pull token)",
        async () => {
            const started = await startRegistry({
                runDir,
                adminUsername: config.registry.name,
                pullUsername: config.pullToken.name,
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
        `base image (configured: ${config.image.baseImage})`,
        async () => {
            const found = await ensureBaseImage({
                engine,
                configured: config.image.baseImage,
                platform,
                cli,
                cliEnv: docker.cliEnv,
                workDir: runDir,
                logFile: log("debootstrap"),
            });
            const python = (
                await mustRun(cli, ["run", "--rm", "--network", "none", found.image, "python3", "--version"], { env: docker.cliEnv })
            ).stdout.trim();
            const size = (await engine.json<{ Size: number }>("GET", `/images/${encodeURIComponent(found.image)}/json`)).Size;
            return { ...found, python, size };
        },
        (b) => `${b.image}, ${b.origin}, ${b.python}, ${megabytes(b.size)}`,
    );
    found.baseImage = base.image;
    found.configuredBase = config.image.baseImage;

    const envPins = (await mustRun("python3", [path.join(SCORING, "conda_pip_requirements.py"), path.join(SCORING, "myenv.yml")])).stdout
        .split("\n")
        .filter(Boolean);
    const pythonVersion =
        /^python==(\d+\.\d+)/m.exec(fs.readFileSync(path.join(SCORING, "myenv.yml"), "utf8").replace(/^\s*-\s*/gm, ""))?.[1] ?? "3.11";
    const wheelhouse = path.join(runDir, "wheelhouse");
    const pins = await checks.step(
        "myenv.yml's pins from this machine's package index",
        async () => resolvePins({ python: await pipTool(cacheDir), pins: envPins, pythonVersion, platform, wheelhouse }),
        (p) => `${p.kept.length} of ${envPins.length} installable: ${p.kept.join(" ") || "none"}`,
    );
    for (const { pin, reason } of pins.leftOut) console.log(`      left out of the image: ${pin} (${reason})`);
    found.leftOut = pins.leftOut.map((p) => p.pin);
    const index = await serveWheelhouse(wheelhouse, docker.bridge.address);
    cleanup.add("stop the wheelhouse server", index.close);

    // Built as ScoringImage builds it: the same tag function and build args, for this machine's platform.
    // The version ModelRegistration assigns is unknown before a registration; a stand-in then.
    const model = config.model.existing
        ? { name: "registered-model", version: "image-test" }
        : { name: config.model.name, version: config.model.version ?? "image-test" };
    const shaping = { BASE_IMAGE: base.image, MODEL_NAME: model.name, MODEL_VERSION: model.version };
    const tag = imageTag(SCORING, { platform, ...shaping });
    const repository = config.image.repository;
    const imageName = `${registry.address}/${repository}:${tag}`;
    const offline = {
        PIP_NO_INDEX: "1",
        PIP_FIND_LINKS: index.url,
        PIP_TRUSTED_HOST: docker.bridge.address,
        OMIT_PINS: pins.leftOut.map((p) => pinName(p.pin)).join(","),
    };
    const build = { cli, cliEnv: docker.cliEnv, platform, logFile: log("build") };
    if (config.image.platform !== platform)
        console.log(`      the stack builds for ${config.image.platform}; this test builds for this machine's ${platform} to run it`);

    const imageSize = async (reference: string) =>
        (await engine.json<{ Size: number; Id: string }>("GET", `/images/${encodeURIComponent(reference)}/json`)).Size;
    const built = await checks.step(
        `build scoring/ with BuildKit (${platform}, offline)`,
        async () => {
            await dockerBuild({ ...build, builder: "buildkit", context: SCORING, tag: imageName, buildArgs: { ...shaping, ...offline } });
            const image = await engine.json<{ Id: string; Size: number; Config: { Labels: Record<string, string> } }>(
                "GET",
                `/images/${encodeURIComponent(imageName)}/json`,
            );
            assertThat(
                image.Config.Labels["edgeml.model.version"] === model.version,
                `label edgeml.model.version is ${image.Config.Labels["edgeml.model.version"]}`,
            );
            return image;
        },
        (image) => `${imageName}, ${megabytes(image.Size)}`,
    );
    cleanup.add("untag the test image", async () => void (await engine.request("DELETE", `/images/${built.Id}?force=1&noprune=1`)));
    figures.push(
        `image size ${megabytes(built.Size)} (base ${megabytes(base.size)}: the scoring layers add ${megabytes(built.Size - base.size)})`,
    );

    await checks.check(`build scoring/ with the classic builder (${platform}, offline)`, async () => {
        await dockerBuild({
            ...build,
            builder: "classic",
            context: SCORING,
            tag: "edgeml-image-test/classic:latest",
            buildArgs: { ...shaping, ...offline },
        });
        return megabytes(await imageSize("edgeml-image-test/classic:latest"));
    });

    await checks.check("build a staged bring-your-own context (registered model downloaded from Azurite with a SAS)", async () => {
        const staged = path.join(runDir, "staged-context");
        const { modelSha256 } = await stageRegisteredModelContext(SCORING, staged, "7");
        const stagedTag = "edgeml-image-test/staged:latest";
        await dockerBuild({
            ...build,
            builder: "buildkit",
            context: staged,
            tag: stagedTag,
            buildArgs: { ...shaping, MODEL_VERSION: "7", ...offline },
        });
        const script = "import hashlib; print(hashlib.sha256(open('/app/model/model.json', 'rb').read()).hexdigest())";
        const carried = (
            await mustRun(cli, ["run", "--rm", "--network", "none", stagedTag, "python", "-c", script], { env: docker.cliEnv })
        ).stdout.trim();
        assertThat(
            carried === modelSha256,
            `the image carries model.json ${carried.slice(0, 12)}, not the registered ${modelSha256.slice(0, 12)}`,
        );
        return `carries the registered model.json (sha256 ${modelSha256.slice(0, 12)}), label version 7`;
    });

    const auth = { ...registry.admin, serveraddress: registry.address };
    const digest = await checks.step(
        `push to the registry as the admin user (${registry.admin.username})`,
        async () => {
            const repo = imageName.slice(0, imageName.lastIndexOf(":"));
            const messages = await engine.stream("POST", `/images/${encodeURIComponent(repo)}/push?tag=${tag}`, {
                "X-Registry-Auth": registryAuthHeader(auth),
            });
            const pushed = messages.map((m) => (m.aux as { Digest?: string } | undefined)?.Digest).find(Boolean);
            assertThat(pushed, "the push reported no digest");
            return pushed;
        },
        (d) => d,
    );
    const stored = await compressedSize(registry, repository, digest);
    figures.push(`compressed size in the registry ${megabytes(stored.bytes)} (${stored.layers} layers and the config)`);

    const imageRef = `${registry.address}/${repository}@${digest}`;
    const manifest = await checks.step(
        `the ${options.stack} stack's deployment manifest for that digest`,
        async () => deploymentManifest(config, registry, imageRef),
        (m) =>
            `module ${moduleName}: image ${imageRef.replace(/@sha256:(.{12}).*/, "@sha256:$1…")}, createOptions ${containerCreateRequest(m, moduleName).body.HostConfig ? JSON.stringify(containerCreateRequest(m, moduleName).body.HostConfig) : "none"}`,
    );

    await engine.json("DELETE", `/images/${built.Id}?force=1&noprune=1`);
    await checks.check("the registry refuses the pull with a wrong password", async () => {
        const wrong = deploymentManifest(config, { ...registry, pull: { ...registry.pull, password: "not-the-password" } }, imageRef);
        const refused = await pullModuleImage(engine, wrong, moduleName).then(
            () => undefined,
            (error: Error) => error.message,
        );
        assertThat(refused, "the pull succeeded");
        return refused.replace(/\s+/g, " ").slice(0, 120);
    });
    await checks.step(
        "pull by digest with the pull token in the manifest's registryCredentials (the local copy removed first)",
        async () => {
            assertThat(!(await engine.imageExists(imageRef)), "the image was still there before the pull");
            const status = await pullModuleImage(engine, manifest, moduleName);
            const pulled = await engine.json<{ Id: string }>("GET", `/images/${encodeURIComponent(imageRef)}/json`);
            assertThat(pulled.Id === built.Id, `pulled ${pulled.Id}, built ${built.Id}`);
            return `${status}; same image id as built`;
        },
        (detail) => detail,
    );

    await checks.check("Docker rejects createOptions it cannot take (HostConfig.Memory as a string): the step can fail", async () => {
        const bad = deploymentManifest(config, registry, imageRef, { HostConfig: { Memory: "256m" } });
        const refusal = await createModuleContainer(engine, bad, moduleName).then(
            () => undefined,
            (error: Error) => error.message,
        );
        assertThat(refusal, "Docker created the container");
        assertThat((await engine.request("GET", `/containers/${moduleName}/json`)).status === 404, "a container was left behind");
        return refusal;
    });

    const request = containerCreateRequest(manifest, moduleName);
    const bindings = (request.body.HostConfig as { PortBindings?: Record<string, Array<{ HostPort?: string }>> } | undefined)?.PortBindings;
    const hostPort = Number(bindings?.["5001/tcp"]?.[0]?.HostPort ?? 0);
    if (hostPort) {
        await checks.step(`host port ${hostPort} (published by the stack's createOptions) is free`, async () => {
            assertThat(await portIsFree(hostPort), `something on this machine listens on ${hostPort}; stop it and run again`);
        });
    }
    const id = await checks.step(
        "container created from the manifest over the Engine API",
        () => createModuleContainer(engine, manifest, moduleName),
        (i) => i.slice(0, 12),
    );
    cleanup.add(`remove container ${id.slice(0, 12)}`, async () => void (await engine.request("DELETE", `/containers/${id}?force=1`)));
    const startedAt = Date.now();
    await engine.json("POST", `/containers/${id}/start`);
    const address = hostPort
        ? { host: "127.0.0.1", port: hostPort }
        : { host: (await inspect(engine, id)).NetworkSettings.IPAddress, port: 5001 };
    const client = new ScoringClient(address.host, address.port);
    cleanup.add("close the HTTP client", () => client.close());

    try {
        const toHealthy = await checks.step(
            `GET / answers (http://${address.host}:${address.port}/)`,
            () => client.firstHealthyAnswer(startedAt, 30_000),
            (ms) => `${ms} ms after start`,
        );
        figures.push(`container start to first healthy answer ${toHealthy} ms`);
    } catch (error) {
        console.log((await run(cli, ["logs", "--tail", "30", id], { env: docker.cliEnv })).stdout);
        throw error;
    }

    await checks.check("GET / is healthy and names the model the image carries", async () => {
        const answer = await client.request("GET", "/");
        const body = answer.json as { status?: string; modelName?: string; modelVersion?: string };
        assertThat(answer.status === 200 && body.status === "Healthy", `answered ${answer.status} ${JSON.stringify(body)}`);
        assertThat(body.modelName === model.name && body.modelVersion === model.version, `names ${body.modelName}:${body.modelVersion}`);
        return JSON.stringify(body);
    });

    await checks.check(`POST /score on every row of temperature_data.csv, at least ${MIN_ACCURACY * 100}% right`, async () => {
        const rows = referenceMessages(REFERENCE_CSV);
        const { right, latencies } = await client.scoreEach(rows);
        const accuracy = right / rows.length;
        assertThat(accuracy >= MIN_ACCURACY, `${right}/${rows.length} right (${(accuracy * 100).toFixed(2)}%)`);
        const latency = `p50 ${percentile(latencies, 50).toFixed(2)} ms, p99 ${percentile(latencies, 99).toFixed(2)} ms`;
        figures.push(`POST /score through the published port, one kept-alive connection: ${latency}`);
        return `${right}/${rows.length} right (${(accuracy * 100).toFixed(2)}%), ${latency} over one kept-alive connection`;
    });

    await checks.check("a bad body gets a 400 with an error, not a crash", async () => {
        for (const body of ["{not json", JSON.stringify({ machine: { temperature: 50 } })]) {
            const answer = await client.request("POST", "/score", body);
            const error = (answer.json as { error?: unknown }).error;
            assertThat(answer.status === 400 && typeof error === "string", `${body} got ${answer.status} ${JSON.stringify(answer.json)}`);
        }
        const state = (await inspect(engine, id)).State;
        assertThat(state.Running && (await client.request("GET", "/")).status === 200, "the container stopped answering");
        return `e.g. ${JSON.stringify((await client.request("POST", "/score", "[]")).json)}`;
    });

    await checks.check("the process runs as a non-root user", async () => {
        const pid = (await inspect(engine, id)).State.Pid;
        const uids = /^Uid:\s+(.*)$/m
            .exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]
            .split(/\s+/)
            .map(Number) ?? [0];
        assertThat(
            uids.every((uid) => uid !== 0),
            `uids ${uids.join(" ")}`,
        );
        return `uid ${uids[0]} (real, effective, saved, filesystem: ${uids.join(" ")})`;
    });

    await checks.check("the image's HEALTHCHECK reaches healthy", async () => {
        const deadline = startedAt + 90_000;
        for (;;) {
            const health = (await inspect(engine, id)).State.Health;
            assertThat(health, "the container has no health status (no HEALTHCHECK?)");
            if (health.Status === "healthy") {
                figures.push(
                    `container start to HEALTHCHECK healthy ${((Date.now() - startedAt) / 1000).toFixed(1)} s (its first probe runs after --interval=30s)`,
                );
                return `healthy ${((Date.now() - startedAt) / 1000).toFixed(1)} s after start`;
            }
            assertThat(health.Status !== "unhealthy", `unhealthy: ${health.Log?.at(-1)?.Output ?? ""}`);
            assertThat(Date.now() < deadline, `still ${health.Status} after 90 s`);
            await new Promise((resolve) => setTimeout(resolve, 500));
        }
    });

    client.close();
    await checks.check(`docker stop ends it in under ${STOP_LIMIT_MS / 1000} s with exit code 0`, async () => {
        const started = Date.now();
        await mustRun(cli, ["stop", id], { env: docker.cliEnv });
        const elapsed = Date.now() - started;
        const state = (await inspect(engine, id)).State;
        assertThat(elapsed < STOP_LIMIT_MS && state.ExitCode === 0, `took ${elapsed} ms, exit code ${state.ExitCode}`);
        return `${elapsed} ms, exit code 0`;
    });

    if (options.arm64) {
        const arm64 = await arm64Checks({
            checks,
            engine,
            cli,
            cliEnv: docker.cliEnv,
            runDir,
            log,
            configuredBase: config.image.baseImage,
            pip: { python: await pipTool(cacheDir), pins: envPins, pythonVersion, wheelhouse },
            index: { url: index.url, host: docker.bridge.address },
            scoringDir: SCORING,
            model,
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
