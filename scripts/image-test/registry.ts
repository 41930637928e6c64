// A local registry as ACR is to `pulumi up` and edgeAgent: Debian's docker-registry (distribution 2.8) on 127.0.0.1,
// behind basic auth (bcrypt htpasswd) with two username/password pairs, as the stack has them: the admin user that
// pushes the image and the pull token the devices' manifest carries. Its storage is under the run's folder.
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { Cleanup, freePort, mustRun, startBackground, stopBackground, tail } from "./host";

export interface Credentials {
    username: string;
    password: string;
}

export interface LocalRegistry {
    /** host:port, what a login server is. */
    address: string;
    /** Pushes, as the registry's admin user does for `pulumi up`. */
    admin: Credentials;
    /** Pulls, as the stack's pull token does for edgeAgent (distribution does not scope it to reading, ACR does). */
    pull: Credentials;
    pid: number;
}

/** An ACR-like password: 32 characters of base64, with its + / = (the characters that break naive quoting). */
function newPassword(): string {
    return `${randomBytes(21).toString("base64")}+/=`.slice(0, 32);
}

export async function startRegistry(options: {
    runDir: string;
    adminUsername: string;
    pullUsername: string;
    cleanup: Cleanup;
}): Promise<LocalRegistry> {
    const dir = path.join(options.runDir, "registry");
    fs.mkdirSync(dir, { recursive: true });
    const admin = { username: options.adminUsername, password: newPassword() };
    const pull = { username: options.pullUsername, password: newPassword() };
    let entries = "";
    for (const user of [admin, pull]) {
        // -i reads the password from stdin, keeping it out of the process list; -B: distribution accepts bcrypt only.
        entries += (await mustRun("htpasswd", ["-B", "-i", "-n", user.username], { input: user.password })).stdout.trim() + "\n";
    }
    fs.writeFileSync(path.join(dir, "htpasswd"), entries, { mode: 0o600 });
    const port = await freePort();
    const config = [
        "version: 0.1",
        "log:",
        "  level: warn",
        "storage:",
        "  filesystem:",
        `    rootdirectory: ${path.join(dir, "data")}`,
        "http:",
        `  addr: 127.0.0.1:${port}`,
        `  secret: ${randomBytes(16).toString("hex")}`,
        "auth:",
        "  htpasswd:",
        "    realm: edgeml-image-test",
        `    path: ${path.join(dir, "htpasswd")}`,
        "",
    ].join("\n");
    fs.writeFileSync(path.join(dir, "config.yml"), config, { mode: 0o600 });
    const logFile = path.join(dir, "registry.log");
    const registry = startBackground("docker-registry", "docker-registry", ["serve", path.join(dir, "config.yml")], logFile);
    options.cleanup.add(`stop docker-registry (pid ${registry.pid})`, () => stopBackground(registry, 10_000));
    const address = `127.0.0.1:${port}`;
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
        if (registry.child.exitCode !== null) break;
        const answer = await fetch(`http://${address}/v2/`).catch(() => undefined);
        if (answer) return { address, admin, pull, pid: registry.pid };
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`docker-registry did not start on ${address}:\n${tail(logFile, 15)}`);
}

export function basicAuth(username: string, password: string): string {
    return `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
}

/** The status of GET /v2/ with these credentials (none: anonymous). */
export async function registryStatus(registry: LocalRegistry, credentials?: Credentials): Promise<number> {
    const headers: Record<string, string> = credentials ? { Authorization: basicAuth(credentials.username, credentials.password) } : {};
    return (await fetch(`http://${registry.address}/v2/`, { headers })).status;
}

const MANIFEST_TYPES = [
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.index.v1+json",
].join(", ");

/** What the registry stores for one image: config and layers as pushed (compressed), in bytes. */
export async function compressedSize(
    registry: LocalRegistry,
    repository: string,
    digest: string,
): Promise<{ bytes: number; layers: number }> {
    const response = await fetch(`http://${registry.address}/v2/${repository}/manifests/${digest}`, {
        headers: { Authorization: basicAuth(registry.pull.username, registry.pull.password), Accept: MANIFEST_TYPES },
    });
    if (!response.ok) throw new Error(`GET manifest ${digest}: ${response.status}`);
    const manifest = (await response.json()) as { config?: { size: number }; layers?: Array<{ size: number }> };
    if (!manifest.layers) throw new Error(`manifest ${digest} has no layers (a manifest list?)`);
    return {
        bytes: (manifest.config?.size ?? 0) + manifest.layers.reduce((sum, layer) => sum + layer.size, 0),
        layers: manifest.layers.length,
    };
}
