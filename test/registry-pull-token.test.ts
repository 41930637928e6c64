// Issue 14, part 1: IoT Edge devices pull with a registry token scoped to reading one repository, never with the
// registry's admin user. Checked on every stack's plan, on what the offline IoT Hubs were actually sent, on the
// token providers against the offline ARM (generateCredentials, revocation), and on the offline diff of a rotation.
import * as assert from "assert";
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import { EDGE_DEPLOYMENT_TYPE } from "../components/iot";
import {
    pullActions,
    RegistryPullToken,
    TOKEN_PASSWORD_REVOCATION_TYPE,
    TOKEN_PASSWORD_TYPE,
    TokenPasswordProvider,
    TokenPasswordRevocationProvider,
} from "../components/registry";
import type { ArmFetch, TokenPasswordOutputs } from "../components/registry";
import { ConfigError } from "../components/shared";
import { OfflineAcrTokens } from "../offline/acr-tokens";
import { OFFLINE_SUBSCRIPTION_ID, offlineAcrTokens, offlineHubs } from "../offline/azure-answers";
import { listStacks, outputValue, runOffline, type OfflinePlan, type OfflineRun, type PlannedResource } from "../offline/engine";
import { diffPlans } from "../scripts/plan-diff";
import { formatPlanDiff } from "../scripts/plan-diff-format";
import { FAST_RETRY } from "./support/fast-retry";
import { armIdOf, resourceOfType, resourcesOfType } from "./support/plan-queries";
import { requireReference } from "./support/references";

const SCOPE_MAP = "azure-native:containerregistry:ScopeMap";
const TOKEN = "azure-native:containerregistry:Token";
const REGISTRY = "azure-native:containerregistry:Registry";
const EXISTING_REGISTRY = { existingRegistry: "images-rg/contosoacr", existingResourceGroup: "shared-rg" };

const value = <T>(run: OfflineRun, name: string) => outputValue(run.exports[name] as pulumi.Output<T>);
const tokenIdOf = (token: PlannedResource) =>
    armIdOf(token, `Microsoft.ContainerRegistry/registries/${token.inputs.registryName}/tokens`, "tokenName");

/** What the stack's devices were sent: edgeAgent's desired properties, per device (device mode) or in the fleet configuration. */
async function sentEdgeAgents(run: OfflineRun): Promise<any[]> {
    const hub = offlineHubs().get(await value<string>(run, "iotHubHostName"));
    assert.ok(hub, "the run used an offline hub");
    const configurationId = await value<string>(run, "deploymentConfigurationId");
    if (configurationId) {
        const configuration = (await hub.registry().getConfiguration(configurationId)).responseBody as any;
        return [configuration.content.modulesContent.$edgeAgent["properties.desired"]];
    }
    const devices = resourcesOfType(run.plan, "pulumi-nodejs:dynamic/iot:EdgeDevice").map((d) => String(d.inputs.deviceId));
    return Promise.all(
        devices.map(async (id) => ((await hub.registry().getModuleTwin(id, "$edgeAgent")).responseBody as any).properties.desired),
    );
}

describe("registry pull token: devices pull with a scoped, pull-only token", function () {
    this.timeout(60_000);

    for (const { label, stack, overrides } of [
        ...listStacks().map((stack) => ({ label: stack, stack, overrides: {} })),
        { label: "dev+existing-registry", stack: "dev", overrides: EXISTING_REGISTRY },
    ]) {
        describe(label, () => {
            let run: OfflineRun;
            let tokenPasswords: string[];
            before(async () => {
                run = await runOffline({ stack, overrides });
                tokenPasswords = offlineAcrTokens.passwordsOf(tokenIdOf(resourceOfType(run.plan, TOKEN))).map((p) => p.value);
            });

            it("has a scope map that may only read the scoring repository, and a token bound to it", () => {
                const scopeMap = resourceOfType(run.plan, SCOPE_MAP);
                const token = resourceOfType(run.plan, TOKEN);
                const repository = "edgeml/scoring";
                assert.deepStrictEqual(scopeMap.inputs.actions, [`repositories/${repository}/content/read`]);
                assert.deepStrictEqual(pullActions(repository), scopeMap.inputs.actions);
                // Read-only, one repository: every action names it and ends in /read; none writes or deletes.
                for (const action of scopeMap.inputs.actions as string[])
                    assert.match(action, /^repositories\/edgeml\/scoring\/(content|metadata)\/read$/);
                const scopeMapId = armIdOf(
                    scopeMap,
                    `Microsoft.ContainerRegistry/registries/${scopeMap.inputs.registryName}/scopeMaps`,
                    "scopeMapName",
                );
                assert.strictEqual(token.inputs.scopeMapId, scopeMapId);
                assert.strictEqual(token.inputs.status, "enabled");
                assert.strictEqual(token.inputs.registryName, scopeMap.inputs.registryName);
                assert.strictEqual(token.inputs.credentials, undefined, "a password is generated, never sent");
                assert.strictEqual(token.inputs.tokenName, `edgeml-${stack}-pull`);
            });

            it("writes the token, never the admin user, into the manifest the devices get", async () => {
                const token = resourceOfType(run.plan, TOKEN);
                const adminUsername = await value<string>(run, "registryAdminUsername");
                const adminPassword = await value<string>(run, "registryAdminPassword");
                assert.ok(adminPassword.length >= 16 && tokenPasswords.length === 1);
                const sent = await sentEdgeAgents(run);
                assert.ok(sent.length > 0);
                for (const agent of sent) {
                    const credentials = Object.values(agent.runtime.settings.registryCredentials) as {
                        username: string;
                        password: string;
                        address: string;
                    }[];
                    assert.strictEqual(credentials.length, 1);
                    assert.strictEqual(credentials[0].username, token.inputs.tokenName);
                    assert.notStrictEqual(credentials[0].username, adminUsername);
                    assert.strictEqual(credentials[0].password, tokenPasswords[0], "the token's password, put in when sent");
                    assert.ok(!JSON.stringify(agent).includes(adminPassword), "no admin password anywhere in what was sent");
                    // The system modules come from mcr.microsoft.com, which needs no credentials.
                    for (const module of Object.values(agent.systemModules) as { settings: { image: string } }[])
                        assert.match(module.settings.image, /^mcr\.microsoft\.com\//);
                }
                const manifest = (await value<any>(run, "deploymentManifest")).modulesContent.$edgeAgent["properties.desired"].runtime
                    .settings.registryCredentials;
                assert.deepStrictEqual(
                    Object.values(manifest).map((c: any) => [c.username, c.password]),
                    [[token.inputs.tokenName, "[secret]"]],
                );
            });

            it("keeps the token password a secret: in state, in the plan, in the deployment's inputs", () => {
                const password = resourceOfType(run.plan, TOKEN_PASSWORD_TYPE);
                assert.strictEqual(run.states[password.urn].password, "[secret]");
                assert.strictEqual(password.inputs.armToken, "[secret]");
                assert.strictEqual(resourceOfType(run.plan, EDGE_DEPLOYMENT_TYPE).inputs.registryPassword, "[secret]");
                const text = JSON.stringify({ plan: run.plan, states: run.states });
                for (const secret of [...tokenPasswords, offlineAcrTokens.bearerToken]) assert.ok(!text.includes(secret));
            });

            it("generates the password with the registry's generateCredentials action, as Microsoft defines its parameters", function () {
                const definitions = "azure-types/containerregistry__microsoft.containerregistry@2024-11-01-preview.json";
                const oracle = JSON.parse(fs.readFileSync(requireReference(this, definitions), "utf8"));
                const ref = (r: { $ref: string }) => oracle[Number(r.$ref.slice(2))];
                const action = oracle.find(
                    (t: any) =>
                        t.$type === "ResourceFunctionType" &&
                        t.name === "generateCredentials" &&
                        t.resourceType === "Microsoft.ContainerRegistry/registries",
                );
                const parameters = ref(action.input);
                const names = ref(parameters.properties.name.type)
                    .elements.map(ref)
                    .filter((t: any) => t.$type === "StringLiteralType")
                    .map((t: any) => t.value);
                const calls = offlineAcrTokens.requests.filter((r) => r.method === "POST");
                assert.strictEqual(calls.length, 1, "one password generated for a new token");
                const token = resourceOfType(run.plan, TOKEN);
                const registry = `${tokenIdOf(token).replace(/\/tokens\/[^/]+$/, "")}`;
                assert.strictEqual(calls[0].path, `${registry}/generateCredentials?api-version=${action.apiVersion}`);
                for (const key of Object.keys(calls[0].body as object))
                    assert.ok(key in parameters.properties, `${key} is a GenerateCredentialsParameters property`);
                assert.ok(names.includes((calls[0].body as { name: string }).name), `name is one of ${names}`);
                assert.strictEqual((calls[0].body as { tokenId: string }).tokenId, tokenIdOf(token));
            });
        });
    }

    it("creates the scope map and token in an existing registry, which is only read", async () => {
        const run = await runOffline({ stack: "dev", overrides: EXISTING_REGISTRY });
        const registry = resourceOfType(run.plan, REGISTRY);
        assert.strictEqual(registry.operation, "read");
        for (const type of [SCOPE_MAP, TOKEN]) {
            const created = resourceOfType(run.plan, type);
            assert.strictEqual(created.operation, "create", `${type} is created (and deleted with the stack)`);
            assert.deepStrictEqual([created.inputs.registryName, created.inputs.resourceGroupName], ["contosoacr", "images-rg"]);
            assert.ok(created.retainOnDelete === false && created.protect === false);
        }
        assert.match(
            tokenIdOf(resourceOfType(run.plan, TOKEN)),
            /\/resourceGroups\/images-rg\/providers\/Microsoft\.ContainerRegistry\/registries\/contosoacr\/tokens\/edgeml-dev-pull$/,
        );
    });

    it("revokes the old password only after the verified rollout; without verification (prod) never by itself", async () => {
        const dev = (await runOffline({ stack: "dev" })).plan;
        const revocation = resourceOfType(dev, TOKEN_PASSWORD_REVOCATION_TYPE);
        assert.ok(
            revocation.dependencies.includes(resourceOfType(dev, EDGE_DEPLOYMENT_TYPE).urn),
            "waits on the rollout, which verifies the devices",
        );
        assert.strictEqual(revocation.inputs.keep, "password1");
        const prod = (await runOffline({ stack: "prod" })).plan;
        assert.strictEqual(resourcesOfType(prod, TOKEN_PASSWORD_REVOCATION_TYPE).length, 0);
    });

    it("RegistryPullToken: a secret password, the token's name as username, children under the component", async () => {
        let pull!: RegistryPullToken;
        const { plan } = await runOffline({
            stack: "dev",
            program: () => {
                pull = new RegistryPullToken("pull", {
                    registryName: "testacr01",
                    resourceGroupName: "rg-test",
                    repository: "team/model",
                    token: { name: "edgeml-test-pull", passwordRotation: 3 },
                });
                return {};
            },
        });
        assert.strictEqual(await pulumi.isSecret(pull.password), true);
        assert.strictEqual(await pulumi.isSecret(pull.username), false);
        assert.strictEqual(await outputValue(pull.username), "edgeml-test-pull");
        assert.strictEqual(await outputValue(pull.passwordName), "password1");
        assert.deepStrictEqual(resourceOfType(plan, SCOPE_MAP).inputs.actions, ["repositories/team/model/content/read"]);
        assert.strictEqual(resourceOfType(plan, TOKEN_PASSWORD_TYPE).inputs.rotation, 3);
        const component = resourceOfType(plan, "edgeml:registry:RegistryPullToken");
        for (const type of [SCOPE_MAP, TOKEN, TOKEN_PASSWORD_TYPE]) assert.strictEqual(resourceOfType(plan, type).parent, component.urn);
        assert.match(await outputValue(pull.password), /^[A-Za-z0-9+/]{43}=$/);
    });

    it("refuses a rotation that is not a whole number of 0 or more, naming the key", async () => {
        for (const bad of [-1, "next", 1.5]) {
            await assert.rejects(
                runOffline({ stack: "dev", overrides: { registryPasswordRotation: bad } }),
                (error: unknown) =>
                    error instanceof ConfigError &&
                    /edgeml:registryPasswordRotation = .* is invalid: must be a whole number from 0 to/.test(error.message),
            );
        }
    });
});

describe("registry token passwords: generation and rotation against ARM (offline)", () => {
    const tokenId = `/subscriptions/${OFFLINE_SUBSCRIPTION_ID}/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/acr/tokens/edgeml-dev-pull`;
    const setup = () => {
        const arm = new OfflineAcrTokens("bearer", (_tokenId, name, generation) => `${name}-value-${generation}`);
        arm.declare(tokenId, tokenId.replace("/tokens/", "/scopeMaps/"));
        return {
            arm,
            passwords: new TokenPasswordProvider(arm.fetch, FAST_RETRY),
            revocation: new TokenPasswordRevocationProvider(arm.fetch, FAST_RETRY),
        };
    };
    const valid = (arm: OfflineAcrTokens) => arm.passwordsOf(tokenId).map((p) => `${p.name}=${p.value}`);

    it("rotates into the other slot, keeps the devices' password until the revocation, then drops it", async () => {
        const { arm, passwords, revocation } = setup();
        const created = await passwords.create({ tokenId, rotation: 0, armToken: "bearer" });
        const first = created.outs as TokenPasswordOutputs;
        assert.deepStrictEqual([first.username, first.passwordName, first.password], ["edgeml-dev-pull", "password1", "password1-value-1"]);
        assert.deepStrictEqual(valid(arm), ["password1=password1-value-1"]);

        // Same rotation, a new ARM token (every run has one): nothing to do.
        assert.strictEqual((await passwords.diff(created.id, first, { tokenId, rotation: 0, armToken: "another" })).changes, false);
        const rotated = { tokenId, rotation: 1, armToken: "bearer" };
        assert.deepStrictEqual(await passwords.diff(created.id, first, rotated), {
            changes: true,
            replaces: [],
            deleteBeforeReplace: false,
        });
        const second = (await passwords.update(created.id, first, rotated)).outs as TokenPasswordOutputs;
        assert.deepStrictEqual([second.passwordName, second.password], ["password2", "password2-value-2"]);
        assert.notStrictEqual(second.password, first.password);
        assert.deepStrictEqual(
            valid(arm),
            ["password1=password1-value-1", "password2=password2-value-2"],
            "the devices' password still works during the rollout",
        );

        const revoked = await revocation.create({ tokenId, keep: "password2", armToken: "bearer" });
        assert.deepStrictEqual((revoked.outs as { revoked: string[] }).revoked, ["password1"]);
        assert.deepStrictEqual(valid(arm), ["password2=password2-value-2"]);
        const patch = arm.requests.find((r) => r.method === "PATCH")!;
        assert.deepStrictEqual(
            (patch.body as any).properties.credentials.passwords.map((p: { name: string }) => p.name),
            ["password2"],
        );

        const third = (await passwords.update(created.id, second, { tokenId, rotation: 2, armToken: "bearer" }))
            .outs as TokenPasswordOutputs;
        assert.deepStrictEqual(
            [third.passwordName, third.password],
            ["password1", "password1-value-3"],
            "back to the first slot, with a new value",
        );
        assert.strictEqual((await revocation.diff("r", revoked.outs, { tokenId, keep: "password1", armToken: "b" })).changes, true);
    });

    it("replaces the password of a new token, and refuses to revoke the password the devices were given", async () => {
        const { arm, passwords, revocation } = setup();
        const first = (await passwords.create({ tokenId, rotation: 0, armToken: "bearer" })).outs as TokenPasswordOutputs;
        const otherToken = tokenId.replace("edgeml-dev-pull", "edgeml-dev2-pull");
        assert.deepStrictEqual((await passwords.diff("id", first, { tokenId: otherToken, rotation: 0, armToken: "bearer" })).replaces, [
            "tokenId",
        ]);
        await assert.rejects(
            revocation.create({ tokenId, keep: "password2", armToken: "bearer" }),
            /no longer has password2.*registryPasswordRotation/,
        );
        assert.deepStrictEqual(valid(arm), ["password1=password1-value-1"], "nothing dropped");
        await assert.rejects(passwords.create({ tokenId, rotation: 0, armToken: "stale" }), /HTTP 401 AuthenticationFailed.*log in again/);
    });

    it("retries a throttled ARM call after its Retry-After, and never sends the bearer token to another host", async () => {
        const { arm } = setup();
        let posts = 0;
        const throttling: ArmFetch = async (url, init) => {
            if (init.method === "POST" && posts++ === 0) {
                return new Response(JSON.stringify({ error: { code: "TooManyRequests", message: "slow down" } }), {
                    status: 429,
                    headers: { "Retry-After": "0" },
                });
            }
            return arm.fetch(url, init);
        };
        const created = (await new TokenPasswordProvider(throttling, FAST_RETRY).create({ tokenId, rotation: 0, armToken: "bearer" }))
            .outs as TokenPasswordOutputs;
        assert.deepStrictEqual([posts, created.passwordName], [2, "password1"]);

        const elsewhere: ArmFetch = async () =>
            new Response(null, { status: 202, headers: { Location: "https://example.com/operations/1", "Retry-After": "0" } });
        await assert.rejects(
            new TokenPasswordProvider(elsewhere, FAST_RETRY).create({ tokenId, rotation: 0, armToken: "bearer" }),
            /refusing to send an ARM token to https:\/\/example\.com/,
        );
    });

    it("checks its inputs as the engine's check step does", async () => {
        const { passwords } = setup();
        const failures =
            (await passwords.check(undefined, { tokenId: "/subscriptions/s/tokens/x", rotation: -2, armToken: "" })).failures ?? [];
        assert.deepStrictEqual(
            failures.map((f) => f.property),
            ["tokenId", "rotation", "armToken"],
        );
    });
});

describe("registry password rotation in the offline diff", function () {
    this.timeout(60_000);
    let dev: OfflinePlan;
    before(async () => {
        dev = (await runOffline({ stack: "dev" })).plan;
    });

    it("dev: the token password, the rollout and the revocation are updated; the manifest says the password rotated", async () => {
        const rotated = (await runOffline({ stack: "dev", overrides: { registryPasswordRotation: 1 } })).plan;
        const diff = await diffPlans(dev, rotated);
        assert.deepStrictEqual(diff.manifest, ["registry password rotated"]);
        const kinds = diff.resources.map((r) => `${r.kind} ${r.type} ${r.name}`).sort();
        assert.deepStrictEqual(kinds, [
            `update ${EDGE_DEPLOYMENT_TYPE} edge-rollout`,
            `update ${TOKEN_PASSWORD_TYPE} registry-pull-password`,
            `update ${TOKEN_PASSWORD_REVOCATION_TYPE} registry-pull-revocation`,
        ]);
        const password = diff.resources.find((r) => r.type === TOKEN_PASSWORD_TYPE)!;
        assert.deepStrictEqual(
            password.inputs.map((c) => [c.path, c.before, c.after]),
            [["rotation", 0, 1]],
        );
        const text = formatPlanDiff(diff, { stack: "dev", source: "rotation 0" });
        assert.match(text, /registry password rotated/);
        assert.ok(!text.includes(offlineAcrTokens.bearerToken));
    });

    it("prod (fleet): the rotation is a new deployment, as the content hash covers the password", async () => {
        const prod = (await runOffline({ stack: "prod" })).plan;
        const rotated = (await runOffline({ stack: "prod", overrides: { registryPasswordRotation: 7 } })).plan;
        const diff = await diffPlans(prod, rotated);
        assert.deepStrictEqual(diff.manifest, ["registry password rotated"]);
        assert.deepStrictEqual(diff.resources.map((r) => `${r.kind} ${r.name}`).sort(), [
            "replace edge-rollout",
            "update registry-pull-password",
        ]);
    });

    it("an unchanged rotation is no change at all", async () => {
        const again = (await runOffline({ stack: "dev", overrides: { registryPasswordRotation: 0 } })).plan;
        const diff = await diffPlans(dev, again);
        assert.deepStrictEqual([diff.resources, diff.manifest], [[], []]);
    });
});
