// Azure Resource Manager as the registry-token providers see it, offline: the registry's generateCredentials
// action and a token's GET and PATCH, answered in-process through a fetch-shaped function, with ARM's long-running
// operation protocol (generateCredentials: 202 + Location; PATCH: Azure-AsyncOperation), its bearer-token check
// and api-version. Tokens exist once the program's azure-native Token is answered (declare); their passwords are
// deterministic in the token id, the slot and how often it was generated in this run, never written down.
import type { ArmFetch } from "../components/registry";
import { ARM_ENDPOINT, PASSWORD_NAMES, TOKENS_API_VERSION } from "../components/registry";

interface StoredPassword {
    name: string;
    value: string;
    creationTime: string;
    expiry?: string;
}

interface StoredToken {
    id: string;
    scopeMapId: string;
    passwords: StoredPassword[];
}

export interface RecordedArmRequest {
    method: string;
    /** Path and query, without the ARM host. */
    path: string;
    body: unknown;
}

const TOKEN_PATH =
    /^(\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.ContainerRegistry\/registries\/[^/]+)\/tokens\/([^/]+)$/i;
const GENERATE_PATH =
    /^(\/subscriptions\/([^/]+)\/resourceGroups\/[^/]+\/providers\/Microsoft\.ContainerRegistry\/registries\/[^/]+)\/generateCredentials$/i;
const OPERATION_PATH =
    /^\/subscriptions\/[^/]+\/providers\/Microsoft\.ContainerRegistry\/locations\/[^/]+\/(operationResults|operationStatuses)\/([^/]+)$/i;
// The time every offline password says it was generated: plans and states stay byte-identical between runs.
const CREATION_TIME = "2024-01-01T00:00:00.0000000Z";

export class OfflineAcrTokens {
    private readonly tokens = new Map<string, StoredToken>();
    private readonly operations = new Map<string, unknown>();
    private generated = 0;
    private operationCount = 0;
    /** Every request answered in this run, for tests (bodies as sent; the bearer token is never recorded). */
    readonly requests: RecordedArmRequest[] = [];

    constructor(
        readonly bearerToken: string,
        private readonly passwordValue: (tokenId: string, name: string, generation: number) => string,
    ) {}

    /** A new run: no tokens, no passwords, no requests. */
    reset(): void {
        this.tokens.clear();
        this.operations.clear();
        this.requests.length = 0;
        this.generated = 0;
        this.operationCount = 0;
    }

    /** A token the program created (its azure-native Token was answered), without passwords, as ARM creates one. */
    declare(tokenId: string, scopeMapId: string): void {
        if (!this.tokens.has(tokenId.toLowerCase())) this.tokens.set(tokenId.toLowerCase(), { id: tokenId, scopeMapId, passwords: [] });
    }

    /** The token's valid passwords as ACR holds them (values included: for tests). */
    passwordsOf(tokenId: string): StoredPassword[] {
        return structuredClone(this.tokens.get(tokenId.toLowerCase())?.passwords ?? []);
    }

    readonly fetch: ArmFetch = async (url, init) => {
        const parsed = new URL(url);
        const body = init.body === undefined ? undefined : JSON.parse(init.body);
        this.requests.push({ method: init.method, path: `${parsed.pathname}${parsed.search}`, body });
        if (parsed.origin !== ARM_ENDPOINT) return armError(400, "InvalidHost", `not Azure Resource Manager: ${parsed.origin}`);
        if (init.headers.Authorization !== `Bearer ${this.bearerToken}`)
            return armError(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing or invalid.");
        if (parsed.searchParams.get("api-version") !== TOKENS_API_VERSION) {
            return armError(
                400,
                "InvalidApiVersionParameter",
                `The api-version '${parsed.searchParams.get("api-version")}' is invalid here; use ${TOKENS_API_VERSION}.`,
            );
        }
        const path = parsed.pathname;
        const operation = OPERATION_PATH.exec(path);
        if (operation && init.method === "GET") {
            const result = this.operations.get(operation[2]);
            return result === undefined ? armError(404, "OperationNotFound", `no operation ${operation[2]}`) : json(200, result);
        }
        const generate = GENERATE_PATH.exec(path);
        if (generate && init.method === "POST") return this.generateCredentials(generate[1], generate[2], body);
        const token = TOKEN_PATH.exec(path);
        if (token && init.method === "GET") return this.tokenResponse(path);
        if (token && init.method === "PATCH") return this.patchToken(path, body);
        return armError(404, "NotFound", `the offline ARM answers no ${init.method} ${path}`);
    };

    private generateCredentials(
        registryId: string,
        subscription: string,
        body: { tokenId?: string; name?: string; expiry?: string } | undefined,
    ): Response {
        const tokenId = body?.tokenId ?? "";
        const token = this.tokens.get(tokenId.toLowerCase());
        if (!tokenId.toLowerCase().startsWith(`${registryId.toLowerCase()}/tokens/`) || !token) {
            return armError(400, "InvalidTokenId", `tokenId ${tokenId || "(none)"} is not a token of ${registryId}`);
        }
        if (body?.name !== undefined && !(PASSWORD_NAMES as readonly string[]).includes(body.name))
            return armError(400, "InvalidPasswordName", `name must be one of ${PASSWORD_NAMES.join(", ")}`);
        // Without a name, ACR generates both passwords.
        const generated = (body?.name ? [body.name] : [...PASSWORD_NAMES]).map((name) => {
            this.generated += 1;
            const password: StoredPassword = {
                name,
                value: this.passwordValue(token.id, name, this.generated),
                creationTime: CREATION_TIME,
                ...(body?.expiry && { expiry: body.expiry }),
            };
            token.passwords = [...token.passwords.filter((p) => p.name !== name), password].sort((a, b) =>
                a.name.localeCompare(b.name, "en"),
            );
            return password;
        });
        const operationId = this.newOperation(() => ({ username: token.id.split("/").pop(), passwords: generated }));
        return new Response(null, {
            status: 202,
            headers: {
                Location: `${ARM_ENDPOINT}/subscriptions/${subscription}/providers/Microsoft.ContainerRegistry/locations/westeurope/operationResults/${operationId}?api-version=${TOKENS_API_VERSION}`,
                "Retry-After": "1",
            },
        });
    }

    private tokenResponse(path: string): Response {
        const token = this.tokens.get(path.toLowerCase());
        if (!token) return armError(404, "ResourceNotFound", `The Resource '${path.split("/").slice(-3).join("/")}' was not found.`);
        return json(200, tokenBody(token));
    }

    private patchToken(path: string, body: { properties?: { credentials?: { passwords?: { name?: string }[] } } } | undefined): Response {
        const token = this.tokens.get(path.toLowerCase());
        if (!token) return armError(404, "ResourceNotFound", `The Resource '${path.split("/").slice(-3).join("/")}' was not found.`);
        const listed = body?.properties?.credentials?.passwords;
        if (listed) {
            // ACR keeps the listed passwords (their values cannot be sent) and drops the others.
            const names = new Set(listed.map((p) => p.name));
            token.passwords = token.passwords.filter((p) => names.has(p.name));
        }
        const operationId = this.newOperation((id) => ({ id, status: "Succeeded" }));
        const response = tokenBody(token);
        response.properties.provisioningState = "Updating";
        return json(200, response, {
            "Azure-AsyncOperation": `${ARM_ENDPOINT}/subscriptions/${path.split("/")[2]}/providers/Microsoft.ContainerRegistry/locations/westeurope/operationStatuses/${operationId}?api-version=${TOKENS_API_VERSION}`,
            "Retry-After": "1",
        });
    }

    /** An operation ARM has finished by the first poll; its id is deterministic within the run. */
    private newOperation(result: (id: string) => unknown): string {
        this.operationCount += 1;
        const id = `00000000-0000-0000-0000-${String(this.operationCount).padStart(12, "0")}`;
        this.operations.set(id, result(id));
        return id;
    }
}

/** A token as ARM's GET returns it: password names and times, never their values. */
function tokenBody(token: StoredToken) {
    return {
        id: token.id,
        name: token.id.split("/").pop(),
        type: "Microsoft.ContainerRegistry/registries/tokens",
        properties: {
            provisioningState: "Succeeded",
            status: "enabled",
            scopeMapId: token.scopeMapId,
            credentials: {
                certificates: [],
                passwords: token.passwords.map(({ name, creationTime, expiry }) => ({ name, creationTime, ...(expiry && { expiry }) })),
            },
        },
    };
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
    return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });
}

function armError(status: number, code: string, message: string): Response {
    return json(status, { error: { code, message } });
}
