// `npm run test:image -- --arm64`: the same Dockerfile built for linux/arm64 (the Raspberry Pi class of edge device)
// with both builders on this amd64 machine, under QEMU emulation, from an arm64 Debian base bootstrapped here, and
// the image scoring a message under emulation. Not in CI by default: the arm64 debootstrap alone runs ~7 minutes.
import { ensureBaseImage } from "./base-image";
import { dockerBuild, Builder } from "./build";
import { assertThat, Checks, megabytes } from "./checks";
import { Engine } from "./engine";
import { ensureArm64Emulation } from "./emulation";
import { mustRun } from "./host";
import { pinName, resolvePins } from "./pins";

const PLATFORM = "linux/arm64";
// Inside the arm64 container: start the module as its CMD does, wait for Healthy, post the staged app's
// sample-request.json (or "{}"), print the machine and the status.
const SCORE_ONCE = [
    "import os, platform, subprocess, time, urllib.request",
    "server = subprocess.Popen(['python', '-m', 'edgeml_server'])",
    "for _ in range(600):",
    "    try:",
    "        urllib.request.urlopen('http://127.0.0.1:5001/', timeout=1); break",
    "    except OSError:",
    "        time.sleep(0.5)",
    "sample = 'sample-request.json'",
    "body = open(sample, 'rb').read() if os.path.exists(sample) else b'{}'",
    "answer = urllib.request.urlopen(urllib.request.Request('http://127.0.0.1:5001/score', data=body), timeout=120)",
    "print(platform.machine(), answer.status)",
    "server.terminate()",
].join("\n");

export interface Arm64Context {
    checks: Checks;
    engine: Engine;
    cli: string;
    cliEnv: NodeJS.ProcessEnv;
    runDir: string;
    log: (name: string) => string;
    configuredBase: string;
    pip: { python: string; pins: string[]; pythonVersion: string; wheelhouse: string };
    /** The find-links URL and trusted host the offline build is given. */
    index: { url: string; host: string };
    /** The staged build context (image-test/module-image.ts stages it as ScoringImage does). */
    context: string;
    model: { name: string; version: string };
}

export async function arm64Checks(ctx: Arm64Context): Promise<string[]> {
    const { checks, engine } = ctx;
    const figures: string[] = [];
    await checks.step(
        `QEMU user emulation for ${PLATFORM} (qemu-user-static, binfmt_misc)`,
        () => ensureArm64Emulation(ctx.log("apt")),
        (detail) => detail,
    );
    const base = await checks.step(
        `${PLATFORM} base image`,
        () =>
            ensureBaseImage({
                engine,
                configured: ctx.configuredBase,
                platform: PLATFORM,
                cli: ctx.cli,
                cliEnv: ctx.cliEnv,
                workDir: ctx.runDir,
                logFile: ctx.log("debootstrap-arm64"),
            }),
        (b) => `${b.image}, ${b.origin}`,
    );
    const pins = await checks.step(
        `the module's requirements for ${PLATFORM}`,
        () => resolvePins({ ...ctx.pip, platform: PLATFORM }),
        (p) => `${p.kept.length} of ${ctx.pip.pins.length} installable: ${p.kept.join(" ") || "none"}`,
    );
    const buildArgs = {
        BASE_IMAGE: base.image,
        MODEL_NAME: ctx.model.name,
        MODEL_VERSION: ctx.model.version,
        PIP_NO_INDEX: "1",
        PIP_FIND_LINKS: ctx.index.url,
        PIP_TRUSTED_HOST: ctx.index.host,
        OMIT_PINS: pins.leftOut.map((p) => pinName(p.pin)).join(","),
    };
    const tags: Record<Builder, string> = {
        buildkit: "edgeml-image-test/arm64-buildkit:latest",
        classic: "edgeml-image-test/arm64-classic:latest",
    };
    for (const builder of ["buildkit", "classic"] as const) {
        await checks.check(
            `build the staged module for ${PLATFORM} with ${builder === "buildkit" ? "BuildKit" : "the classic builder"} (offline, under emulation)`,
            async () => {
                const started = Date.now();
                await dockerBuild({
                    cli: ctx.cli,
                    cliEnv: ctx.cliEnv,
                    builder,
                    context: ctx.context,
                    tag: tags[builder],
                    platform: PLATFORM,
                    buildArgs,
                    logFile: ctx.log("build-arm64"),
                });
                const image = await engine.json<{ Architecture: string; Size: number }>(
                    "GET",
                    `/images/${encodeURIComponent(tags[builder])}/json`,
                );
                assertThat(image.Architecture === "arm64", `the image is ${image.Architecture}`);
                figures.push(
                    `${PLATFORM} image (${builder}) ${megabytes(image.Size)}, built in ${Math.round((Date.now() - started) / 1000)} s under emulation`,
                );
                return `architecture arm64, ${megabytes(image.Size)}`;
            },
        );
    }
    await checks.check(`the ${PLATFORM} image serves /score (under emulation)`, async () => {
        const args = ["run", "--rm", "--network", "none", "--platform", PLATFORM, tags.buildkit, "python", "-c", SCORE_ONCE];
        const output = (await mustRun(ctx.cli, args, { env: ctx.cliEnv })).stdout.trim().split("\n").pop() ?? "";
        assertThat(output === "aarch64 200", `printed ${output}`);
        return "machine aarch64, POST /score answered 200";
    });
    return figures;
}
