// One stack's scoring module, as `pulumi up` builds it and edgeAgent runs it: the build context staged exactly as
// ScoringImage stages it (edgeml's runtime, the user's folder, their converted requirements and the model), the
// image built offline, pushed, pulled back by digest with the stack's manifest and run from that manifest; then what
// the module answers, compared with the framework's own predictions where the user's folder says how to get them
// (sample-request.json and predict_reference.py beside the entry script).
import * as fs from "fs";
import * as path from "path";
import { loadConfig, StackConfig } from "../../components/config";
import { imageTag, localModelFiles, moduleContextFiles, SCORING_RUNTIME_DIR, writeStagedContext } from "../../components/image";
import { assertValidManifest, buildManifest, DeploymentManifest, ManifestInput } from "../../components/iot/manifest";
import { readStackConfig, REPO_ROOT } from "../../offline/engine";
import { dockerBuild, stageRegisteredModelContext } from "./build";
import { assertThat, Checks, megabytes } from "./checks";
import { Dockerd, Engine } from "./engine";
import { Cleanup, mustRun, portIsFree, run } from "./host";
import { containerCreateRequest, createModuleContainer, pullModuleImage, registryAuthHeader } from "./module-container";
import { compressedSize, Credentials, LocalRegistry } from "./registry";
import { percentile, ScoringClient, sameAnswer } from "./scoring-client";

const STOP_LIMIT_MS = 2_000;
const LATENCY_REQUESTS = 300;
/** Python of the scoring tests (npm test makes it): it runs predict_reference.py, outside any container. */
const HOST_PYTHON = path.join(REPO_ROOT, "scoring", ".venv", "bin", "python");

/** What every stack's run shares: the engine, registry, base image and the package index the builds reach. */
export interface ImageTestHost {
    checks: Checks;
    cleanup: Cleanup;
    docker: Dockerd;
    cli: string;
    registry: LocalRegistry;
    platform: string;
    runDir: string;
    log: (name: string) => string;
    figures: string[];
    /** The base image (the configured one, or Debian's Python 3.11 bootstrapped here) and its Python. */
    base: { image: string; python: string; size: number };
    /** Build args that point pip at the wheels served here, and the pins left out. */
    offline: Record<string, string>;
    /** Resolves and serves requirement lines; returns those it could not provide (left out of the build). */
    provide: (lines: string[]) => Promise<Array<{ pin: string; reason: string }>>;
}

export interface ModuleRunOptions {
    stack: string;
    /** The first stack also runs the checks that do not depend on the module (builders, refusals, HEALTHCHECK). */
    first: boolean;
    /** A file to POST to /score, printing the status and body: a user's smoke test. */
    request?: string;
    /** Run the runtime's bench.py inside the image, beside Flask + gunicorn, with this load phase (seconds). */
    benchSeconds?: number;
}

/** What the stack would deploy, for this image digest, with the local registry's address and pull token in it. */
export function deploymentManifest(
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

export function inspect(engine: Engine, id: string): Promise<ContainerInfo> {
    return engine.json<ContainerInfo>("GET", `/containers/${id}/json`);
}

/** Requirement lines of a staged context (the runtime's and the user's), option lines left to the build. */
export function stagedRequirements(context: string): string[] {
    return ["runtime/requirements.txt", "requirements.txt"]
        .map((file) => path.join(context, file))
        .filter((file) => fs.existsSync(file))
        .flatMap((file) => fs.readFileSync(file, "utf8").split("\n"))
        .map((line) => line.trim())
        .filter((line) => line && !line.startsWith("#") && !line.startsWith("-"));
}

/** Builds, pushes, pulls and runs one stack's module; returns its image reference. */
export async function moduleImageTest(host: ImageTestHost, options: ModuleRunOptions): Promise<void> {
    const { checks, docker, cli, registry } = host;
    const engine = docker.engine;
    const label = `[${options.stack}]`;
    const config = await checks.step(`${label} the stack's configuration`, async () =>
        loadConfig({ stack: options.stack, values: readStackConfig(options.stack).values, projectDir: REPO_ROOT }),
    );
    if (config.model.existing)
        throw new Error(`${label} test:image builds stacks whose model is a local file or folder (modelPath), not existingModel`);
    const model = {
        name: config.model.name,
        version: config.model.version ?? "1",
        path: path.resolve(REPO_ROOT, config.model.path),
        sha256: config.model.sha256,
    };
    const appDir = path.resolve(REPO_ROOT, config.scoring.dir);
    const sources = {
        runtimeDir: path.resolve(REPO_ROOT, SCORING_RUNTIME_DIR),
        appDir,
        modelPath: model.path,
        requirements: config.scoring.environment.requirements,
    };
    const contextDir = path.join(host.runDir, options.stack, "scoring-context");
    const context = await checks.step(
        `${label} build context staged as ScoringImage stages it`,
        async () => {
            if (config.scoring.ownDockerfile) return { dir: appDir, files: [] as string[] };
            const staged = writeStagedContext(contextDir, moduleContextFiles(sources, localModelFiles(model.path)), [appDir, model.path]);
            return { dir: contextDir, files: staged.files };
        },
        (c) =>
            c.files.length
                ? `${c.files.length} files: runtime, ${config.scoring.dir}, requirements, model ${path.relative(REPO_ROOT, model.path)}`
                : `${config.scoring.dir} with its own Dockerfile`,
    );

    const lines = stagedRequirements(context.dir);
    const leftOut = await checks.step(
        `${label} requirements from this machine's package index`,
        () => host.provide(lines),
        (missing) =>
            `${lines.length - missing.length} of ${lines.length} installable${missing.length ? `; ${missing.length} left out (listed below)` : ""}`,
    );
    for (const { pin, reason } of leftOut) console.log(`      left out of the image: ${pin} (${reason})`);
    const conda = config.scoring.environment.pythonVersion;
    if (conda && !host.base.python.includes(` ${conda}.`))
        console.log(`      the conda file asks for Python ${conda}; this engine's base image has ${host.base.python}`);

    const shaping = {
        BASE_IMAGE: host.base.image,
        MODEL_NAME: model.name,
        MODEL_VERSION: model.version,
        MODEL_SHA256: model.sha256,
        ENTRY_SCRIPT: config.scoring.entryScript,
    };
    const tag = imageTag(context.dir, { platform: host.platform, ...shaping });
    const imageName = `${registry.address}/${config.image.repository}:${tag}`;
    const build = { cli, cliEnv: docker.cliEnv, platform: host.platform, logFile: host.log(`build-${options.stack}`) };
    const buildArgs = { ...shaping, ...host.offline, OMIT_PINS: leftOut.map((p) => p.pin.replace(/[=<>!~ ].*$/, "")).join(",") };
    const built = await checks.step(
        `${label} build with BuildKit (${host.platform}, offline)`,
        async () => {
            await dockerBuild({ ...build, builder: "buildkit", context: context.dir, tag: imageName, buildArgs });
            const image = await engine.json<{ Id: string; Size: number; Config: { Labels: Record<string, string> } }>(
                "GET",
                `/images/${encodeURIComponent(imageName)}/json`,
            );
            const labels = image.Config.Labels;
            assertThat(
                labels["edgeml.model.name"] === model.name && labels["edgeml.model.version"] === model.version,
                `labels name the model ${labels["edgeml.model.name"]}:${labels["edgeml.model.version"]}`,
            );
            return image;
        },
        (image) => `${imageName}, ${megabytes(image.Size)}`,
    );
    host.cleanup.add(
        `untag ${options.stack}'s image`,
        async () => void (await engine.request("DELETE", `/images/${built.Id}?force=1&noprune=1`)),
    );
    host.figures.push(`${label} image size ${megabytes(built.Size)} (the base is ${megabytes(host.base.size)})`);

    if (options.first) {
        await checks.check(`${label} build with the classic builder (${host.platform}, offline)`, async () => {
            await dockerBuild({ ...build, builder: "classic", context: context.dir, tag: "edgeml-image-test/classic:latest", buildArgs });
            return megabytes((await engine.json<{ Size: number }>("GET", "/images/edgeml-image-test%2Fclassic:latest/json")).Size);
        });
        if (!config.scoring.ownDockerfile) {
            await registeredModelCheck(host, sources, buildArgs, model);
            await failingEntryScriptChecks(host, sources, buildArgs);
        }
    }

    const auth = { ...registry.admin, serveraddress: registry.address };
    const digest = await checks.step(
        `${label} push as the registry's admin user`,
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
    const stored = await compressedSize(registry, config.image.repository, digest);
    host.figures.push(`${label} compressed size in the registry ${megabytes(stored.bytes)} (${stored.layers} layers and the config)`);

    const imageRef = `${registry.address}/${config.image.repository}@${digest}`;
    const moduleName = config.deployment.manifest.scoring.name;
    await engine.request("DELETE", `/containers/${encodeURIComponent(moduleName)}?force=1`);
    const manifest = await checks.step(
        `${label} the stack's deployment manifest for that digest`,
        async () => deploymentManifest(config, registry, imageRef),
        (m) => `module ${moduleName}, createOptions ${JSON.stringify(containerCreateRequest(m, moduleName).body.HostConfig ?? "none")}`,
    );
    await engine.json("DELETE", `/images/${built.Id}?force=1&noprune=1`);
    if (options.first) {
        await checks.check(`${label} the registry refuses a pull with a wrong password`, async () => {
            const wrong = deploymentManifest(config, { ...registry, pull: { ...registry.pull, password: "not-the-password" } }, imageRef);
            const refused = await pullModuleImage(engine, wrong, moduleName).then(
                () => undefined,
                (error: Error) => error.message,
            );
            assertThat(refused, "the pull succeeded");
            return refused.replace(/\s+/g, " ").slice(0, 120);
        });
    }
    await checks.step(
        `${label} pull by digest with the pull token in the manifest's registryCredentials (the local copy removed first)`,
        async () => {
            assertThat(!(await engine.imageExists(imageRef)), "the image was still there before the pull");
            const status = await pullModuleImage(engine, manifest, moduleName);
            const pulled = await engine.json<{ Id: string }>("GET", `/images/${encodeURIComponent(imageRef)}/json`);
            assertThat(pulled.Id === built.Id, `pulled ${pulled.Id}, built ${built.Id}`);
            return `${status}; same image id as built`;
        },
        (detail) => detail,
    );
    if (options.first) {
        await checks.check(`${label} Docker rejects createOptions it cannot take (HostConfig.Memory as a string)`, async () => {
            const bad = deploymentManifest(config, registry, imageRef, { HostConfig: { Memory: "256m" } });
            const refusal = await createModuleContainer(engine, bad, moduleName).then(
                () => undefined,
                (error: Error) => error.message,
            );
            assertThat(refusal, "Docker created the container");
            assertThat((await engine.request("GET", `/containers/${moduleName}/json`)).status === 404, "a container was left behind");
            return refusal;
        });
    }

    const request = containerCreateRequest(manifest, moduleName);
    const bindings = (
        request.body.HostConfig as { PortBindings?: Record<string, Array<{ HostIp?: string; HostPort?: string }>> } | undefined
    )?.PortBindings;
    const published = bindings?.["5001/tcp"]?.[0];
    const hostPort = Number(published?.HostPort ?? 0);
    if (hostPort)
        await checks.step(`${label} host port ${published?.HostIp ?? "0.0.0.0"}:${hostPort} (scoringHostPort) is free`, async () => {
            assertThat(await portIsFree(hostPort), `something on this machine listens on ${hostPort}; stop it and run again`);
        });
    const id = await checks.step(
        `${label} container created from the manifest over the Engine API`,
        () => createModuleContainer(engine, manifest, moduleName),
        (i) => i.slice(0, 12),
    );
    host.cleanup.add(`remove container ${id.slice(0, 12)}`, async () => void (await engine.request("DELETE", `/containers/${id}?force=1`)));
    const startedAt = Date.now();
    await engine.json("POST", `/containers/${id}/start`);
    const address = hostPort
        ? { host: published?.HostIp && published.HostIp !== "0.0.0.0" ? published.HostIp : "127.0.0.1", port: hostPort }
        : { host: (await inspect(engine, id)).NetworkSettings.IPAddress, port: 5001 };
    const client = new ScoringClient(address.host, address.port);
    host.cleanup.add("close the HTTP client", () => client.close());
    try {
        const toHealthy = await checks.step(
            `${label} GET / answers Healthy (http://${address.host}:${address.port}/)`,
            async () => {
                const ms = await client.firstHealthyAnswer(startedAt, 60_000);
                const answer = await client.request("GET", "/");
                assertThat(answer.text.trim() === "Healthy", `GET / answered ${answer.status} ${answer.text.slice(0, 80)}`);
                return ms;
            },
            (ms) => `${ms} ms after start`,
        );
        host.figures.push(`${label} container start to first Healthy ${toHealthy} ms`);
    } catch (error) {
        console.log((await run(cli, ["logs", "--tail", "40", id], { env: docker.cliEnv })).stdout);
        throw error;
    }

    const sample = path.join(appDir, "sample-request.json");
    const reference = path.join(appDir, "predict_reference.py");
    if (fs.existsSync(sample)) {
        const body = fs.readFileSync(sample, "utf8");
        await checks.check(
            `${label} POST /score on ${path.relative(REPO_ROOT, sample)}${fs.existsSync(reference) ? " equals the framework's own predictions (predict_reference.py, outside the container)" : " answers 200"}`,
            async () => {
                const answer = await client.request("POST", "/score", body);
                assertThat(answer.status === 200, `answered ${answer.status}: ${answer.text.slice(0, 300)}`);
                if (!fs.existsSync(reference)) return answer.text.slice(0, 120);
                const env = { ...process.env, PYTHONPATH: path.resolve(REPO_ROOT, SCORING_RUNTIME_DIR, "api") };
                const expected = JSON.parse((await mustRun(HOST_PYTHON, [reference, model.path, sample], { env })).stdout);
                assertThat(
                    sameAnswer(answer.json, expected),
                    `the module answered ${answer.text.slice(0, 300)}, the framework ${JSON.stringify(expected).slice(0, 300)}`,
                );
                return `equal: ${answer.text.slice(0, 100)}${answer.text.length > 100 ? "…" : ""}`;
            },
        );
        await checks.check(`${label} /score over one kept-alive connection, ${LATENCY_REQUESTS} requests`, async () => {
            const latencies = await client.latencies(body, LATENCY_REQUESTS);
            const figure = `p50 ${percentile(latencies, 50).toFixed(2)} ms, p99 ${percentile(latencies, 99).toFixed(2)} ms`;
            host.figures.push(`${label} POST /score over one kept-alive connection: ${figure}`);
            return figure;
        });
    } else {
        console.log(
            `      ${path.relative(REPO_ROOT, appDir)} has no sample-request.json: /score is not called with the module's own input`,
        );
    }
    if (options.request) {
        await checks.check(`${label} POST /score with ${options.request}`, async () => {
            const answer = await client.request("POST", "/score", fs.readFileSync(path.resolve(options.request!)));
            console.log(`      status ${answer.status}\n      ${answer.text}`);
            return `status ${answer.status}`;
        });
    }
    await checks.check(`${label} a body that is not UTF-8 gets 400 with a JSON message, and the module keeps serving`, async () => {
        const answer = await client.request("POST", "/score", Buffer.from([0xff, 0xfe, 0x80, 0x7b]));
        assertThat(
            answer.status === 400 && typeof (answer.json as { message?: unknown })?.message === "string",
            `answered ${answer.status} ${answer.text}`,
        );
        assertThat(
            (await client.request("GET", "/")).status === 200 && (await inspect(engine, id)).State.Running,
            "the module stopped answering",
        );
        return answer.text;
    });
    await checks.check(`${label} the process runs as a non-root user`, async () => {
        const pid = (await inspect(engine, id)).State.Pid;
        const uids = /^Uid:\s+(.*)$/m
            .exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]
            .split(/\s+/)
            .map(Number) ?? [0];
        assertThat(
            uids.every((uid) => uid !== 0),
            `uids ${uids.join(" ")}`,
        );
        return `uid ${uids[0]}`;
    });
    if (options.first) {
        await checks.check(`${label} the image's HEALTHCHECK reaches healthy`, async () => {
            const deadline = startedAt + 90_000;
            for (;;) {
                const health = (await inspect(engine, id)).State.Health;
                assertThat(health, "the container has no health status (no HEALTHCHECK?)");
                if (health.Status === "healthy")
                    return `healthy ${((Date.now() - startedAt) / 1000).toFixed(1)} s after start (first probe after --interval=30s)`;
                assertThat(health.Status !== "unhealthy", `unhealthy: ${health.Log?.at(-1)?.Output ?? ""}`);
                assertThat(Date.now() < deadline, `still ${health.Status} after 90 s`);
                await new Promise((resolve) => setTimeout(resolve, 500));
            }
        });
    }
    client.close();
    if (options.benchSeconds) await benchInImage(host, label, imageRef, config.scoring.entryScript, model, options.benchSeconds);
    await checks.check(`${label} docker stop ends it in under ${STOP_LIMIT_MS / 1000} s with exit code 0`, async () => {
        const started = Date.now();
        await mustRun(cli, ["stop", id], { env: docker.cliEnv });
        const elapsed = Date.now() - started;
        const state = (await inspect(engine, id)).State;
        assertThat(elapsed < STOP_LIMIT_MS && state.ExitCode === 0, `took ${elapsed} ms, exit code ${state.ExitCode}`);
        return `${elapsed} ms, exit code 0`;
    });
    await engine.request("DELETE", `/containers/${id}?force=1`);
}

/** The same module with its model registered elsewhere: downloaded from Azurite with a SAS, as `existingModel` is. */
async function registeredModelCheck(
    host: ImageTestHost,
    sources: { runtimeDir: string; appDir: string; modelPath: string; requirements: string[] },
    buildArgs: Record<string, string>,
    model: { name: string; path: string },
): Promise<void> {
    await host.checks.check(
        "build a module whose model is registered elsewhere (downloaded from Azurite with a read-and-list SAS)",
        async () => {
            const staged = await stageRegisteredModelContext(
                sources,
                model.path,
                path.join(host.runDir, "registered-context"),
                "7",
                model.name,
            );
            const tag = "edgeml-image-test/registered:latest";
            await buildWithBuildKit(host, "build-registered", staged.destination, tag, { ...buildArgs, MODEL_VERSION: "7" });
            const inImage = `/var/azureml-app/azureml-models/${model.name}/7/${path.basename(model.path)}`;
            const script = `import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], 'rb').read()).hexdigest())`;
            const single = fs.statSync(model.path).isFile();
            const carried = single
                ? (
                      await mustRun(host.cli, ["run", "--rm", "--network", "none", tag, "python", "-c", script, inImage], {
                          env: host.docker.cliEnv,
                      })
                  ).stdout.trim()
                : staged.modelSha256;
            assertThat(
                carried === staged.modelSha256,
                `the image carries ${carried.slice(0, 12)}, not the registered ${staged.modelSha256.slice(0, 12)}`,
            );
            return `carries the registered model at ${inImage} (sha256 ${staged.modelSha256.slice(0, 12)}), version 7`;
        },
    );
}

/**
 * Entry scripts that fail, in the same image (the user's folder swapped): init() raising must end the process with
 * a non-zero exit and the traceback in its log, so edgeAgent's backoff shows it; run() raising must answer 500 with
 * a JSON message while the module keeps serving.
 */
async function failingEntryScriptChecks(
    host: ImageTestHost,
    sources: { runtimeDir: string; appDir: string; modelPath: string; requirements: string[] },
    buildArgs: Record<string, string>,
): Promise<void> {
    const scripts = {
        "init-raises":
            "def init():\n    raise RuntimeError('the model file is not where init() looks')\n\n\ndef run(data):\n    return data\n",
        "run-raises": "def init():\n    pass\n\n\ndef run(data):\n    raise ValueError('run() cannot score this: ' + data[:20])\n",
    };
    const images: Record<string, string> = {};
    for (const [name, script] of Object.entries(scripts)) {
        const app = path.join(host.runDir, `app-${name}`);
        fs.mkdirSync(app, { recursive: true });
        fs.writeFileSync(path.join(app, "score.py"), script);
        const context = path.join(host.runDir, `context-${name}`);
        writeStagedContext(context, moduleContextFiles({ ...sources, appDir: app }, localModelFiles(sources.modelPath)), [app]);
        images[name] = `edgeml-image-test/${name}:latest`;
        await buildWithBuildKit(host, `build-${name}`, context, images[name], { ...buildArgs, ENTRY_SCRIPT: "score.py" });
    }
    const engine = host.docker.engine;
    await host.checks.check("an entry script whose init() raises: the container exits non-zero with the traceback in its log", async () => {
        const started = await mustRun(host.cli, ["run", "-d", "--network", "none", images["init-raises"]], { env: host.docker.cliEnv });
        const id = started.stdout.trim();
        host.cleanup.add(
            `remove container ${id.slice(0, 12)}`,
            async () => void (await engine.request("DELETE", `/containers/${id}?force=1`)),
        );
        const code = Number((await mustRun(host.cli, ["wait", id], { env: host.docker.cliEnv })).stdout.trim());
        const logs = await run(host.cli, ["logs", id], { env: host.docker.cliEnv });
        const text = `${logs.stdout}\n${logs.stderr}`;
        assertThat(code !== 0, `exit code ${code}`);
        assertThat(
            /Traceback/.test(text) && /the model file is not where init\(\) looks/.test(text),
            `the log has no traceback: ${text.slice(-400)}`,
        );
        return `exit code ${code}, traceback logged`;
    });
    await host.checks.check("an entry script whose run() raises: 500 with a JSON message, and the module keeps serving", async () => {
        const started = await mustRun(host.cli, ["run", "-d", images["run-raises"]], { env: host.docker.cliEnv });
        const id = started.stdout.trim();
        host.cleanup.add(
            `remove container ${id.slice(0, 12)}`,
            async () => void (await engine.request("DELETE", `/containers/${id}?force=1`)),
        );
        const client = new ScoringClient((await inspect(engine, id)).NetworkSettings.IPAddress, 5001);
        try {
            await client.firstHealthyAnswer(Date.now(), 30_000);
            const answer = await client.request("POST", "/score", '{"data": [1]}');
            const message = (answer.json as { message?: unknown } | undefined)?.message;
            assertThat(answer.status === 500 && typeof message === "string", `answered ${answer.status} ${answer.text}`);
            const again = await client.request("GET", "/");
            assertThat(again.status === 200 && (await inspect(engine, id)).State.Running, "the module stopped serving");
            const logs = await run(host.cli, ["logs", id], { env: host.docker.cliEnv });
            assertThat(/Traceback[\s\S]*cannot score/.test(`${logs.stdout}\n${logs.stderr}`), "run()'s traceback is not in the log");
            return `500 ${answer.text.slice(0, 100)}; traceback logged; GET / still 200`;
        } finally {
            client.close();
            await engine.request("DELETE", `/containers/${id}?force=1`);
        }
    });
}

/** Flask and gunicorn, as Azure ML's inference server runs an entry script: installed only into the bench's image. */
const AZURE_ML_STACK = ["Flask==3.1.3", "gunicorn==26.2.0"];

/**
 * The runtime's bench.py inside the module's own image (plus Flask and gunicorn, in an image derived for the bench
 * only), so both servers run the same entry script, model, Python and packages, in the same container and limits.
 * Prints its table; a figure, never a check of speed.
 */
async function benchInImage(
    host: ImageTestHost,
    label: string,
    imageRef: string,
    entryScript: string,
    model: { name: string; version: string },
    seconds: number,
): Promise<void> {
    await host.checks.check(
        `${label} bench: edgeml's runtime beside Flask + gunicorn in the same image (${seconds} s of load each)`,
        async () => {
            const leftOut = await host.provide(AZURE_ML_STACK);
            assertThat(leftOut.length === 0, `the package index lacks ${leftOut.map((p) => p.pin).join(", ")}`);
            const context = path.join(host.runDir, `bench-${label.replace(/\W/g, "")}`);
            fs.mkdirSync(context, { recursive: true });
            fs.copyFileSync(path.resolve(REPO_ROOT, SCORING_RUNTIME_DIR, "bench.py"), path.join(context, "bench.py"));
            fs.writeFileSync(
                path.join(context, "Dockerfile"),
                [
                    "ARG IMAGE",
                    "FROM ${IMAGE}",
                    "USER root",
                    "ARG PIP_NO_INDEX",
                    "ARG PIP_FIND_LINKS",
                    "ARG PIP_TRUSTED_HOST",
                    "COPY bench.py /opt/edgeml/runtime/bench.py",
                    // The module's environment has no pip of its own: the base's pip installs into it.
                    `RUN PATH=/usr/local/bin:/usr/bin:/bin python3 -m pip --python /opt/edgeml/venv/bin/python install ${AZURE_ML_STACK.join(" ")}`,
                    "USER 10001",
                    "",
                ].join("\n"),
            );
            const tag = "edgeml-image-test/bench:latest";
            await buildWithBuildKit(host, "build-bench", context, tag, { IMAGE: imageRef, ...host.offline });
            const modelDir = `/var/azureml-app/azureml-models/${model.name}/${model.version}`;
            const args = [
                "run",
                "--rm",
                "--network",
                "none",
                tag,
                "python",
                "/opt/edgeml/runtime/bench.py",
                "--app-dir",
                "/var/azureml-app",
            ];
            args.push("--entry-script", entryScript, "--model-dir", modelDir, "--seconds", String(seconds), "--flask-python", "python");
            const output = (await mustRun(host.cli, args, { env: host.docker.cliEnv })).stdout;
            console.log(output.replace(/^/gm, "      "));
            host.figures.push(`${label} bench (in the image, ${seconds} s of load each):\n${output.trim().replace(/^/gm, "      ")}`);
            return "figures below";
        },
    );
}

/** An offline BuildKit build on the test's engine, for this machine's platform, logged to <log>.log. */
function buildWithBuildKit(
    host: ImageTestHost,
    log: string,
    context: string,
    tag: string,
    buildArgs: Record<string, string>,
): Promise<void> {
    return dockerBuild({
        cli: host.cli,
        cliEnv: host.docker.cliEnv,
        platform: host.platform,
        logFile: host.log(log),
        builder: "buildkit",
        context,
        tag,
        buildArgs,
    });
}
