// The machine side of the image test: commands run to completion, the background processes it starts (stopped by
// their PID, never by name), the Debian packages it needs, and the cleanup that runs on success, failure and signals.
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";

export interface RunResult {
    code: number;
    stdout: string;
    stderr: string;
}

export interface RunOptions {
    env?: NodeJS.ProcessEnv;
    cwd?: string;
    input?: string;
    /** Appends stdout and stderr to this file instead of keeping them (long outputs: apt, debootstrap, builds). */
    logFile?: string;
    timeoutMs?: number;
    /** A cleanup step's command (umount, ip link delete): it runs after a signal too. */
    cleanup?: boolean;
}

// Commands running now (pip, debootstrap, docker build, ...): a signal's cleanup stops them first, by PID, and
// no new one starts after a signal but the cleanup's own.
const running = new Set<ChildProcess>();
let interrupted = false;

/** Runs a command to its end; never throws for a non-zero exit (see mustRun). */
export function run(command: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
    if (interrupted && !options.cleanup) return Promise.reject(new Error(`interrupted: not starting ${command}`));
    return new Promise((resolve, reject) => {
        const log = options.logFile ? fs.openSync(options.logFile, "a") : undefined;
        const child = spawn(command, args, {
            env: options.env ?? process.env,
            cwd: options.cwd,
            stdio: [options.input === undefined ? "ignore" : "pipe", log ?? "pipe", log ?? "pipe"],
        });
        running.add(child);
        let stdout = "";
        let stderr = "";
        child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
        const timer = options.timeoutMs ? setTimeout(() => child.kill("SIGKILL"), options.timeoutMs) : undefined;
        child.on("error", (error) => {
            running.delete(child);
            if (timer) clearTimeout(timer);
            if (log !== undefined) fs.closeSync(log);
            reject(error);
        });
        child.on("close", (code, signal) => {
            running.delete(child);
            if (timer) clearTimeout(timer);
            if (log !== undefined) fs.closeSync(log);
            resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
        });
        if (options.input !== undefined) child.stdin?.end(options.input);
    });
}

/** Runs a command and throws with its output's tail (or its log file's) when it fails. */
export async function mustRun(command: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
    const result = await run(command, args, options);
    if (result.code !== 0) {
        const output = options.logFile ? tail(options.logFile) : `${result.stdout}\n${result.stderr}`.trim();
        throw new Error(`${command} ${args.join(" ")} exited with ${result.code}:\n${indent(lastLines(output, 25))}`);
    }
    return result;
}

export function tail(file: string, lines = 25): string {
    return fs.existsSync(file) ? lastLines(fs.readFileSync(file, "utf8"), lines) : `(no ${file})`;
}

function lastLines(text: string, count: number): string {
    return text.trimEnd().split("\n").slice(-count).join("\n");
}

export function indent(text: string): string {
    return text.replace(/^/gm, "    ");
}

/** Whether a command is on PATH (or an absolute path that exists). */
export function hasCommand(command: string): boolean {
    if (command.includes("/")) return fs.existsSync(command);
    return (process.env.PATH ?? "").split(":").some((dir) => dir && fs.existsSync(`${dir}/${command}`));
}

/** What the test needs, as command -> the Debian package that provides it (bookworm). */
export const REQUIRED_COMMANDS: Record<string, string> = {
    dockerd: "docker.io",
    debootstrap: "debootstrap",
    iptables: "iptables",
    "docker-registry": "docker-registry",
    htpasswd: "apache2-utils",
    ip: "iproute2",
    python3: "python3",
};

/** Installs the packages of missing commands (and python3-venv, for the pip download); returns what it installed. */
export async function installMissingPackages(logFile: string): Promise<string[]> {
    const missing = new Set(Object.entries(REQUIRED_COMMANDS).flatMap(([command, pkg]) => (hasCommand(command) ? [] : [pkg])));
    if (!fs.existsSync("/usr/bin/docker") && !hasCommand("docker")) missing.add("docker.io");
    if ((await run("python3", ["-c", "import venv, ensurepip"]).catch(() => ({ code: 1 }))).code !== 0) missing.add("python3-venv");
    await aptInstall([...missing], logFile);
    return [...missing];
}

/** apt-get install of `packages` (none: nothing), refusing the service starts their install scripts would make. */
export async function aptInstall(packages: string[], logFile: string): Promise<void> {
    if (packages.length === 0) return;
    if (!hasCommand("apt-get")) throw new Error(`missing ${packages.join(", ")} and no apt-get to install them with`);
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    // Debian's docker.io and docker-registry start system services on install; the test runs its own daemons and
    // must leave none behind, so (unless the machine has its own policy) service starts are refused meanwhile.
    const policy = "/usr/sbin/policy-rc.d";
    const ownPolicy = !fs.existsSync(policy);
    if (ownPolicy)
        fs.writeFileSync(policy, "#!/bin/sh\n# npm run test:image: no service starts during its apt-get install\nexit 101\n", {
            mode: 0o755,
        });
    try {
        await mustRun("apt-get", ["update", "-q"], { env, logFile });
        await mustRun("apt-get", ["install", "-y", "-q", "--no-install-recommends", ...packages], { env, logFile });
    } finally {
        if (ownPolicy) fs.rmSync(policy, { force: true });
    }
}

/** A background process this test started, known by its PID. */
export interface Background {
    name: string;
    pid: number;
    child: ChildProcess;
    /** Resolves with the exit code (or 128+signal) once it ended. */
    exited: Promise<number>;
}

export function startBackground(name: string, command: string, args: string[], logFile: string, env?: NodeJS.ProcessEnv): Background {
    const log = fs.openSync(logFile, "a");
    // Its own process group: a Ctrl-C reaches this test, which stops it in order, not the daemon behind its back.
    const child = spawn(command, args, { stdio: ["ignore", log, log], detached: true, env: env ?? process.env });
    fs.closeSync(log);
    if (child.pid === undefined) throw new Error(`could not start ${command}`);
    const exited = new Promise<number>((resolve) => child.on("exit", (code, signal) => resolve(code ?? (signal ? 128 : 1))));
    return { name, pid: child.pid, child, exited };
}

/** SIGTERM to that PID, then SIGKILL to it after `graceMs`; resolves once it has exited. */
export async function stopBackground(process_: Background, graceMs = 20_000): Promise<void> {
    if (process_.child.exitCode !== null || process_.child.signalCode !== null) return;
    process.kill(process_.pid, "SIGTERM");
    const timer = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), graceMs).unref());
    if ((await Promise.race([process_.exited, timer])) === "timeout") {
        process.kill(process_.pid, "SIGKILL");
        await process_.exited;
    }
}

export function isAlive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
}

/** SIGTERM to each command still running (by its PID), then SIGKILL after 5 s; resolves once they have ended. */
async function stopRunningCommands(): Promise<void> {
    await Promise.all(
        [...running].map(async (child) => {
            const ended = new Promise<void>((resolve) => child.once("close", () => resolve()));
            if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
            process.kill(child.pid, "SIGTERM");
            const timer = setTimeout(() => child.pid !== undefined && isAlive(child.pid) && process.kill(child.pid, "SIGKILL"), 5_000);
            await ended;
            clearTimeout(timer);
        }),
    );
}

/** Mount points at or below `dir`, outermost first (from /proc/self/mounts; octal escapes decoded). */
export function mountsUnder(dir: string): string[] {
    return fs
        .readFileSync("/proc/self/mounts", "utf8")
        .split("\n")
        .map((line) => (line.split(" ")[1] ?? "").replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))))
        .filter((mountPoint) => mountPoint === dir || mountPoint.startsWith(`${dir}/`));
}

/**
 * Removes a folder this test made, after unmounting whatever is mounted below it (dockerd's network namespace, or
 * the /proc, /sys and /dev an interrupted debootstrap left in its tree), so the removal never reaches into a mount.
 */
export async function removeTree(dir: string): Promise<void> {
    for (const mountPoint of mountsUnder(dir).reverse()) await run("umount", ["-l", mountPoint], { cleanup: true });
    const left = mountsUnder(dir);
    if (left.length > 0) throw new Error(`not removing ${dir}: still mounted below it: ${left.join(", ")}`);
    fs.rmSync(dir, { recursive: true, force: true });
}

/** A TCP port free on `host` right now. */
export function freePort(host = "127.0.0.1"): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.once("error", reject);
        server.listen(0, host, () => {
            const port = (server.address() as net.AddressInfo).port;
            server.close(() => resolve(port));
        });
    });
}

/** Whether a TCP port can be bound on all addresses (as a published container port would be). */
export function portIsFree(port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const server = net.createServer();
        server.once("error", () => resolve(false));
        server.listen(port, "0.0.0.0", () => server.close(() => resolve(true)));
    });
}

/** Undo steps run last-in first-out, once, whatever happens; signals run them before the process exits. */
export class Cleanup {
    private readonly steps: Array<{ name: string; undo: () => Promise<void> | void }> = [];
    private running: Promise<void> | undefined;

    constructor() {
        for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
            process.once(signal, () => {
                console.log(`\n${signal}: stopping what this test started`);
                interrupted = true;
                void this.run().finally(() => process.exit(130));
            });
        }
    }

    add(name: string, undo: () => Promise<void> | void): void {
        this.steps.push({ name, undo });
    }

    run(): Promise<void> {
        this.running ??= (async () => {
            await stopRunningCommands();
            for (const step of this.steps.reverse()) {
                try {
                    await step.undo();
                } catch (error) {
                    console.log(`cleanup: ${step.name} failed: ${(error as Error).message}`);
                }
            }
        })();
        return this.running;
    }
}
