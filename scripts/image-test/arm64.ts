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
const HOT_MESSAGE = {
    machine: { temperature: 106.0, pressure: 10.7 },
    ambient: { temperature: 21.0, humidity: 25 },
    timeCreated: "2024-01-01T00:00:00Z",
};

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
    scoringDir: string;
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
        `myenv.yml's pins for ${PLATFORM}`,
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
            `build scoring/ for ${PLATFORM} with ${builder === "buildkit" ? "BuildKit" : "the classic builder"} (offline, under emulation)`,
            async () => {
                const started = Date.now();
                await dockerBuild({
                    cli: ctx.cli,
                    cliEnv: ctx.cliEnv,
                    builder,
                    context: ctx.scoringDir,
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
    await checks.check(`the ${PLATFORM} image scores a message (under emulation)`, async () => {
        const script = `import json, platform, score; score.init(); print(platform.machine(), json.loads(score.run(${JSON.stringify(JSON.stringify(HOT_MESSAGE))}))["anomaly"])`;
        const args = ["run", "--rm", "--network", "none", "--platform", PLATFORM, tags.buildkit, "python", "-c", script];
        const output = (await mustRun(ctx.cli, args, { env: ctx.cliEnv })).stdout.trim();
        assertThat(output === "aarch64 True", `printed ${output}`);
        return `machine aarch64, an overheating message scored as an anomaly`;
    });
    return figures;
}
