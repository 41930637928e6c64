// The base image when the configured one (python:3.11-slim) is not in the engine and no registry can be pulled
// from: Debian bookworm's own Python 3.11, bootstrapped with debootstrap from the Debian mirror and made an image
// (FROM scratch + the tree, so the image records the platform it was bootstrapped for), under a tag of its own
// that the Dockerfile's BASE_IMAGE build arg then selects.
import * as fs from "fs";
import * as path from "path";
import { Engine } from "./engine";
import { mustRun, removeTree } from "./host";

const SUITE = "bookworm";
// What python:3.11-slim has that the Dockerfile uses: python3, pip (the builder stage), venv.
const PACKAGES = ["python3", "python3-pip", "python3-venv"];
// Not needed at run time, and most of a minbase tree's size: package caches, docs, man pages, translations.
const TRIMMED = ["var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man", "usr/share/locale", "usr/share/info"];
const DOCKERFILE = [
    "FROM scratch",
    "ADD rootfs.tar /",
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8",
    'CMD ["python3"]',
    "",
];

/** The local base image's tag for a platform: edgeml-local/python:3.11-bookworm (-arm64 for linux/arm64). */
export function localBaseImage(platform: string): string {
    return `edgeml-local/python:3.11-${SUITE}${platform === "linux/amd64" ? "" : `-${debianArch(platform)}`}`;
}

function debianArch(platform: string): string {
    const arch = { "linux/amd64": "amd64", "linux/arm64": "arm64" }[platform];
    if (!arch) throw new Error(`no Debian architecture for ${platform}`);
    return arch;
}

export interface BaseImage {
    image: string;
    /** How it came to be there: "present", or how it was made and how long that took. */
    origin: string;
}

async function presentFor(engine: Engine, image: string, platform: string): Promise<boolean> {
    const answer = await engine.request("GET", `/images/${encodeURIComponent(image)}/json`);
    return answer.status === 200 && (JSON.parse(answer.body) as { Architecture?: string }).Architecture === debianArch(platform);
}

export async function ensureBaseImage(options: {
    engine: Engine;
    configured: string;
    platform: string;
    cli: string;
    cliEnv: NodeJS.ProcessEnv;
    workDir: string;
    logFile: string;
}): Promise<BaseImage> {
    const local = localBaseImage(options.platform);
    if (await presentFor(options.engine, options.configured, options.platform)) return { image: options.configured, origin: "present" };
    if (await presentFor(options.engine, local, options.platform)) return { image: local, origin: "present (made by an earlier run)" };
    const started = Date.now();
    const dir = path.join(options.workDir, `base-${debianArch(options.platform)}`);
    const rootfs = path.join(dir, "rootfs");
    await removeTree(dir);
    fs.mkdirSync(dir, { recursive: true });
    const mirror = process.env.EDGEML_DEBIAN_MIRROR || "http://deb.debian.org/debian";
    try {
        // A foreign architecture runs its maintainer scripts under QEMU (binfmt), which debootstrap finds by itself.
        const args = [
            `--arch=${debianArch(options.platform)}`,
            "--variant=minbase",
            `--include=${PACKAGES.join(",")}`,
            SUITE,
            rootfs,
            mirror,
        ];
        await mustRun("debootstrap", args, { logFile: options.logFile });
        for (const trimmed of TRIMMED) {
            const full = path.join(rootfs, trimmed);
            if (!fs.existsSync(full)) continue;
            for (const entry of fs.readdirSync(full)) {
                if (entry !== "partial" && entry !== "lock") fs.rmSync(path.join(full, entry), { recursive: true, force: true });
            }
        }
        await mustRun("tar", ["-C", rootfs, "--numeric-owner", "-cf", path.join(dir, "rootfs.tar"), "."], { logFile: options.logFile });
        await removeTree(rootfs);
        fs.writeFileSync(path.join(dir, "Dockerfile"), DOCKERFILE.join("\n"));
        // No RUN, so no emulation: the tree is added as it is and the image is labelled with the target platform.
        const env = { ...options.cliEnv, DOCKER_BUILDKIT: "1" };
        await mustRun(options.cli, ["build", "--platform", options.platform, "--tag", local, dir], { env, logFile: options.logFile });
    } finally {
        await removeTree(dir);
    }
    return {
        image: local,
        origin: `debootstrap ${SUITE} ${debianArch(options.platform)} + FROM scratch (${Math.round((Date.now() - started) / 1000)} s)`,
    };
}
