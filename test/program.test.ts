import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError } from "../components/shared";
import { offlineAcrTokens, offlineHubs } from "../offline/azure-answers";
import { listStacks, outputValue, runOffline } from "../offline/engine";
import { armIdOf, STATEFUL_TYPES, resourceOfType } from "./support/plan-queries";

const CREDENTIAL_OUTPUTS = [
    "registryAdminPassword",
    "iotHubServiceConnectionString",
    "edgeDeviceConnectionStrings",
    "edgeDeviceConfigTomls",
];

describe("the program", () => {
    it("has a dev and a prod stack", () => {
        assert.ok(listStacks().includes("dev") && listStacks().includes("prod"));
    });

    for (const stack of listStacks()) {
        describe(`stack ${stack}`, () => {
            let run: Awaited<ReturnType<typeof runOffline>>;
            /** Every credential value of the run: registry admin and pull-token passwords, the hub's owner key and each device key. */
            let credentials: string[];
            before(async () => {
                run = await runOffline({ stack });
                const value = <T>(name: string) => outputValue(run.exports[name] as pulumi.Output<T>);
                const keyOf = (connectionString: string) => /SharedAccessKey=([^;]+)/.exec(connectionString)![1];
                const devices = Object.values(await value<Record<string, string>>("edgeDeviceConnectionStrings"));
                const pullToken = resourceOfType(run.plan, "azure-native:containerregistry:Token");
                const tokens = `Microsoft.ContainerRegistry/registries/${pullToken.inputs.registryName}/tokens`;
                const tokenId = armIdOf(pullToken, tokens, "tokenName");
                credentials = [
                    await value<string>("registryAdminPassword"),
                    ...offlineAcrTokens.passwordsOf(tokenId).map((p) => p.value),
                    ...[...offlineHubs().values()].map((hub) => hub.ownerKey),
                    ...devices.map(keyOf),
                ];
            });

            it("evaluates under the offline engine and creates the core resources", () => {
                for (const type of STATEFUL_TYPES) resourceOfType(run.plan, type);
                for (const component of ["edgeml:registry:ContainerRegistry", "edgeml:iot:IotHub", "edgeml:ml:MlWorkspace"]) {
                    resourceOfType(run.plan, component);
                }
            });

            it("exports every credential as a secret", async () => {
                for (const name of CREDENTIAL_OUTPUTS) {
                    assert.ok(pulumi.Output.isInstance(run.exports[name]), name);
                    assert.strictEqual(await pulumi.isSecret(run.exports[name] as pulumi.Output<unknown>), true, name);
                    assert.strictEqual(run.plan.outputs[name], "[secret]", name);
                }
            });

            it("never writes a credential value into the plan", () => {
                const text = JSON.stringify(run.plan);
                assert.ok(credentials.length >= 4, "the registry's admin and pull-token passwords, a hub key and at least one device key");
                for (const credential of credentials) {
                    assert.ok(credential.length >= 16 && !text.includes(credential));
                }
            });

            it("builds the scoring image with the registry's login server and secret admin credentials", () => {
                const image = resourceOfType(run.plan, "docker:index/image:Image");
                const registry = resourceOfType(run.plan, "azure-native:containerregistry:Registry");
                const loginServer = `${String(registry.inputs.registryName).toLowerCase()}.azurecr.io`;
                assert.deepStrictEqual(image.inputs.registry, {
                    server: loginServer,
                    username: registry.inputs.registryName,
                    password: "[secret]",
                });
                assert.ok(String(image.inputs.imageName).startsWith(`${loginServer}/edgeml/scoring:`));
                assert.ok(image.dependencies.includes(registry.urn));
                assert.match(String(run.plan.outputs.scoringImageRef), new RegExp(`^${loginServer}/edgeml/scoring@sha256:[0-9a-f]{64}$`));
            });

            it("registers the model the image carries", () => {
                const version = resourceOfType(run.plan, "azure-native:machinelearningservices:ModelVersion");
                const image = resourceOfType(run.plan, "docker:index/image:Image");
                const args = (image.inputs.build as any).args;
                assert.strictEqual(args.MODEL_NAME, version.inputs.name);
                assert.strictEqual(args.MODEL_VERSION, version.inputs.version);
                // The file's hash is on the image too (label edgeml.model.sha256), as it is on the version.
                assert.strictEqual(args.MODEL_SHA256, (version.inputs.properties as any).properties.sha256);
                assert.strictEqual(run.plan.outputs.modelVersion, version.inputs.version);
            });

            it("deploys exactly the image ScoringImage pushed, pulled with the registry's pull-only token", () => {
                const rollout = resourceOfType(run.plan, "pulumi-nodejs:dynamic/iot:EdgeDeployment");
                const registry = resourceOfType(run.plan, "azure-native:containerregistry:Registry");
                const image = resourceOfType(run.plan, "docker:index/image:Image");
                const desired = (rollout.inputs.content as any).modulesContent.$edgeAgent["properties.desired"];
                assert.strictEqual(desired.modules.scoring.settings.image, run.plan.outputs.scoringImageRef);
                const token = resourceOfType(run.plan, "azure-native:containerregistry:Token");
                const password = resourceOfType(run.plan, "pulumi-nodejs:dynamic/registry:TokenPassword");
                const loginServer = `${String(registry.inputs.registryName).toLowerCase()}.azurecr.io`;
                assert.deepStrictEqual(desired.runtime.settings.registryCredentials[String(registry.inputs.registryName)], {
                    address: loginServer,
                    username: token.inputs.tokenName,
                    password: "[secret]",
                });
                assert.notStrictEqual(token.inputs.tokenName, run.plan.outputs.registryAdminUsername, "not the admin user");
                assert.ok(rollout.dependencies.includes(password.urn), "the password is the token's");
                assert.strictEqual(rollout.inputs.registryPassword, "[secret]", "the password reaches the provider as a secret");
                assert.strictEqual(rollout.inputs.serviceConnectionString, "[secret]");
                assert.ok(rollout.dependencies.includes(image.urn) && rollout.dependencies.includes(registry.urn));
            });

            it("wires the registry into the workspace", () => {
                const workspace = resourceOfType(run.plan, "azure-native:machinelearningservices:Workspace");
                const registry = resourceOfType(run.plan, "azure-native:containerregistry:Registry");
                assert.ok(workspace.dependencies.includes(registry.urn));
                assert.match(String(workspace.inputs.containerRegistry), new RegExp(`/registries/${registry.inputs.registryName}$`));
            });
        });
    }

    it("rolls dev out per device after the identities exist, and prod as a fleet deployment", async () => {
        const devPlan = (await runOffline({ stack: "dev" })).plan;
        const dev = resourceOfType(devPlan, "pulumi-nodejs:dynamic/iot:EdgeDeployment");
        const device = resourceOfType(devPlan, "pulumi-nodejs:dynamic/iot:EdgeDevice");
        assert.deepStrictEqual([dev.inputs.mode, dev.inputs.deviceIds], ["device", ["dev-edge-01"]]);
        assert.ok(dev.dependencies.includes(device.urn));
        assert.strictEqual((dev.inputs.verify as any).enabled, true);
        const prodPlan = (await runOffline({ stack: "prod" })).plan;
        const prod = resourceOfType(prodPlan, "pulumi-nodejs:dynamic/iot:EdgeDeployment");
        assert.deepStrictEqual([prod.inputs.mode, prod.inputs.priority], ["fleet", 20]);
        assert.match(String(prod.inputs.targetCondition), /tags\.environment='prod'/);
        assert.match(String(prodPlan.outputs.deploymentConfigurationId), /^edgeml-prod-[0-9a-f]{12}$/);
        // Every prod device carries the tags the target condition selects.
        for (const d of prodPlan.resources.filter((r) => r.type === "pulumi-nodejs:dynamic/iot:EdgeDevice")) {
            assert.deepStrictEqual(d.inputs.tags, { environment: "prod", fleet: "anomaly-detection" });
        }
    });

    it("protects prod's stateful resources and leaves dev's unprotected", async () => {
        const prod = await runOffline({ stack: "prod" });
        const dev = await runOffline({ stack: "dev" });
        for (const type of STATEFUL_TYPES) {
            assert.strictEqual(resourceOfType(prod.plan, type).protect, true, `prod ${type}`);
            assert.strictEqual(resourceOfType(dev.plan, type).protect, false, `dev ${type}`);
        }
        // The registered model is protected with the stack; each version and its blob are retained instead, since a
        // new version replaces them in state, which protection would refuse.
        assert.strictEqual(resourceOfType(prod.plan, "azure-native:machinelearningservices:ModelContainer").protect, true);
        for (const type of ["azure-native:machinelearningservices:ModelVersion", "azure-native:storage:Blob"]) {
            const resource = resourceOfType(prod.plan, type);
            assert.deepStrictEqual([resource.protect, resource.retainOnDelete], [false, true], type);
        }
    });

    it("sizes dev small and prod for a fleet", async () => {
        const prod = await runOffline({ stack: "prod" });
        const dev = await runOffline({ stack: "dev" });
        const sku = (run: typeof dev, type: string) => resourceOfType(run.plan, type).inputs.sku;
        assert.deepStrictEqual(sku(dev, "azure-native:containerregistry:Registry"), { name: "Basic" });
        assert.deepStrictEqual(sku(prod, "azure-native:containerregistry:Registry"), { name: "Standard" });
        assert.deepStrictEqual(sku(dev, "azure-native:iothub:IotHubResource"), { name: "S1", capacity: 1 });
        assert.deepStrictEqual(sku(prod, "azure-native:iothub:IotHubResource"), { name: "S1", capacity: 2 });
    });

    it("reads an existing resource group instead of creating one", async () => {
        const { plan } = await runOffline({ stack: "dev", overrides: { existingResourceGroup: "team-rg" } });
        const groups = plan.resources.filter((r) => r.type === "azure-native:resources:ResourceGroup");
        assert.deepStrictEqual(
            groups.map((g) => [g.operation, g.inputs.id]),
            [["read", "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/team-rg"]],
        );
        assert.strictEqual(resourceOfType(plan, "azure-native:containerregistry:Registry").inputs.resourceGroupName, "team-rg");
    });

    it("rejects invalid configuration before registering anything", async () => {
        await assert.rejects(runOffline({ stack: "dev", overrides: { registrySku: "Free" } }), (error: unknown) => {
            assert.ok(error instanceof ConfigError);
            assert.match((error as Error).message, /edgeml:registrySku = "Free"/);
            return true;
        });
        const monitor = pulumi.runtime.getMonitor() as unknown as { resources: Map<string, unknown> };
        assert.strictEqual(monitor.resources.size, 0);
    });
});
