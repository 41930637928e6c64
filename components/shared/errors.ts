// Every error type of the project, by who can fix what:
// - UserError (a pulumi.RunError): a mistake the user fixes in config, a file or a command line. The Pulumi CLI
//   and the offline plan print its message alone, never a stack trace.
// - AzureStateError (a pulumi.ResourceError): Azure's state makes a configured resource unusable (an existing
//   registry's admin user off). The CLI prints it against the resource it concerns, without a stack.
// - ServiceError: a service kept failing or a rollout was not confirmed; raised inside the dynamic providers,
//   whose host reports the message of the failed operation.
// Anything else that escapes is a bug and keeps its stack trace.
// Only the SDK's errors module: scripts that never run the program (the device bootstrap reading a file) load this
// without paying for the whole SDK.
import type { Resource } from "@pulumi/pulumi";
import { ResourceError, RunError } from "@pulumi/pulumi/errors";
import type { ManifestProblem } from "../iot/manifest/problems";

export class UserError extends RunError {
    constructor(message: string) {
        super(message);
        this.name = new.target.name;
    }
}

/** Configuration that breaks a rule: one line per problem, each naming the key, the value and the rule. */
export class ConfigError extends UserError {
    constructor(
        readonly stack: string,
        readonly problems: string[],
    ) {
        super(`Invalid configuration for stack "${stack}":\n` + problems.map((p) => `  - ${p}`).join("\n"));
    }
}

/** A missing or unreadable Pulumi.yaml or stack file. */
export class StackFileError extends UserError {}

/** A deployment manifest that cannot be built or must not be sent; lists every problem, not just the first. */
export class ManifestError extends UserError {
    constructor(
        readonly problems: ManifestProblem[],
        format: (problem: ManifestProblem) => string,
    ) {
        super(`Invalid IoT Edge deployment manifest:\n` + problems.map((p) => `  - ${format(p)}`).join("\n"));
    }
}

/** A module's createOptions that edgeAgent could not read back as written. */
export class CreateOptionsError extends UserError {}

/** A registered model's modelUri this project cannot fetch. */
export class ModelUriError extends UserError {
    constructor(
        readonly uri: string,
        reason: string,
        accepted: string,
    ) {
        super(`Cannot use model URI ${uri}: ${reason} (${accepted})`);
    }
}

/** A registered model whose file cannot be fetched or used; `url` never carries the SAS. */
export class ModelDownloadError extends UserError {
    constructor(
        readonly model: string,
        readonly url: string,
        readonly status: number | undefined,
        message: string,
    ) {
        super(message);
    }
}

/** A command line the scripts cannot act on. */
export class UsageError extends UserError {}

/** Stack outputs (from `pulumi stack output` or a file) that the device bootstrap cannot use. */
export class StackOutputsError extends UserError {}

/** A previous plan (file or git ref) that `npm start -- --diff` cannot compare with. */
export class PlanSourceError extends UserError {}

/**
 * Azure state that makes a configured resource unusable. A ResourceError, so the CLI names the resource; it must be
 * raised where no invoke's arguments depend on it, or the SDK logs it once more as an invoke serialization failure.
 */
export class AzureStateError extends ResourceError {
    constructor(message: string, resource: Resource | undefined) {
        super(message, resource, true);
        this.name = "AzureStateError";
    }
}

/** A service that is still failing when the retry gives up; names the operation and the last failure. */
export class RetriesExhaustedError extends Error {
    constructor(
        readonly operation: string,
        readonly attempts: number,
        readonly lastError: unknown,
        message: string,
    ) {
        super(message);
        this.name = "RetriesExhaustedError";
    }
}

/** Devices that did not confirm a rollout: failed, or not reporting in time. */
export class RolloutError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "RolloutError";
    }
}

/** Whether an error is a user's to fix (printed as its message alone) rather than a bug. */
export function isUserFacing(error: unknown): error is Error {
    return RunError.isInstance(error) || ResourceError.isInstance(error);
}
