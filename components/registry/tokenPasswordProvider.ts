// Dynamic providers for a registry token's passwords, which ARM does not model as a resource: a token's password
// `value` is read-only, returned only by the registry's generateCredentials action, and each call mints a new one
// (and invalidates the previous value of that name). So the action must run once per rotation, not on every
// `pulumi up` as an invoke would: Pulumi state keeps the password (a secret output) between runs, and only a new
// rotation input (config: registryPasswordRotation) or a new token generates another.
//
// A token has two password slots, password1 and password2. A rotation generates the slot the devices do not use,
// so the one they do use stays valid while the new manifest rolls out; TokenPasswordRevocation, which waits on the
// rollout, then drops the old slot (a token PATCH listing only the password to keep, as `az acr token credential
// delete` does).
import type * as pulumi from "@pulumi/pulumi";
import { dynamicResourceType } from "../shared/project";
import type { Clock, RetryPolicy } from "../shared/retry";
import { containsUnknown, UNKNOWN_VALUE } from "../shared/unknown";
import { ArmError, ArmFetch, armOperation, armRequest, ArmSession, TOKENS_API_VERSION } from "./armRequest";

/** The URN types (registered by TokenPassword and TokenPasswordRevocation as module "registry"). */
export const TOKEN_PASSWORD_TYPE = dynamicResourceType("registry", "TokenPassword");
export const TOKEN_PASSWORD_REVOCATION_TYPE = dynamicResourceType("registry", "TokenPasswordRevocation");

export const PASSWORD_NAMES = ["password1", "password2"] as const;
export type PasswordName = (typeof PASSWORD_NAMES)[number];

const TOKEN_ID =
    /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.ContainerRegistry\/registries\/[^/]+\/tokens\/[^/]+$/i;

export interface TokenPasswordInputs {
    /** ARM id of the registry token; a new token gets a new password. */
    tokenId: string;
    /** From config: a new value generates the token's other password (any change rotates; counting up is the habit). */
    rotation: number;
    /** Bearer token for ARM (secret) from azure-native's getClientToken; never compared, never in the outputs. */
    armToken: string;
}

export interface TokenPasswordOutputs {
    tokenId: string;
    rotation: number;
    /** What devices log in with: the token's name. */
    username: string;
    /** The slot the password is in; the revocation keeps this one and drops the other. */
    passwordName: PasswordName;
    /** Secret (additionalSecretOutputs). */
    password: string;
    /** When ACR generated it, as it reported. */
    creationTime: string;
}

export interface TokenPasswordRevocationInputs {
    tokenId: string;
    /** The password the devices now use: every other password of the token is dropped. */
    keep: PasswordName;
    armToken: string;
}

export interface TokenPasswordRevocationOutputs {
    tokenId: string;
    keep: PasswordName;
    /** The passwords this revocation dropped (none when the token held only `keep`). */
    revoked: string[];
}

interface GenerateCredentialsResult {
    username?: string;
    passwords?: { name?: string; value?: string; creationTime?: string; expiry?: string }[];
}

interface TokenBody {
    properties?: { credentials?: { passwords?: { name?: string; creationTime?: string; expiry?: string }[]; certificates?: unknown[] } };
}

/** ARM session settings the providers share; the defaults are the real ones (global fetch, real clock). */
abstract class TokenProvider {
    constructor(
        private readonly fetchImpl?: ArmFetch,
        private readonly retry?: RetryPolicy,
        private readonly clock?: Clock,
    ) {}

    protected session(armToken: string): ArmSession {
        return { bearerToken: armToken, fetch: this.fetchImpl ?? ((url, init) => fetch(url, init)), retry: this.retry, clock: this.clock };
    }
}

export class TokenPasswordProvider extends TokenProvider implements pulumi.dynamic.ResourceProvider {
    async check(_olds: unknown, news: TokenPasswordInputs): Promise<pulumi.dynamic.CheckResult> {
        const failures: pulumi.dynamic.CheckFailure[] = [];
        if (!containsUnknown(news.tokenId) && !TOKEN_ID.test(String(news.tokenId))) {
            failures.push({ property: "tokenId", reason: "must be the ARM id of a container registry token" });
        }
        if ((news.rotation as unknown) !== UNKNOWN_VALUE && !(Number.isInteger(news.rotation) && news.rotation >= 0)) {
            failures.push({ property: "rotation", reason: "must be a whole number, 0 or more" });
        }
        if (news.armToken !== UNKNOWN_VALUE && !news.armToken) failures.push({ property: "armToken", reason: "must not be empty" });
        return { inputs: news, failures };
    }

    async create(inputs: TokenPasswordInputs): Promise<pulumi.dynamic.CreateResult> {
        const outs = await this.generate(inputs, "password1");
        return { id: `${inputs.tokenId}/passwords/${outs.passwordName}`, outs };
    }

    async diff(_id: string, olds: TokenPasswordOutputs, news: TokenPasswordInputs): Promise<pulumi.dynamic.DiffResult> {
        // The ARM token changes on every run and decides nothing; a new rotation or a new token does. A token not
        // known yet (created or replaced in this update) is a change whose kind update() settles.
        const tokenChanged = !containsUnknown(news.tokenId) && !sameId(news.tokenId, olds.tokenId);
        const changes = tokenChanged || containsUnknown(news.tokenId) || news.rotation !== olds.rotation;
        return { changes, replaces: tokenChanged ? ["tokenId"] : [], deleteBeforeReplace: false };
    }

    async update(_id: string, olds: TokenPasswordOutputs, news: TokenPasswordInputs): Promise<pulumi.dynamic.UpdateResult> {
        // The slot the devices do not use, so theirs stays valid until the rollout with the new one is done.
        const slot: PasswordName = sameId(olds.tokenId, news.tokenId) ? otherSlot(olds.passwordName) : "password1";
        return { outs: await this.generate(news, slot) };
    }

    /** Nothing to do: the token goes with the stack (azure-native deletes it), and its passwords with it. */
    async delete(): Promise<void> {}

    private async generate(inputs: TokenPasswordInputs, name: PasswordName): Promise<TokenPasswordOutputs> {
        const registryId = inputs.tokenId.replace(/\/tokens\/[^/]+$/i, "");
        const tokenName = inputs.tokenId.split("/").pop()!;
        let result: GenerateCredentialsResult;
        try {
            result = (await armOperation(
                this.session(inputs.armToken),
                "POST",
                `${registryId}/generateCredentials?api-version=${TOKENS_API_VERSION}`,
                {
                    tokenId: inputs.tokenId,
                    name,
                },
            )) as GenerateCredentialsResult;
        } catch (error) {
            throw withAdvice(error, `generating ${name} of registry token ${tokenName}`);
        }
        const passwords = result?.passwords ?? [];
        const generated = passwords.find((p) => p.name === name) ?? (passwords.length === 1 ? passwords[0] : undefined);
        if (!generated?.value) throw new Error(`generateCredentials for registry token ${tokenName} returned no ${name}`);
        return {
            tokenId: inputs.tokenId,
            rotation: inputs.rotation,
            username: result.username || tokenName,
            passwordName: name,
            password: generated.value,
            creationTime: generated.creationTime ?? "",
        };
    }
}

export class TokenPasswordRevocationProvider extends TokenProvider implements pulumi.dynamic.ResourceProvider {
    async check(_olds: unknown, news: TokenPasswordRevocationInputs): Promise<pulumi.dynamic.CheckResult> {
        const failures: pulumi.dynamic.CheckFailure[] = [];
        if (!containsUnknown(news.tokenId) && !TOKEN_ID.test(String(news.tokenId))) {
            failures.push({ property: "tokenId", reason: "must be the ARM id of a container registry token" });
        }
        if ((news.keep as string) !== UNKNOWN_VALUE && !PASSWORD_NAMES.includes(news.keep))
            failures.push({ property: "keep", reason: `must be one of ${PASSWORD_NAMES.join(", ")}` });
        return { inputs: news, failures };
    }

    async create(inputs: TokenPasswordRevocationInputs): Promise<pulumi.dynamic.CreateResult> {
        return { id: `${inputs.tokenId}/revocation`, outs: await this.revoke(inputs) };
    }

    async diff(_id: string, olds: TokenPasswordRevocationOutputs, news: TokenPasswordRevocationInputs): Promise<pulumi.dynamic.DiffResult> {
        const changes =
            containsUnknown(news.tokenId) || containsUnknown(news.keep) || !sameId(news.tokenId, olds.tokenId) || news.keep !== olds.keep;
        return { changes, replaces: [], deleteBeforeReplace: false };
    }

    async update(
        _id: string,
        _olds: TokenPasswordRevocationOutputs,
        news: TokenPasswordRevocationInputs,
    ): Promise<pulumi.dynamic.UpdateResult> {
        return { outs: await this.revoke(news) };
    }

    /** Nothing to undo: a dropped password cannot come back, and the token goes with the stack. */
    async delete(): Promise<void> {}

    private async revoke(inputs: TokenPasswordRevocationInputs): Promise<TokenPasswordRevocationOutputs> {
        const session = this.session(inputs.armToken);
        const tokenName = inputs.tokenId.split("/").pop()!;
        const path = `${inputs.tokenId}?api-version=${TOKENS_API_VERSION}`;
        try {
            const token = (await armRequest(session, "GET", path)).body as TokenBody;
            const credentials = token?.properties?.credentials ?? {};
            const passwords = credentials.passwords ?? [];
            const kept = passwords.filter((p) => p.name === inputs.keep);
            // Dropping the others would leave the devices with nothing that works: never PATCH without the one to keep.
            if (kept.length === 0) {
                throw new Error(
                    `registry token ${tokenName} no longer has ${inputs.keep}, the password the devices were given (deleted outside Pulumi?); ` +
                        "change edgeml:registryPasswordRotation and run `pulumi up` to generate and deploy a new one",
                );
            }
            const revoked = passwords.map((p) => String(p.name)).filter((name) => name !== inputs.keep);
            if (revoked.length > 0) {
                await armOperation(session, "PATCH", path, {
                    properties: {
                        credentials: {
                            passwords: kept,
                            ...(credentials.certificates?.length ? { certificates: credentials.certificates } : {}),
                        },
                    },
                });
            }
            return { tokenId: inputs.tokenId, keep: inputs.keep, revoked };
        } catch (error) {
            throw withAdvice(error, `revoking the old password of registry token ${tokenName}`);
        }
    }
}

function otherSlot(name: PasswordName): PasswordName {
    return name === "password1" ? "password2" : "password1";
}

/** ARM ids compare case-insensitively. */
function sameId(a: string, b: string): boolean {
    return String(a).toLowerCase() === String(b).toLowerCase();
}

/** What the deploying identity can do about a refused call, next to ARM's own words. */
function withAdvice(error: unknown, what: string): Error {
    if (!(error instanceof ArmError)) return error as Error;
    const advice =
        error.status === 401
            ? "the ARM token from getClientToken was refused: log in again (az login, or the CI's OIDC login)"
            : error.status === 403
              ? "the deploying identity needs Microsoft.ContainerRegistry/registries/generateCredentials/action and " +
                "Microsoft.ContainerRegistry/registries/tokens/write on the registry (Contributor has both)"
              : error.status === 404
                ? "the registry or token does not exist (deleted outside Pulumi? `pulumi refresh` finds out)"
                : "";
    return new Error(`${what}: ${error.message}${advice ? `; ${advice}` : ""}`);
}
