// Azure Storage's shared-key signatures, computed here (HMAC-SHA256 of the documented strings-to-sign, no SDK) so
// the offline engine and the tests hand out and use credentials that a real validator, Azurite, checks:
// - serviceSas: a blob service SAS for a container or blob, as `listStorageAccountServiceSAS` returns one
//   (https://learn.microsoft.com/rest/api/storageservices/create-service-sas, version 2020-12-06 and later);
// - sharedKeyAuthorization: the Authorization header of a Blob REST request signed with the account key
//   (https://learn.microsoft.com/rest/api/storageservices/authorize-with-shared-key).
import { createHmac } from "crypto";

/** Azurite's one built-in account and its well-known key, published in Azurite's documentation (not a secret). */
export const AZURITE_ACCOUNT = "devstoreaccount1";
export const AZURITE_ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/** The signed version (sv) of the SAS tokens made here; its string-to-sign is the one of 2020-12-06 and later. */
export const SAS_VERSION = "2022-11-02";

export interface ServiceSasOptions {
    accountName: string;
    /** The account key, base64 as Azure shows it. */
    accountKey: string;
    containerName: string;
    /** Set for a blob SAS (sr=b); a container SAS (sr=c) otherwise. */
    blobName?: string;
    /** Signed permissions in Azure's order (racwdxltmeop), e.g. "r". */
    permissions: string;
    /** Signed expiry: a Date, or an ISO 8601 UTC time as Azure takes it ("2030-01-01T00:00:00Z"). */
    expiry: Date | string;
    start?: Date | string;
    /** "https" or "https,http". */
    protocols?: string;
}

/** A service SAS query string (without "?"): sv, st, se, sr, sp, spr and sig, each value URL-encoded. */
export function serviceSas(options: ServiceSasOptions): string {
    const start = options.start === undefined ? "" : sasTime(options.start);
    const expiry = sasTime(options.expiry);
    const resource = options.blobName === undefined ? "c" : "b";
    const canonicalizedResource = `/blob/${options.accountName}/${options.containerName}${options.blobName === undefined ? "" : `/${options.blobName}`}`;
    const protocols = options.protocols ?? "";
    const stringToSign = [
        options.permissions,
        start,
        expiry,
        canonicalizedResource,
        "", // signedIdentifier (a stored access policy)
        "", // signedIP
        protocols,
        SAS_VERSION,
        resource,
        "", // signedSnapshotTime
        "", // signedEncryptionScope
        "", // rscc: Cache-Control
        "", // rscd: Content-Disposition
        "", // rsce: Content-Encoding
        "", // rscl: Content-Language
        "", // rsct: Content-Type
    ].join("\n");
    const fields: Array<[string, string]> = [
        ["sv", SAS_VERSION],
        ["st", start],
        ["se", expiry],
        ["sr", resource],
        ["sp", options.permissions],
        ["spr", protocols],
        ["sig", hmac(options.accountKey, stringToSign)],
    ];
    return fields
        .filter(([, value]) => value !== "")
        .map(([key, value]) => `${key}=${encodeURIComponent(value)}`)
        .join("&");
}

/** Azure's SAS time format: ISO 8601 in UTC, to the second. */
function sasTime(time: Date | string): string {
    if (typeof time === "string") {
        if (Number.isNaN(Date.parse(time))) throw new Error(`not a SAS time: ${JSON.stringify(time)}`);
        return time;
    }
    return time.toISOString().replace(/\.\d{3}Z$/, "Z");
}

export interface SharedKeyRequest {
    accountName: string;
    accountKey: string;
    method: string;
    /** The full request URL; path-style (http://127.0.0.1:<port>/<account>/<container>/<blob>) for Azurite. */
    url: string;
    /** The request's headers, x-ms-date and x-ms-version included; names in any case. */
    headers: Record<string, string>;
}

// The standard headers of the string-to-sign, in its order.
const SIGNED_HEADERS = [
    "content-encoding",
    "content-language",
    "content-length",
    "content-md5",
    "content-type",
    "date",
    "if-modified-since",
    "if-match",
    "if-none-match",
    "if-unmodified-since",
    "range",
];

/** The Authorization header value ("SharedKey <account>:<signature>") for a Blob REST request. */
export function sharedKeyAuthorization(request: SharedKeyRequest): string {
    const headers = new Map(Object.entries(request.headers).map(([name, value]) => [name.toLowerCase(), String(value)]));
    const standard = SIGNED_HEADERS.map((name) => {
        const value = headers.get(name) ?? "";
        // Since version 2015-02-21 a zero Content-Length is signed as the empty string.
        return name === "content-length" && value === "0" ? "" : value;
    });
    const canonicalizedHeaders = [...headers]
        .filter(([name]) => name.startsWith("x-ms-"))
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([name, value]) => `${name}:${value.replace(/\s+/g, " ").trim()}\n`)
        .join("");
    const url = new URL(request.url);
    // The path as sent (percent-encoded), then each query parameter: lower-case name, sorted, decoded values.
    const parameters = new Map<string, string[]>();
    for (const [name, value] of url.searchParams)
        parameters.set(name.toLowerCase(), [...(parameters.get(name.toLowerCase()) ?? []), value]);
    const canonicalizedResource =
        `/${request.accountName}${url.pathname}` +
        [...parameters.keys()]
            .sort()
            .map((name) => `\n${name}:${parameters.get(name)!.sort().join(",")}`)
            .join("");
    const stringToSign = [request.method.toUpperCase(), ...standard].join("\n") + "\n" + canonicalizedHeaders + canonicalizedResource;
    return `SharedKey ${request.accountName}:${hmac(request.accountKey, stringToSign)}`;
}

function hmac(base64Key: string, text: string): string {
    return createHmac("sha256", Buffer.from(base64Key, "base64")).update(text, "utf8").digest("base64");
}
