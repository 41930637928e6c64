// Run as a child process by test/providers.test.ts (the offline engine, loaded in the test process, stubs out
// provider serialization). Serializes each provider exactly as pulumi.dynamic.Resource does, loads the code in
// a fresh module scope as Pulumi's dynamic provider host would, and calls its pure methods.
import * as pulumi from "@pulumi/pulumi";
import Module = require("module");
import { EdgeDeploymentProvider } from "../../components/iot/edgeDeploymentProvider";
import { EdgeDeviceProvider } from "../../components/iot/edgeDeviceProvider";
import { EnrollmentGroupProvider } from "../../components/dps/enrollmentGroupProvider";
import { ModelVersionNumberProvider } from "../../components/ml/modelVersionNumberProvider";
import { TokenPasswordProvider, TokenPasswordRevocationProvider } from "../../components/registry/tokenPasswordProvider";
import { deploymentInputs, manifestFor, IMAGE_B } from "../../offline/sample-deployment";
import { startIotHubEmulator } from "../../offline/iothub-emulator";
import { GROUP_INPUTS, GROUP_OUTPUTS } from "./enrollment-group-fixtures";
import { FAST_RETRY } from "./fast-retry";

async function load(provider: object): Promise<{ size: number; handler: any }> {
    const serialized = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
    const module = new Module("provider", undefined) as any;
    module.paths = (Module as any)._nodeModulePaths(process.cwd());
    module._compile(serialized.text, "serialized-provider.js");
    return { size: serialized.text.length, handler: module.exports[serialized.exportName]() };
}

async function main(): Promise<void> {
    const connectionString = "HostName=h.azure-devices.net;SharedAccessKeyName=iothubowner;SharedAccessKey=AAAA";
    const device = await load(new EdgeDeviceProvider());
    const check = await device.handler.check({}, { serviceConnectionString: connectionString, deviceId: "bad/id", tags: {} });
    const deployment = await load(new EdgeDeploymentProvider());
    // The state to diff against is what the provider created in a hub (the emulator's), not made up here.
    const hub = await startIotHubEmulator({ hubName: "serialize-hub" });
    try {
        const created = await new EdgeDeploymentProvider(hub.registryFactory, FAST_RETRY).create(
            deploymentInputs(hub.connectionString, { mode: "fleet" }),
        );
        const diff = await deployment.handler.diff(
            created.id,
            created.outs,
            deploymentInputs(hub.connectionString, { mode: "fleet", content: manifestFor(IMAGE_B) }),
        );
        const numbers = await load(new ModelVersionNumberProvider());
        const first = await numbers.handler.create({ modelName: "m", sha256: "a".repeat(64) });
        const next = await numbers.handler.update(first.id, first.outs, { modelName: "m", sha256: "b".repeat(64) });
        const versions = [first.outs.version, next.outs.version];
        // The registry token's providers: their pure methods (create and update would call ARM).
        const tokenId = "/subscriptions/s/resourceGroups/g/providers/Microsoft.ContainerRegistry/registries/r/tokens/t-pull";
        const passwords = await load(new TokenPasswordProvider());
        const olds = { tokenId, rotation: 0, username: "t-pull", passwordName: "password1", password: "p", creationTime: "" };
        const tokenDiffs = [
            await passwords.handler.diff(tokenId, olds, { tokenId, rotation: 0, armToken: "another run's token" }),
            await passwords.handler.diff(tokenId, olds, { tokenId, rotation: 1, armToken: "t" }),
        ].map((d) => d.changes);
        const revocation = await load(new TokenPasswordRevocationProvider());
        const revocationCheck = await revocation.handler.check({}, { tokenId, keep: "password3", armToken: "t" });
        // The DPS enrollment group's provider: check and diff (create and update would call DPS).
        const groups = await load(new EnrollmentGroupProvider());
        const [group, groupOlds] = [GROUP_INPUTS, GROUP_OUTPUTS];
        const groupCheck = await groups.handler.check({}, { ...group, enrollmentGroupId: "plant." });
        const groupDiffs = [
            await groups.handler.diff("plant-edge", groupOlds, group),
            await groups.handler.diff("plant-edge", groupOlds, { ...group, keyRotation: 1 }),
            await groups.handler.diff("plant-edge", groupOlds, { ...group, enrollmentGroupId: "plant-edge-2" }),
        ].map((d) => (d.replaces.length > 0 ? d.replaces : d.changes));
        console.log(
            JSON.stringify({
                deviceCheck: check.failures,
                deploymentDiff: diff,
                versions,
                tokenDiffs,
                revocationCheck: revocationCheck.failures,
                groupCheck: groupCheck.failures,
                groupDiffs,
                sizes: [device.size, deployment.size, numbers.size, passwords.size, revocation.size, groups.size],
            }),
        );
    } finally {
        await hub.stop();
    }
}

main().catch((error) => {
    console.error(error);
    process.exit(1);
});
