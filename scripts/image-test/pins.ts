// The package index the image build is given. myenv.yml's pins are downloaded from the indexes this machine's pip
// is configured with, each with its dependencies held to the other pins; a pin that cannot be had that way (not in
// the index, or a dependency of it is not) is left out of the build and named. The wheels are then served over HTTP
// on the test bridge's address, the only place the build's network reaches.
import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import { mustRun, run } from "./host";

export interface ResolvedPins {
    kept: string[];
    leftOut: Array<{ pin: string; reason: string }>;
}

/** Project name of a pin, as pip compares names (PEP 503). */
export function pinName(pin: string): string {
    return (/^[A-Za-z0-9][A-Za-z0-9._-]*/.exec(pin)?.[0] ?? pin).replace(/[-_.]+/g, "-").toLowerCase();
}

/** pip's wheel platform tags for a Linux platform: manylinux 2.17 (manylinux2014) up to bookworm's glibc 2.36. */
function platformTags(platform: string): string[] {
    const arch = { "linux/amd64": "x86_64", "linux/arm64": "aarch64" }[platform];
    if (!arch) throw new Error(`no wheel tags for ${platform}`);
    const tags = [`manylinux2014_${arch}`, `linux_${arch}`];
    for (let minor = 17; minor <= 36; minor++) tags.push(`manylinux_2_${minor}_${arch}`);
    return tags;
}

/** A pip with this machine's pip configuration: a virtual environment kept in the cache folder. */
export async function pipTool(cacheDir: string): Promise<string> {
    const python = path.join(cacheDir, "pip-tool", "bin", "python");
    if (!fs.existsSync(python) || (await run(python, ["-m", "pip", "--version"])).code !== 0) {
        fs.rmSync(path.join(cacheDir, "pip-tool"), { recursive: true, force: true });
        await mustRun("python3", ["-m", "venv", path.join(cacheDir, "pip-tool")]);
    }
    return python;
}

export async function resolvePins(options: {
    python: string;
    pins: string[];
    pythonVersion: string;
    platform: string;
    wheelhouse: string;
}): Promise<ResolvedPins> {
    fs.mkdirSync(options.wheelhouse, { recursive: true });
    const constraints = path.join(options.wheelhouse, "..", "pins.txt");
    fs.writeFileSync(constraints, options.pins.join("\n") + "\n");
    const abi = `cp${options.pythonVersion.replace(".", "")}`;
    const target = [
        ...platformTags(options.platform).flatMap((tag) => ["--platform", tag]),
        "--python-version",
        options.pythonVersion,
        "--implementation",
        "cp",
        "--abi",
        abi,
    ];
    const outcomes = await inBatches(options.pins, 4, async (pin) => {
        // --retries 0: the default index is unreachable offline and should cost nothing.
        const args = ["-m", "pip", "download", "--retries", "0", "--disable-pip-version-check", "--only-binary=:all:", ...target];
        const result = await run(options.python, [...args, "-c", constraints, "-d", options.wheelhouse, pin]);
        const output = `${result.stdout}\n${result.stderr}`;
        // Either the pin itself or a dependency is not there ("No matching distribution"), or the dependency's own pin
        // is not ("deprecation 2.1.0 depends on packaging / The user requested (constraint) packaging==24.1").
        const missing = (/No matching distribution found for (\S+)/.exec(output) ??
            /The user requested \(constraint\) (\S+)/.exec(output))?.[1];
        const reason = missing && pinName(missing) !== pinName(pin) ? `needs ${missing}, which the index lacks` : "not in the index";
        return result.code === 0 ? undefined : reason;
    });
    const kept = options.pins.filter((_, i) => outcomes[i] === undefined);
    const leftOut = options.pins.flatMap((pin, i) => (outcomes[i] === undefined ? [] : [{ pin, reason: outcomes[i] as string }]));
    return { kept, leftOut };
}

async function inBatches<T, R>(items: T[], size: number, work: (item: T) => Promise<R>): Promise<R[]> {
    const results: R[] = [];
    for (let i = 0; i < items.length; i += size) results.push(...(await Promise.all(items.slice(i, i + size).map(work))));
    return results;
}

/** A find-links page (one link per wheel) and the wheels, on `host`; pip is told to trust it (plain HTTP). */
export async function serveWheelhouse(dir: string, host: string): Promise<{ url: string; close: () => Promise<void> }> {
    const server = http.createServer((request, response) => {
        const name = decodeURIComponent((request.url ?? "/").split("?")[0].slice(1));
        const files = fs.readdirSync(dir).filter((file) => file.endsWith(".whl"));
        if (name === "") {
            response.writeHead(200, { "Content-Type": "text/html" });
            response.end(
                `<!DOCTYPE html><html><body>\n${files.map((file) => `<a href="${encodeURIComponent(file)}">${file}</a><br>`).join("\n")}\n</body></html>\n`,
            );
        } else if (files.includes(name)) {
            response.writeHead(200, {
                "Content-Type": "application/octet-stream",
                "Content-Length": fs.statSync(path.join(dir, name)).size,
            });
            fs.createReadStream(path.join(dir, name)).pipe(response);
        } else {
            response.writeHead(404).end();
        }
    });
    await new Promise<void>((resolve, reject) => server.once("error", reject).listen(0, host, resolve));
    const port = (server.address() as { port: number }).port;
    return { url: `http://${host}:${port}/`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
