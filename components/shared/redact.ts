// What stands in for a secret wherever one is shown (plans, diffs, manifests for review, outputs), and the
// scrubbing of credentials out of messages that services or fetch may echo.

/** The one redaction marker: plans, review manifests and outputs show a secret as this. */
export const SECRET_MARKER = "[secret]";

/** A message without SAS signatures, shared access keys or the given secret values. */
export function redactCredentials(message: string, ...secrets: string[]): string {
    let result = message;
    for (const secret of secrets) {
        const value = secret.replace(/^\?/, "");
        if (value) result = result.split(value).join("[redacted]");
    }
    return result.replace(/\bsig=[^&\s;"']*/gi, "sig=[redacted]").replace(/SharedAccessKey=[^;\s"']*/gi, "SharedAccessKey=[redacted]");
}
