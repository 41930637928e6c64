/**
 * Verifies the `Authorization: SharedAccessSignature sr=..&sig=..&se=..&skn=..` header the SDK computes from the
 * connection string, so a wrong key, policy name or host fails here with 401 as it would against the service.
 * The parsing and the signature check are shared with the DPS emulator (../dps-emulator), whose devices sign
 * `<idScope>/registrations/<registrationId>` with a key derived from their enrollment group's.
 */
import { createHmac, timingSafeEqual } from "crypto";
import { HubError } from "./hub-errors";

export interface HubCredentials {
    hostName: string;
    keyName: string;
    key: string;
}

/** The fields of a SharedAccessSignature, `resource` as it appears in the token (URL-encoded, as it was signed). */
export interface SharedAccessToken {
    resource: string;
    expiry: string;
    keyName: string;
    signature: string;
}

/** What the services take as a SAS key: base64 of 16 to 64 bytes. */
export function isSasKey(key: unknown): key is string {
    if (typeof key !== "string") return false;
    const bytes = Buffer.from(key, "base64");
    return bytes.toString("base64") === key && bytes.length >= 16 && bytes.length <= 64;
}

const unauthorized = (why: string, code: string): HubError => new HubError(401, code, `Unauthorized: ${why}`);

/** The token's fields, or a 401 (with `code`) when the header holds no SharedAccessSignature or it has expired. */
export function parseSharedAccessSignature(header: string | undefined, code = "IotHubUnauthorizedAccess"): SharedAccessToken {
    const match = /^SharedAccessSignature\s+(.+)$/.exec(header ?? "");
    if (!match) throw unauthorized("missing SharedAccessSignature authorization", code);
    const fields = new Map(
        match[1].split("&").map((pair): [string, string] => {
            const separator = pair.indexOf("=");
            return separator < 0 ? [pair, ""] : [pair.slice(0, separator), pair.slice(separator + 1)];
        }),
    );
    const token = {
        resource: fields.get("sr") ?? "",
        expiry: fields.get("se") ?? "",
        keyName: decodeURIComponent(fields.get("skn") ?? ""),
        signature: decodeURIComponent(fields.get("sig") ?? ""),
    };
    if (!(Number(token.expiry) > Date.now() / 1000)) throw unauthorized("token expired", code);
    return token;
}

/** Whether `key` (base64) signed the token: the signature covers the resource as it appears in the token, a newline and the expiry. */
export function signedWith(token: SharedAccessToken, key: string): boolean {
    const expected = createHmac("sha256", Buffer.from(key, "base64")).update(`${token.resource}\n${token.expiry}`).digest();
    const actual = Buffer.from(token.signature, "base64");
    return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** Checks a service token: for `credentials.hostName`, by its policy, signed with its key. */
export function checkSharedAccessSignature(
    header: string | undefined,
    credentials: HubCredentials,
    code = "IotHubUnauthorizedAccess",
): void {
    const token = parseSharedAccessSignature(header, code);
    const host = decodeURIComponent(token.resource).split("/")[0].toLowerCase();
    if (host !== credentials.hostName.toLowerCase()) throw unauthorized(`token is for '${host}'`, code);
    if (token.keyName !== credentials.keyName) throw unauthorized("unknown policy", code);
    if (!signedWith(token, credentials.key)) throw unauthorized("bad signature", code);
}
