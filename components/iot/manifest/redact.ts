// A copy of the manifest that is safe to write to out/<stack>/deployment.json for review: registry passwords,
// values under credential-like names (env, desired properties) and every occurrence of a known secret anywhere
// else (a password pasted into create options, a route, an env value) become the marker. It errs on the side of
// hiding: a review copy never goes to IoT Hub, so a hidden non-secret costs nothing.
import { CreateOptionsError, isCreateOptionsKey, joinCreateOptions, splitCreateOptions } from "./createOptions";
import { registryCredentialsOf } from "./layer";
import type { DeploymentContent } from "./types";
import { SECRET_MARKER } from "../../shared/redact";

export { SECRET_MARKER };

const CREDENTIAL_NAME = /password|passwd|secret|token|connectionstring|accesskey|accountkey|apikey|sharedkey|signature/i;

/** `secrets`: values to hide wherever they appear, besides the registry passwords found in the manifest. */
export function redactManifest<T extends DeploymentContent>(manifest: T, marker = SECRET_MARKER, secrets: string[] = []): T {
    const known = [...registryPasswords(manifest), ...secrets]
        .filter((secret) => secret !== "")
        // Inside create options JSON a secret appears escaped (a quote as \").
        .flatMap((secret) => [secret, JSON.stringify(secret).slice(1, -1)])
        // Longest first, so a secret containing another is replaced whole.
        .sort((a, b) => b.length - a.length);
    return redact(manifest, known, marker) as T;
}

function registryPasswords(manifest: DeploymentContent): string[] {
    return registryCredentialsOf(manifest)
        .map((credential) => credential?.password)
        .filter((password): password is string => typeof password === "string");
}

function redact(value: unknown, secrets: string[], marker: string): unknown {
    if (typeof value === "string") return replaceSecrets(value, secrets, marker);
    if (Array.isArray(value)) return value.map((item) => redact(item, secrets, marker));
    if (value === null || typeof value !== "object") return value;
    const result: Record<string, unknown> = {};
    for (const [key, member] of Object.entries(rejoinCreateOptions(value as Record<string, unknown>, secrets, marker))) {
        result[key] = isCredentialName(key) ? hideLeaves(member, marker) : redact(member, secrets, marker);
    }
    return result;
}

/** HUB_CONNECTION_STRING, hubConnectionString and hub-connection-string alike. */
function isCredentialName(key: string): boolean {
    return CREDENTIAL_NAME.test(key.replace(/[_-]/g, ""));
}

/** Create options are redacted joined, then split again: a secret may straddle two chunks. */
function rejoinCreateOptions(settings: Record<string, unknown>, secrets: string[], marker: string): Record<string, unknown> {
    if (!Object.keys(settings).some(isCreateOptionsKey)) return settings;
    try {
        const text = joinCreateOptions(settings);
        const redacted = replaceSecrets(text, secrets, marker);
        if (redacted === text) return settings;
        const others = Object.fromEntries(Object.entries(settings).filter(([key]) => !isCreateOptionsKey(key)));
        return { ...others, ...splitCreateOptions(redacted) };
    } catch (error) {
        // Malformed chunks are redacted one by one; the validator reports them.
        if (error instanceof CreateOptionsError) return settings;
        throw error;
    }
}

function hideLeaves(value: unknown, marker: string): unknown {
    if (Array.isArray(value)) return value.map((item) => hideLeaves(item, marker));
    if (value !== null && typeof value === "object") {
        return Object.fromEntries(Object.entries(value).map(([key, member]) => [key, hideLeaves(member, marker)]));
    }
    return marker;
}

function replaceSecrets(text: string, secrets: string[], marker: string): string {
    return secrets.reduce((result, secret) => result.split(secret).join(marker), text);
}
