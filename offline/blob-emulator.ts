/**
 * A local stand-in for Azure Blob Storage's Get Blob (and Get Blob Properties), path-style like Azurite:
 * `http://127.0.0.1:<port>/devstoreaccount1/<container>/<blob>`. Requests must carry exactly the configured SAS
 * query (403 AuthenticationFailed otherwise, as a wrong signature gets from Azure); unknown blobs are 404
 * BlobNotFound. Errors use the service's XML body and x-ms-error-code header.
 *
 *   const storage = await startBlobEmulator({ blobs: { "models/m/model.json": "{...}" }, sasToken: "sv=...&sig=..." });
 *   await fetch(blobUrl(storage.endpoint, "models", "m/model.json", storage.sasToken));
 *   storage.faults.failNext(503);      // the next request answers 503 ServerBusy
 *   await storage.stop();
 */
import { createHash, randomUUID } from "crypto";
import * as http from "http";
import { AddressInfo } from "net";

export const EMULATOR_ACCOUNT = "devstoreaccount1";

export interface BlobEmulatorOptions {
  /** "container/path/to/blob" (decoded, as Azure names it) → content. */
  blobs: Record<string, Buffer | string>;
  /** The SAS query every request must carry, with or without a leading "?". */
  sasToken: string;
  /** Let the process exit while it runs (the offline engine's shared instance is never stopped). */
  unref?: boolean;
}

export interface BlobRequest {
  method: string;
  /** Decoded "container/blob" (the query, which holds the SAS, is never recorded). */
  path: string;
  hadValidSas: boolean;
  status: number;
}

export interface BlobEmulator {
  /** Blob service endpoint ending in "/", as a storage account's primaryEndpoints.blob. */
  endpoint: string;
  accountName: string;
  sasToken: string;
  requests: BlobRequest[];
  faults: {
    /** The next `count` requests (default 1) answer `status` with an Azure-style error, before auth (queued in call order with dropNext). */
    failNext(status: number, count?: number): void;
    /** The next `count` requests (default 1) lose their connection without an answer. */
    dropNext(count?: number): void;
  };
  /** Adds or replaces a blob. */
  put(name: string, content: Buffer | string): void;
  stop(): Promise<void>;
}

const ERROR_MESSAGES: Record<number, [string, string]> = {
  403: ["AuthenticationFailed", "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature."],
  404: ["BlobNotFound", "The specified blob does not exist."],
  429: ["TooManyRequests", "The request was throttled."],
  500: ["InternalError", "The server encountered an internal error. Please retry the request."],
  503: ["ServerBusy", "The server is currently unable to receive requests. Please retry your request."],
};

export async function startBlobEmulator(options: BlobEmulatorOptions): Promise<BlobEmulator> {
  const blobs = new Map<string, Buffer>();
  const put = (name: string, content: Buffer | string) => void blobs.set(name, Buffer.from(content));
  for (const [name, content] of Object.entries(options.blobs)) put(name, content);
  const sasToken = options.sasToken.replace(/^\?/, "");
  const expectedSas = canonicalQuery(new URLSearchParams(sasToken));
  const requests: BlobRequest[] = [];
  // One queue, so faults happen in the order the test asked for them.
  const faults: Array<number | "drop"> = [];

  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    const hadValidSas = canonicalQuery(url.searchParams) === expectedSas;
    const segments = url.pathname.split("/").slice(1);
    let blobName: string | undefined;
    try {
      blobName = segments[0] === EMULATOR_ACCOUNT && segments.length >= 3 ? segments.slice(1).map(decodeURIComponent).join("/") : undefined;
    } catch {
      blobName = undefined;
    }
    const entry: BlobRequest = { method: request.method ?? "GET", path: blobName ?? url.pathname, hadValidSas, status: 0 };
    requests.push(entry);
    const fault = faults.shift();
    if (fault === "drop") {
      request.socket.destroy();
      return;
    }
    const fail = (status: number, code = ERROR_MESSAGES[status]?.[0] ?? "EmulatedFault", text = ERROR_MESSAGES[status]?.[1] ?? "Injected fault.") => {
      entry.status = status;
      const requestId = randomUUID();
      const body = `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${text}\nRequestId:${requestId}\nTime:${new Date().toISOString()}</Message></Error>`;
      response.writeHead(status, { "Content-Type": "application/xml", "Content-Length": Buffer.byteLength(body), "x-ms-error-code": code, "x-ms-request-id": requestId });
      response.end(request.method === "HEAD" ? undefined : body);
    };
    if (fault !== undefined) return fail(fault);
    if (!hadValidSas) return fail(403);
    if (request.method !== "GET" && request.method !== "HEAD") return fail(405, "UnsupportedHttpVerb", "The resource doesn't support the specified HTTP verb.");
    if (blobName === undefined) return fail(400, "InvalidUri", "The requested URI does not represent any resource on the server.");
    const content = blobs.get(blobName);
    if (!content) return fail(404);
    entry.status = 200;
    response.writeHead(200, {
      "Content-Type": blobName.endsWith(".json") ? "application/json" : "application/octet-stream",
      "Content-Length": content.length,
      ETag: `"0x${createHash("sha256").update(content).digest("hex").slice(0, 15).toUpperCase()}"`,
      "Last-Modified": new Date(0).toUTCString(),
      "x-ms-blob-type": "BlockBlob",
      "x-ms-version": "2023-11-03",
      "x-ms-request-id": randomUUID(),
    });
    response.end(request.method === "HEAD" ? undefined : content);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  if (options.unref) server.unref();
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}/${EMULATOR_ACCOUNT}/`,
    accountName: EMULATOR_ACCOUNT,
    sasToken,
    requests,
    faults: {
      failNext: (status, count = 1) => void faults.push(...Array<number>(count).fill(status)),
      dropNext: (count = 1) => void faults.push(...Array<"drop">(count).fill("drop")),
    },
    put,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** Parameters sorted, so the same SAS in another order still matches while a changed or missing one does not. */
function canonicalQuery(params: URLSearchParams): string {
  return [...params].map(([key, value]) => `${key}=${value}`).sort().join("&");
}
