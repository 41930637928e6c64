/**
 * Azurite, Microsoft's storage emulator (npm `azurite`, pinned in package.json), run in this process: its blob
 * service only, on 127.0.0.1 and a free port, in memory. Blobs go in through the Blob REST API signed with the
 * account key (SharedKey), and reads are authorised by Azurite's own SAS validator, so a service SAS from
 * ./storage-auth is checked as Azure would check it (signature, expiry, permissions, protocol).
 *
 *   const azurite = await startAzurite();
 *   await azurite.putBlob("models", "m/model.json", bytes);
 *   const sas = azurite.containerSas("models", { permissions: "r", expiry: new Date(Date.now() + 3600_000) });
 *   await fetch(blobUrl(azurite.endpoint, "models", "m/model.json", sas));
 *   await azurite.stop();
 */
import { randomUUID } from "crypto";
import type * as http from "http";
import * as os from "os";
import * as path from "path";
import { AZURITE_ACCOUNT, AZURITE_ACCOUNT_KEY, serviceSas, ServiceSasOptions, sharedKeyAuthorization } from "./storage-auth";

export interface Azurite {
    /** The blob service endpoint, path-style and ending in "/": http://127.0.0.1:<port>/devstoreaccount1/. */
    endpoint: string;
    accountName: string;
    /** Azurite's well-known key (public, not a secret). */
    accountKey: string;
    /** A service SAS for the container, signed with the account key; protocols default to "https,http". */
    containerSas(containerName: string, options: Pick<ServiceSasOptions, "permissions" | "expiry" | "start" | "protocols">): string;
    /** Put Blob (a block blob), creating the container first if this handle has not. */
    putBlob(containerName: string, blobName: string, content: Buffer | string): Promise<void>;
    /** Delete Blob; a blob that is not there is fine. */
    deleteBlob(containerName: string, blobName: string): Promise<void>;
    /** Stops the server and drops its data; calling it again does nothing. */
    stop(): Promise<void>;
}

export interface AzuriteOptions {
    /** Let the process exit while it runs (the offline engine's shared instance is never stopped). */
    unref?: boolean;
}

// What this module uses of Azurite's BlobServer, which has no type declarations.
interface BlobServer {
    readonly httpServer: http.Server;
    start(): Promise<void>;
    close(): Promise<void>;
    clean(): Promise<void>;
    getHttpServerAddress(): string;
}

interface AzuriteModules {
    BlobServer: new (configuration: unknown) => BlobServer;
    BlobConfiguration: new (...args: unknown[]) => unknown;
    MemoryExtentChunkStore: new (sizeLimit: number) => unknown;
}

/** The x-ms-version of the REST calls made here; Azurite 3.35 accepts it without --skipApiVersionCheck. */
const REST_VERSION = "2024-11-04";
/** Azurite's default, in seconds. */
const KEEP_ALIVE_SECONDS = 5;
/** The in-memory store's cap (Azurite's default is half the machine's memory); models are kilobytes. */
const MEMORY_LIMIT_BYTES = 256 * 1024 * 1024;

let modules: AzuriteModules | undefined;

/** Azurite's modules, loaded on first use: they take about a second to load, and most offline plans download nothing. */
function loadAzurite(): AzuriteModules {
    if (modules) return modules;
    // Azurite requires applicationinsights for its telemetry; on load, that library's diagnostic channel patches
    // console and require() of the whole process unless told not to. (The telemetry itself is only started by
    // Azurite's command line, and is switched off below as well.)
    const previous = process.env.APPLICATION_INSIGHTS_NO_DIAGNOSTIC_CHANNEL;
    process.env.APPLICATION_INSIGHTS_NO_DIAGNOSTIC_CHANNEL = "1";
    try {
        /* eslint-disable @typescript-eslint/no-require-imports -- loaded lazily (see above); Azurite ships no types */
        const loaded: AzuriteModules = {
            BlobServer: require("azurite/dist/src/blob/BlobServer").default,
            BlobConfiguration: require("azurite/dist/src/blob/BlobConfiguration").default,
            MemoryExtentChunkStore: require("azurite/dist/src/common/persistence/MemoryExtentStore").MemoryExtentChunkStore,
        };
        require("azurite/dist/src/common/Telemetry").AzuriteTelemetryClient.enableTelemetry = false;
        /* eslint-enable @typescript-eslint/no-require-imports */
        modules = loaded;
        return loaded;
    } finally {
        if (previous === undefined) delete process.env.APPLICATION_INSIGHTS_NO_DIAGNOSTIC_CHANNEL;
        else process.env.APPLICATION_INSIGHTS_NO_DIAGNOSTIC_CHANNEL = previous;
    }
}

export async function startAzurite(options: AzuriteOptions = {}): Promise<Azurite> {
    const { BlobServer, BlobConfiguration, MemoryExtentChunkStore } = loadAzurite();
    // In memory, the database paths only name Loki's in-memory databases (a file there would be loaded, so the
    // names are fresh); nothing is written to disk.
    const database = path.join(os.tmpdir(), `edgeml-azurite-${randomUUID()}`);
    // BlobConfiguration's positional parameters, as Azurite 3.35 declares them (undefined: Azurite's default).
    const configuration = new BlobConfiguration(
        "127.0.0.1", // host
        0, // port: a free one
        KEEP_ALIVE_SECONDS,
        `${database}-blob.json`, // metadataDBPath
        `${database}-extent.json`, // extentDBPath
        undefined, // persistencePathArray (on-disk extents only)
        false, // enableAccessLog (it would log each URL, SAS included)
        undefined, // accessLogWriteStream
        false, // enableDebugLog
        undefined, // debugLogFilePath
        false, // loose: strict, as Azure is about unsupported headers and parameters
        false, // skipApiVersionCheck: not needed, REST_VERSION is one it knows
        "", // cert
        "", // key
        "", // pwd
        undefined, // oauth
        false, // disableProductStyleUrl
        true, // isMemoryPersistence
        new MemoryExtentChunkStore(MEMORY_LIMIT_BYTES), // this instance's own store (the default is shared process-wide)
    );
    const server = new BlobServer(configuration);
    // Connections from this process's own fetch must not hold it open either.
    if (options.unref) server.httpServer.on("connection", (socket: { unref(): void }) => socket.unref());
    await server.start();
    if (options.unref) server.httpServer.unref();
    const address = server.getHttpServerAddress();
    const endpoint = `${address}/${AZURITE_ACCOUNT}/`;
    const containers = new Set<string>();
    let stopped: Promise<void> | undefined;

    const blobPath = (containerName: string, blobName = "") =>
        [containerName, ...(blobName ? blobName.split("/") : [])].map(encodeURIComponent).join("/");

    /** A Blob REST call signed with SharedKey; throws unless the status is one of `expected`. */
    const call = async (
        method: string,
        resource: string,
        query: string,
        expected: number[],
        body?: Buffer,
        extraHeaders: Record<string, string> = {},
    ) => {
        const url = `${endpoint}${resource}${query ? `?${query}` : ""}`;
        const headers: Record<string, string> = { "x-ms-date": new Date().toUTCString(), "x-ms-version": REST_VERSION, ...extraHeaders };
        if (body) headers["content-length"] = String(body.length);
        headers.authorization = sharedKeyAuthorization({
            accountName: AZURITE_ACCOUNT,
            accountKey: AZURITE_ACCOUNT_KEY,
            method,
            url,
            headers,
        });
        const response = await fetch(url, { method, headers, body });
        const text = await response.text();
        if (!expected.includes(response.status)) {
            const code = response.headers.get("x-ms-error-code") ?? /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? "";
            throw new Error(`Azurite: ${method} ${decodeURIComponent(resource)} answered HTTP ${response.status} ${code}`.trim());
        }
    };

    return {
        endpoint,
        accountName: AZURITE_ACCOUNT,
        accountKey: AZURITE_ACCOUNT_KEY,
        containerSas: (containerName, sas) =>
            serviceSas({ accountName: AZURITE_ACCOUNT, accountKey: AZURITE_ACCOUNT_KEY, containerName, protocols: "https,http", ...sas }),
        async putBlob(containerName, blobName, content) {
            if (!containers.has(containerName)) {
                // Create Container; 409 ContainerAlreadyExists when another handle or an earlier call made it.
                await call("PUT", blobPath(containerName), "restype=container", [201, 409]);
                containers.add(containerName);
            }
            const contentType = blobName.endsWith(".json") ? "application/json" : "application/octet-stream";
            await call("PUT", blobPath(containerName, blobName), "", [201], Buffer.from(content), {
                "content-type": contentType,
                "x-ms-blob-type": "BlockBlob",
            });
        },
        async deleteBlob(containerName, blobName) {
            await call("DELETE", blobPath(containerName, blobName), "", [202, 404]);
        },
        stop() {
            stopped ??= server.close().then(() => server.clean());
            return stopped;
        },
    };
}
