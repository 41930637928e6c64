/**
 * Verifies the `Authorization: SharedAccessSignature sr=..&sig=..&se=..&skn=..` header the SDK computes from the
 * connection string, so a wrong key, policy name or host fails here with 401 as it would against the service.
 */
import { createHmac, timingSafeEqual } from "crypto";
import { HubError } from "./hub-errors";

export interface HubCredentials {
    hostName: string;
    keyName: string;
    key: string;
}

const unauthorized = (why: string): HubError => new HubError(401, "IotHubUnauthorizedAccess", `Unauthorized: ${why}`);

export function checkSharedAccessSignature(header: string | undefined, credentials: HubCredentials): void {
    const match = /^SharedAccessSignature\s+(.+)$/.exec(header ?? "");
    if (!match) throw unauthorized("missing SharedAccessSignature authorization");
    const fields = new Map(
        match[1].split("&").map((pair): [string, string] => {
            const separator = pair.indexOf("=");
            return separator < 0 ? [pair, ""] : [pair.slice(0, separator), pair.slice(separator + 1)];
        }),
    );
    const resource = fields.get("sr") ?? "";
    const expiry = fields.get("se") ?? "";
    const host = decodeURIComponent(resource).split("/")[0].toLowerCase();
    if (host !== credentials.hostName.toLowerCase()) throw unauthorized(`token is for '${host}'`);
    if (decodeURIComponent(fields.get("skn") ?? "") !== credentials.keyName) throw unauthorized("unknown policy");
    if (!(Number(expiry) > Date.now() / 1000)) throw unauthorized("token expired");
    // The signature covers the resource URI exactly as it appears in the token, a newline and the expiry.
    const expected = createHmac("sha256", Buffer.from(credentials.key, "base64")).update(`${resource}\n${expiry}`).digest();
    const actual = Buffer.from(decodeURIComponent(fields.get("sig") ?? ""), "base64");
    if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) throw unauthorized("bad signature");
}
