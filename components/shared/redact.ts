// What stands in for a secret wherever one is shown (plans, diffs, manifests for review, outputs), and the
// scrubbing of credentials out of messages that services or fetch may echo.

/** The one redaction marker: plans, review manifests and outputs show a secret as this. */
export const SECRET_MARKER = "[secret]";

/**
 * What the offline engine hands the program for a `secure:` stack value it cannot decrypt. The config loader reads
 * such a key as its Pulumi.yaml default rather than judging the placeholder (the engine warns that it did).
 */
export const OFFLINE_SECRET_PLACEHOLDER = "[secret: not decrypted offline]";

/** A message without SAS signatures, shared access keys or the given secret values. */
export function redactCredentials(message: string, ...secrets: string[]): string {
    let result = message;
    for (const secret of secrets) {
        const value = secret.replace(/^\?/, "");
        if (value) result = result.split(value).join("[redacted]");
    }
    return result.replace(/\bsig=[^&\s;"']*/gi, "sig=[redacted]").replace(/SharedAccessKey=[^;\s"']*/gi, "SharedAccessKey=[redacted]");
}
