// A fleet that enrols itself, end to end under the offline engine: a stack with deviceProvisioning dps is planned
// (its Device Provisioning Service, enrollment group and fleet deployment, against the engine's DPS and IoT Hub
// emulators); the config.toml files `npm run devices` writes from the stack outputs are booted by Microsoft's device
// SDK (azure-iot-provisioning-device, its HTTP transport and symmetric key security client), which registers each
// device through the engine's DPS emulator into the engine's hub with the group's tags; the fleet deployment reaches
// them, and the real EdgeDeployment provider rolls the next image out to them verified, and rolls back an image one
// enrolled device's edgeAgent fails. Then a mixed fleet: a device listed in edgeDevices beside enrolled ones.
// The steps of a describe build on each other, in order, as a fleet's life does.
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import {
    DPS_OUTPUTS,
    dpsDeviceConfigs,
    ENROLLMENT_GROUP_TYPE,
    numberedRegistrationIds,
    readDpsOutputs,
    type DpsOutputs,
} from "../components/dps";
import {
    EDGE_DEPLOYMENT_TYPE,
    EDGE_DEVICE_TYPE,
    type EdgeDeploymentInputs,
    type EdgeDeploymentOutputs,
    EdgeDeploymentProvider,
} from "../components/iot";
import type { DeploymentManifest } from "../components/iot/manifest";
import { AZURE_TYPES, SECRET_MARKER } from "../components/shared";
import { offlineDpsInstances, offlineHubs } from "../offline/azure-answers";
import type { DpsEmulator } from "../offline/dps-emulator";
import { outputValue, runOffline, type OfflineRun } from "../offline/engine";
import type { IotHubEmulator } from "../offline/iothub-emulator";
import { DPS_SWAGGER, IOTHUB_SWAGGER } from "../offline/reference-data";
import { registerDevice } from "./support/dps-devices";
import { FAST_RETRY } from "./support/fast-retry";
import { resourceOfType, resourcesOfType } from "./support/plan-queries";
import { needsReference } from "./support/references";
import { assertConfigurations, assertEveryDeviceOn, ERROR_500, escaped, failureOf, on } from "./support/rollout-hub";

/** prod's tags, which its targetCondition matches: environment=<stack> and its deviceTags. */
const PROD_TAGS = { environment: "prod", fleet: "anomaly-detection" };
/** The pull token's password as the tests hand it to the provider (the plan holds it redacted). */
const PULL_PASSWORD = "pull-token-password";

/** A fleet stack's run and the engine's emulators it used. */
interface Fleet {
    run: OfflineRun;
    hub: IotHubEmulator;
    dps: DpsEmulator;
}

async function planFleet(overrides: Record<string, unknown>): Promise<Fleet> {
    const run = await runOffline({ stack: "prod", overrides: { deviceProvisioning: "dps", verifyRollout: true, ...overrides } });
    const hub = offlineHubs().get(String(run.plan.outputs.iotHubHostName));
    const dps = offlineDpsInstances().get(
        `${resourceOfType(run.plan, AZURE_TYPES.dps.token).inputs.provisioningServiceName}.azure-devices-provisioning.net`,
    );
    assert.ok(hub && dps, "the run used the engine's hub and DPS emulators");
    assert.ok(hub.validating && dps.validating, "both check requests against the service swaggers");
    return { run, hub, dps };
}

/** The stack outputs as `pulumi stack output --json --show-secrets` prints them, which `npm run devices` reads. */
async function stackOutputs(run: OfflineRun): Promise<Record<string, unknown>> {
    const outputs: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(run.exports))
        if (value !== undefined)
            outputs[name] = pulumi.Output.isInstance(value) ? await outputValue(value as pulumi.Output<unknown>) : value;
    return outputs;
}

/** What a device's config.toml gives IoT Edge to register with. */
function provisioningOf(configToml: string): { globalEndpoint: string; idScope: string; registrationId: string; key: string } {
    const field = (pattern: RegExp) => {
        const found = pattern.exec(configToml)?.[1];
        assert.ok(found, `config.toml has ${pattern}`);
        return found;
    };
    return {
        globalEndpoint: field(/^global_endpoint = "([^"]+)"$/m),
        idScope: field(/^id_scope = "([^"]+)"$/m),
        registrationId: field(/^registration_id = "([^"]+)"$/m),
        key: field(/^symmetric_key = \{ value = "([^"]+)" \}$/m),
    };
}

/** Boots each device as IoT Edge would with its config.toml: a DPS registration with Microsoft's device SDK. */
async function bootDevices(
    dps: DpsEmulator,
    files: Map<string, string>,
): Promise<Array<{ registrationId: string; status: string; assignedHub: string }>> {
    const results = [];
    for (const configToml of files.values()) {
        const device = provisioningOf(configToml);
        const result = await registerDevice(dps, device.registrationId, device.key, new URL(device.globalEndpoint).host, device.idScope);
        results.push({ registrationId: device.registrationId, status: result.status, assignedHub: result.assignedHub });
    }
    return results;
}

interface ConfigurationView {
    id: string;
    targetCondition: string;
    systemMetrics: { results: Record<string, number> };
}

async function configuration(hub: IotHubEmulator, id: string): Promise<ConfigurationView> {
    return (await hub.registry().getConfiguration(id)).responseBody as unknown as ConfigurationView;
}

function results(view: ConfigurationView): number[] {
    const { targetedCount, appliedCount, reportedSuccessfulCount, reportedFailedCount } = view.systemMetrics.results;
    return [targetedCount, appliedCount, reportedSuccessfulCount, reportedFailedCount];
}

/** The manifest with another scoring image. */
function withScoringImage(content: DeploymentManifest, image: string): DeploymentManifest {
    const copy = structuredClone(content);
    copy.modulesContent.$edgeAgent["properties.desired"].modules.scoring.settings.image = image;
    return copy;
}

/**
 * The fleet deployment the plan created, as the stack's state holds it (secrets put back: the hub's owner connection
 * string, the pull password), and a provider on the engine's hub: what the next `pulumi up` works with.
 */
async function deployedState(fleet: Fleet): Promise<{ olds: EdgeDeploymentOutputs; provider: EdgeDeploymentProvider }> {
    const rollout = resourceOfType(fleet.run.plan, EDGE_DEPLOYMENT_TYPE);
    const state = fleet.run.states[rollout.urn] as unknown as EdgeDeploymentOutputs;
    assert.strictEqual(state.serviceConnectionString, SECRET_MARKER);
    const olds: EdgeDeploymentOutputs = {
        ...state,
        serviceConnectionString: await outputValue(fleet.run.exports.iotHubServiceConnectionString as pulumi.Output<string>),
        registryPassword: PULL_PASSWORD,
    };
    let simulated = Date.now();
    const clock = { now: () => simulated, sleep: async (ms: number) => void (simulated += ms) };
    return { olds, provider: new EdgeDeploymentProvider(fleet.hub.registryFactory, FAST_RETRY, clock) };
}

/**
 * The next `pulumi up` with another image: new content is a new configuration, so the engine replaces the deployment,
 * creating the new one before deleting the old one, as it would.
 */
async function replaceDeployment(
    provider: EdgeDeploymentProvider,
    olds: EdgeDeploymentOutputs,
    news: EdgeDeploymentInputs,
): Promise<EdgeDeploymentOutputs> {
    const diff = await provider.diff("edge-rollout", olds, news);
    assert.ok(
        diff.replaces?.includes("content") && diff.deleteBeforeReplace !== true,
        "new content: create the new one, then delete the old",
    );
    const outs = (await provider.create(news)).outs as EdgeDeploymentOutputs;
    await provider.delete(olds.configurationId, olds);
    return outs;
}

/** The stack's next rollout: the same inputs with another scoring image, verified. */
function nextRollout(olds: EdgeDeploymentOutputs, image: string): EdgeDeploymentInputs {
    const {
        hostName: _hostName,
        contentHash: _contentHash,
        configurationId: _configurationId,
        canaryConfigurationId: _canary,
        appliedVersions: _applied,
        ...inputs
    } = olds;
    return {
        ...inputs,
        content: withScoringImage(olds.content as DeploymentManifest, image),
        verify: { ...olds.verify, enabled: true, image },
    };
}

/** An image in the stack's own repository, by a made-up digest. */
function imageLike(planned: string, digit: string): string {
    return planned.replace(/@sha256:[0-9a-f]{64}$/, `@sha256:${digit.repeat(64)}`);
}

describe("a fleet that enrols itself through DPS, end to end offline", function () {
    this.timeout(120_000);
    needsReference(DPS_SWAGGER, IOTHUB_SWAGGER);

    describe("prod with deviceProvisioning dps and no listed devices", () => {
        let fleet: Fleet;
        let dpsOutputs: DpsOutputs;
        const registrationIds = numberedRegistrationIds("plant1-", 5);
        let planned: string;
        let olds: EdgeDeploymentOutputs;
        let provider: EdgeDeploymentProvider;
        before(async () => {
            fleet = await planFleet({ edgeDevices: [] });
            planned = String(fleet.run.plan.outputs.scoringImageRef);
        });
        after(() => assert.deepStrictEqual([...fleet.dps.violations, ...fleet.hub.violations], []));

        it("plans: the instance and its enrollment group with the stack's device tags, no device identity, a fleet deployment on those tags", async () => {
            const { plan } = fleet.run;
            assert.deepStrictEqual(resourcesOfType(plan, EDGE_DEVICE_TYPE), []);
            const group = resourceOfType(plan, ENROLLMENT_GROUP_TYPE);
            assert.deepStrictEqual(group.inputs.tags, PROD_TAGS);
            assert.strictEqual(group.inputs.iotEdge, true);
            assert.strictEqual(group.inputs.iotHubHostName, fleet.hub.hostName);
            const rollout = resourceOfType(plan, EDGE_DEPLOYMENT_TYPE);
            assert.strictEqual(rollout.inputs.mode, "fleet");
            assert.strictEqual(rollout.inputs.targetCondition, "tags.environment='prod' AND tags.fleet='anomaly-detection'");
            // Nobody has enrolled yet: the deployment targets no device, which verifies at once.
            const deployed = await configuration(fleet.hub, String(plan.outputs.deploymentConfigurationId));
            assert.deepStrictEqual(results(deployed), [0, 0, 0, 0]);
            assert.deepStrictEqual(((await fleet.hub.registry().list()).responseBody as unknown[]).length, 0);
            // The group the engine's DPS holds is the plan's: its tags, its hub, IoT Edge.
            const held = fleet.dps.enrollmentGroup(String(group.inputs.enrollmentGroupId))!;
            assert.deepStrictEqual([held.tags, held.iotEdge, held.iotHubHostName], [PROD_TAGS, true, fleet.hub.hostName]);
        });

        it("exports what `npm run devices` reads: ID scope, global endpoint, the group's keys (secret) and the edgeAgent image", async () => {
            const { plan, exports } = fleet.run;
            assert.strictEqual(plan.outputs[DPS_OUTPUTS.enrollmentGroupKeys], SECRET_MARKER);
            assert.strictEqual(await pulumi.isSecret(exports[DPS_OUTPUTS.enrollmentGroupKeys] as pulumi.Output<unknown>), true);
            // The rest is no secret: plans, device files and `pulumi stack output` show it.
            for (const name of [DPS_OUTPUTS.idScope, DPS_OUTPUTS.globalEndpoint, DPS_OUTPUTS.agentImage])
                assert.notStrictEqual(plan.outputs[name], SECRET_MARKER, name);
            dpsOutputs = readDpsOutputs(await stackOutputs(fleet.run), "the offline run's outputs");
            const groupId = String(resourceOfType(plan, ENROLLMENT_GROUP_TYPE).inputs.enrollmentGroupId);
            assert.deepStrictEqual(dpsOutputs, {
                idScope: fleet.dps.idScope,
                globalEndpoint: "https://global.azure-devices-provisioning.net/",
                groupKey: fleet.dps.enrollmentGroup(groupId)!.primaryKey,
                agentImage: "mcr.microsoft.com/azureiotedge-agent:1.6",
            });
        });

        it(`${registrationIds.length} devices boot with the config.toml files written from those outputs: each registers and lands in the hub as an IoT Edge device with the tags`, async () => {
            const registered = await bootDevices(fleet.dps, dpsDeviceConfigs(dpsOutputs, registrationIds));
            assert.deepStrictEqual(
                registered,
                registrationIds.map((registrationId) => ({ registrationId, status: "assigned", assignedHub: fleet.hub.hostName })),
            );
            for (const deviceId of registrationIds) {
                const twin = (await fleet.hub.registry().getTwin(deviceId)).responseBody as unknown as {
                    tags: Record<string, string>;
                    capabilities: { iotEdge: boolean };
                };
                assert.deepStrictEqual([twin.tags, twin.capabilities.iotEdge], [PROD_TAGS, true], deviceId);
            }
            assert.deepStrictEqual(
                fleet.dps.registrations.map((r) => r.registrationId),
                registrationIds,
            );
        });

        it("the planned fleet deployment reaches the enrolled devices without a `pulumi up`, and each reports it", async () => {
            const deployed = await configuration(fleet.hub, String(fleet.run.plan.outputs.deploymentConfigurationId));
            const n = registrationIds.length;
            assert.deepStrictEqual(results(deployed), [n, n, n, 0]);
            await assertEveryDeviceOn(fleet.hub, registrationIds, planned);
        });

        it("the next rollout targets every enrolled device and is verified; the previous deployment is deleted", async () => {
            ({ olds, provider } = await deployedState(fleet));
            const imageB = imageLike(planned, "b");
            const outs = await replaceDeployment(provider, olds, nextRollout(olds, imageB));
            const n = registrationIds.length;
            assert.deepStrictEqual(results(await configuration(fleet.hub, outs.configurationId)), [n, n, n, 0]);
            await assertConfigurations(fleet.hub, [outs.configurationId]);
            await assertEveryDeviceOn(fleet.hub, registrationIds, imageB);
            olds = outs;
        });

        it("an enrolled device whose edgeAgent fails the next image: the rollout fails naming it and rolls every device back", async () => {
            const imageB = olds.verify.image!;
            const imageC = imageLike(planned, "c");
            const failing = registrationIds[2];
            fleet.hub.setEdgeAgent(failing, on(imageC, ERROR_500));
            // The create fails, so the engine keeps the previous deployment and never deletes it.
            const message = await failureOf(provider.create(nextRollout(olds, imageC)));
            assert.match(message, new RegExp(`report failure: ${escaped(failing)} \\(edgeAgent status 500`));
            assert.match(
                message,
                new RegExp(
                    `rolled back to ${escaped(imageB)}: removed [^,]+, and ${registrationIds.length} device\\(s\\) report the previous deployment ${escaped(olds.configurationId)} again`,
                ),
            );
            await assertConfigurations(fleet.hub, [olds.configurationId]);
            await assertEveryDeviceOn(fleet.hub, registrationIds, imageB);
        });
    });

    describe("mixed: a device listed in edgeDevices and devices enrolled through DPS", () => {
        const listed = "plant1-line1-edge";
        const enrolled = numberedRegistrationIds("plant2-", 3);
        let fleet: Fleet;
        before(async () => {
            fleet = await planFleet({ edgeDevices: [listed] });
        });
        after(() => assert.deepStrictEqual([...fleet.dps.violations, ...fleet.hub.violations], []));

        it("the listed device is registered by the stack, the enrolled ones register themselves, and one deployment targets them all", async () => {
            assert.deepStrictEqual(
                resourcesOfType(fleet.run.plan, EDGE_DEVICE_TYPE).map((d) => d.inputs.deviceId),
                [listed],
            );
            const planned = String(fleet.run.plan.outputs.scoringImageRef);
            const deploymentId = String(fleet.run.plan.outputs.deploymentConfigurationId);
            assert.deepStrictEqual(results(await configuration(fleet.hub, deploymentId)), [1, 1, 1, 0], "the listed device at plan time");

            const outputs = readDpsOutputs(await stackOutputs(fleet.run), "the offline run's outputs");
            const registered = await bootDevices(fleet.dps, dpsDeviceConfigs(outputs, enrolled));
            assert.ok(registered.every((r) => r.status === "assigned"));
            const all = [listed, ...enrolled];
            assert.deepStrictEqual(results(await configuration(fleet.hub, deploymentId)), [4, 4, 4, 0]);
            await assertEveryDeviceOn(fleet.hub, all, planned);

            // The next rollout is verified on all four.
            const { olds, provider } = await deployedState(fleet);
            const imageB = imageLike(planned, "b");
            const outs = await replaceDeployment(provider, olds, nextRollout(olds, imageB));
            assert.deepStrictEqual(results(await configuration(fleet.hub, outs.configurationId)), [4, 4, 4, 0]);
            await assertEveryDeviceOn(fleet.hub, all, imageB);
        });
    });
});
