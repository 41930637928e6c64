// The base image when the configured one (python:3.11-slim) is not in the engine and no registry can be pulled
// from: Debian bookworm's own Python 3.11, bootstrapped with debootstrap from the Debian mirror and imported, under
// a tag of its own that the Dockerfile's BASE_IMAGE build arg then selects.
import * as fs from "fs";
import * as path from "path";
import { Engine } from "./engine";
import { mustRun } from "./host";

export const LOCAL_BASE_IMAGE = "edgeml-local/python:3.11-bookworm";
const SUITE = "bookworm";
// What python:3.11-slim has that the Dockerfile uses: python3, pip (the builder stage), venv.
const PACKAGES = ["python3", "python3-pip", "python3-venv"];
// Not needed at run time, and most of a minbase tree's size: package caches, docs, man pages, translations.
const TRIMMED = ["var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man", "usr/share/locale", "usr/share/info"];

export interface BaseImage {
    image: string;
    /** How it came to be there: "present" or "debootstrap (N s)". */
    origin: string;
}

export async function ensureBaseImage(options: {
    engine: Engine;
    configured: string;
    cli: string;
    cliEnv: NodeJS.ProcessEnv;
    workDir: string;
    logFile: string;
}): Promise<BaseImage> {
    if (await options.engine.imageExists(options.configured)) return { image: options.configured, origin: "present" };
    if (await options.engine.imageExists(LOCAL_BASE_IMAGE)) return { image: LOCAL_BASE_IMAGE, origin: "present (built by an earlier run)" };
    const started = Date.now();
    const rootfs = path.join(options.workDir, "rootfs");
    fs.rmSync(rootfs, { recursive: true, force: true });
    const mirror = process.env.EDGEML_DEBIAN_MIRROR || "http://deb.debian.org/debian";
    try {
        await mustRun("debootstrap", ["--variant=minbase", `--include=${PACKAGES.join(",")}`, SUITE, rootfs, mirror], {
            logFile: options.logFile,
        });
        for (const dir of TRIMMED) {
            const full = path.join(rootfs, dir);
            if (!fs.existsSync(full)) continue;
            for (const entry of fs.readdirSync(full)) {
                if (entry !== "partial" && entry !== "lock") fs.rmSync(path.join(full, entry), { recursive: true, force: true });
            }
        }
        const changes = ["ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "ENV LANG=C.UTF-8", 'CMD ["python3"]'];
        const importArgs = changes.flatMap((change) => ["--change", change]);
        const script = `set -o pipefail; tar -C "$1" --numeric-owner -cf - . | "$2" import ${importArgs.map(shellQuote).join(" ")} - "$3"`;
        await mustRun("bash", ["-c", script, "import", rootfs, options.cli, LOCAL_BASE_IMAGE], {
            env: options.cliEnv,
            logFile: options.logFile,
        });
    } finally {
        fs.rmSync(rootfs, { recursive: true, force: true });
    }
    return { image: LOCAL_BASE_IMAGE, origin: `debootstrap ${SUITE} + docker import (${Math.round((Date.now() - started) / 1000)} s)` };
}

function shellQuote(text: string): string {
    return `'${text.replace(/'/g, "'\\''")}'`;
}
