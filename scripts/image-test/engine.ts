// A private Docker engine for the image test and a small client for its API over the unix socket. The daemon gets
// its own data root (kept between runs, so a warm run reuses the base image and build cache), exec root, socket,
// containerd namespace and bridge, and no iptables rules: published ports go through docker-proxy, and containers
// reach the host's bridge address and nothing beyond it. Nothing here touches another daemon on the machine.
import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import { Background, Cleanup, isAlive, mountsUnder, mustRun, run, startBackground, stopBackground, tail } from "./host";

export class EngineError extends Error {
    constructor(
        readonly status: number,
        /** What Docker said, as it said it. */
        readonly dockerMessage: string,
        request: string,
    ) {
        super(`${request}: ${status} ${dockerMessage}`);
    }
}

/** The Docker Engine API on a unix socket: JSON requests, and the JSON-lines streams of pull and push. */
export class Engine {
    constructor(readonly socketPath: string) {}

    request(
        method: string,
        apiPath: string,
        body?: unknown,
        headers: Record<string, string> = {},
    ): Promise<{ status: number; body: string }> {
        const payload = body === undefined ? undefined : JSON.stringify(body);
        return new Promise((resolve, reject) => {
            const request = http.request(
                {
                    socketPath: this.socketPath,
                    path: apiPath,
                    method,
                    headers: {
                        ...(payload !== undefined && { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(payload) }),
                        ...headers,
                    },
                },
                (response) => {
                    let text = "";
                    response.on("data", (chunk: Buffer) => (text += chunk.toString()));
                    response.on("end", () => resolve({ status: response.statusCode ?? 0, body: text }));
                    response.on("error", reject);
                },
            );
            request.on("error", reject);
            request.end(payload);
        });
    }

    /** The parsed answer of a 2xx; otherwise an EngineError with Docker's own message. */
    async json<T>(method: string, apiPath: string, body?: unknown, headers?: Record<string, string>): Promise<T> {
        const response = await this.request(method, apiPath, body, headers);
        if (response.status < 200 || response.status > 299)
            throw new EngineError(response.status, errorMessage(response.body), `${method} ${apiPath}`);
        return (response.body ? JSON.parse(response.body) : undefined) as T;
    }

    /** A JSON-lines progress stream (pull, push, import): its messages; an `error` in it throws. */
    async stream(method: string, apiPath: string, headers?: Record<string, string>): Promise<Array<Record<string, unknown>>> {
        const response = await this.request(method, apiPath, undefined, headers);
        if (response.status !== 200)
            throw new EngineError(response.status, errorMessage(response.body), `${method} ${apiPath.split("?")[0]}`);
        const messages = response.body
            .split("\n")
            .filter((line) => line.trim())
            .map((line) => JSON.parse(line) as Record<string, unknown>);
        const failure = messages.find((message) => message.error);
        if (failure) throw new EngineError(response.status, String(failure.error), `${method} ${apiPath.split("?")[0]}`);
        return messages;
    }

    async imageExists(reference: string): Promise<boolean> {
        return (await this.request("GET", `/images/${encodeURIComponent(reference)}/json`)).status === 200;
    }
}

function errorMessage(body: string): string {
    try {
        return (JSON.parse(body) as { message?: string }).message ?? body;
    } catch {
        return body.trim();
    }
}

export interface Dockerd {
    engine: Engine;
    process: Background;
    storageDriver: string;
    bridge: { name: string; address: string };
    /** DOCKER_HOST and a private DOCKER_CONFIG for the CLI. */
    cliEnv: NodeJS.ProcessEnv;
}

/** The first 10.213.N.0/24 with no address on this machine, and a bridge name no interface has. */
async function freeBridge(): Promise<{ name: string; address: string; cidr: string }> {
    const addresses = (await mustRun("ip", ["-o", "-4", "addr", "show"])).stdout;
    const links = (await mustRun("ip", ["-o", "link", "show"])).stdout;
    for (let n = 57; n < 256; n++) {
        const name = `edgemlimg${n}`;
        if (!addresses.includes(` 10.213.${n}.`) && !links.includes(` ${name}:`))
            return { name, address: `10.213.${n}.1`, cidr: `10.213.${n}.1/24` };
    }
    throw new Error("no free 10.213.N.0/24 subnet for the test bridge");
}

/**
 * Starts dockerd in the background with a private data root, exec root, socket and bridge (created here, deleted in
 * cleanup); overlay2 first, vfs if the kernel refuses it. Registers its stop (by PID) with `cleanup`.
 */
export async function startDockerd(options: { dataRoot: string; runDir: string; cleanup: Cleanup }): Promise<Dockerd> {
    const bridge = await freeBridge();
    await mustRun("ip", ["link", "add", "name", bridge.name, "type", "bridge"]);
    options.cleanup.add(
        `delete bridge ${bridge.name}`,
        async () => void (await run("ip", ["link", "delete", bridge.name], { cleanup: true })),
    );
    await mustRun("ip", ["addr", "add", bridge.cidr, "dev", bridge.name]);
    await mustRun("ip", ["link", "set", bridge.name, "up"]);

    const execRoot = path.join(options.runDir, "exec");
    const socketPath = path.join(options.runDir, "docker.sock");
    const cliConfig = path.join(options.runDir, "docker-config");
    fs.mkdirSync(cliConfig, { recursive: true });
    let lastError = "";
    for (const storageDriver of ["overlay2", "vfs"]) {
        const logFile = path.join(options.runDir, `dockerd-${storageDriver}.log`);
        // The private data root's namespace in containerd too, so a system containerd (if dockerd picks it) is shared safely.
        const dockerd = startBackground(
            "dockerd",
            "dockerd",
            [
                `--data-root=${options.dataRoot}`,
                `--exec-root=${execRoot}`,
                `--pidfile=${path.join(options.runDir, "docker.pid")}`,
                `--host=unix://${socketPath}`,
                `--bridge=${bridge.name}`,
                "--iptables=false",
                "--ip-masq=false",
                "--ip-forward=false",
                "--containerd-namespace=edgeml-image-test",
                "--containerd-plugins-namespace=edgeml-image-test-plugins",
                `--storage-driver=${storageDriver}`,
            ],
            logFile,
        );
        const stop = async () => {
            await stopBackground(dockerd);
            // dockerd stops the containerd it started itself; should it have been killed instead, stop that one too.
            const pidFile = path.join(execRoot, "containerd", "containerd.pid");
            const containerdPid = fs.existsSync(pidFile) ? Number(fs.readFileSync(pidFile, "utf8").trim()) : 0;
            if (
                containerdPid > 0 &&
                isAlive(containerdPid) &&
                fs.readFileSync(`/proc/${containerdPid}/cmdline`, "utf8").includes(execRoot)
            ) {
                process.kill(containerdPid, "SIGTERM");
            }
            // dockerd leaves its default network namespace (exec-root/netns/default) mounted after it exits (and, killed,
            // its layers under the data root).
            for (const mountPoint of [...mountsUnder(execRoot), ...mountsUnder(options.dataRoot)].reverse())
                await run("umount", ["-l", mountPoint], { cleanup: true });
        };
        const engine = new Engine(socketPath);
        if (await ready(engine, dockerd, 60_000)) {
            options.cleanup.add(`stop dockerd (pid ${dockerd.pid})`, stop);
            return {
                engine,
                process: dockerd,
                storageDriver,
                bridge: { name: bridge.name, address: bridge.address },
                cliEnv: { ...process.env, DOCKER_HOST: `unix://${socketPath}`, DOCKER_CONFIG: cliConfig },
            };
        }
        await stop();
        lastError = `dockerd --storage-driver=${storageDriver} did not start:\n${tail(logFile, 15)}`;
    }
    throw new Error(lastError);
}

async function ready(engine: Engine, dockerd: Background, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
        if (dockerd.child.exitCode !== null || dockerd.child.signalCode !== null) return false;
        const ping = await engine.request("GET", "/_ping").catch(() => undefined);
        if (ping?.status === 200) return true;
        await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return false;
}

/** The Docker CLI shipped with the engine package (docker.io's /usr/bin/docker builds with BuildKit without buildx). */
export function dockerCli(): string {
    return fs.existsSync("/usr/bin/docker") ? "/usr/bin/docker" : "docker";
}
