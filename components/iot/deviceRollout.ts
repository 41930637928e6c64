// Device mode's rollout: the manifest applied to each listed device (applyConfigurationContent), bounded
// concurrency, then verified. When verification fails (and rollbackOnFailure is on) the previous manifest (the
// state's, which Pulumi keeps when an update fails) is re-applied to every device that was sent the new one, and the
// devices that acted on the new one must report it again, before the error is thrown. Part of the serialized
// provider (single-file imports only).
import { RolloutError } from "../shared/errors";
import { contentHash, moduleImage, withRegistryPassword } from "./deploymentContent";
import type { EdgeDeploymentInputs, EdgeDeploymentOutputs, HubSession } from "./edgeDeploymentTypes";
import { hostNameOf } from "./hubClient";
import { describeHubError, withHubRetry } from "./hubRetry";
import type { DeploymentContent } from "./manifest";
import { DeviceWatch, describeDeviceWatch, listed, watchDevices } from "./rollout";

/** Applies the inputs' manifest to their devices and verifies it; on failure rolls back to `previous` and throws. */
export async function rollOutDevices(
    session: HubSession,
    inputs: EdgeDeploymentInputs,
    previous: EdgeDeploymentOutputs | undefined,
): Promise<EdgeDeploymentOutputs> {
    const { registry, retry, clock } = session;
    const content = withRegistryPassword(inputs.content, inputs.registryPassword);
    const hash = contentHash(inputs.content, inputs.registryPassword);
    const appliedVersions = await applyToDevices(session, inputs.deviceIds, content, inputs.concurrency);
    const outs = {
        ...inputs,
        hostName: hostNameOf(inputs.serviceConnectionString),
        contentHash: hash,
        configurationId: "",
        canaryConfigurationId: "",
        appliedVersions,
    };
    if (!inputs.verify.enabled) return outs;
    const watch = await watchDevices(registry, appliedVersions, inputs.verify, retry, clock, {
        concurrency: inputs.concurrency,
    });
    if (watch.ok) return outs;
    const failure = describeDeviceWatch(watch, inputs.verify);
    const unapplied = watch.timedOut ? " The manifest was applied; edgeAgent applies it when the device is online." : "";
    if (inputs.rollbackOnFailure === false)
        throw new RolloutError(`${failure}.${unapplied} rollbackOnFailure is off: the devices keep the new manifest.`);
    if (!previous || previous.mode !== "device" || !previous.content) {
        throw new RolloutError(
            `${failure}.${unapplied} Nothing to roll back to: this is the deployment's first rollout to these devices, which keep the new manifest.`,
        );
    }
    return rollBackDevices(session, inputs, previous, appliedVersions, watch, failure);
}

/** Re-applies the previous manifest to every device sent the new one, waits for those that acted on it; always throws. */
async function rollBackDevices(
    session: HubSession,
    inputs: EdgeDeploymentInputs,
    previous: EdgeDeploymentOutputs,
    sentVersions: Record<string, number>,
    watch: DeviceWatch,
    failure: string,
): Promise<never> {
    const { registry, retry, clock } = session;
    const moduleName = previous.verify?.moduleName ?? inputs.verify.moduleName;
    const previousImage = moduleImage(previous.content, moduleName) ?? previous.verify?.image ?? "the previous manifest";
    // The previous manifest as it was verified: with the password it was sent with (the state's). This stack
    // revokes an old pull-token password only after a rollout of its successor verified (TokenPasswordRevocation
    // waits on it), and deletes a replaced token or registry only when the up succeeds, so during a failed up
    // that password still works; the new one may be what failed.
    const content = withRegistryPassword(previous.content, previous.registryPassword);
    const sent = Object.keys(sentVersions);
    let versions: Record<string, number>;
    try {
        versions = await applyToDevices(session, sent, content, inputs.concurrency);
    } catch (error) {
        throw new RolloutError(
            `${failure}; rollback to ${previousImage} failed: ${(error as Error).message} The devices it did not reach keep the new manifest; ` +
                "the stack still records the previous one, so `pulumi up` again rolls out (and, failing, rolls back) once more, and after a fix rolls forward.",
        );
    }
    // Devices whose edgeAgent acted on the new manifest must report the previous one; silent ones are not waited for.
    const online = new Set([
        ...watch.confirmed,
        ...watch.failed.map((f) => f.deviceId),
        ...watch.pending.filter((p) => p.caughtUp).map((p) => p.deviceId),
    ]);
    const verify = { ...inputs.verify, moduleName, image: previousImage };
    const back = await watchDevices(registry, versions, verify, retry, clock, {
        waitFor: online,
        concurrency: inputs.concurrency,
    });
    const silent = back.pending.filter((p) => !online.has(p.deviceId)).map((p) => p.deviceId);
    const silentNote =
        silent.length > 0 ? `; ${silent.length} device(s) never reported and get it when they connect: ${listed(silent)}` : "";
    if (back.ok) {
        throw new RolloutError(
            `${failure}; rolled back to ${previousImage}: the previous manifest was re-applied to ${sent.length} device(s) and ${back.confirmed.length} report it running${silentNote}. ` +
                "The stack keeps the previous deployment: fix the cause and run `pulumi up` again to roll forward.",
        );
    }
    throw new RolloutError(
        `${failure}; ${describeDeviceWatch(back, verify, `rollback to ${previousImage}`)}. Every device was sent the previous manifest again and the stack ` +
            "records it: `pulumi up` again rolls out (and, failing, rolls back) once more, and after a fix rolls forward.",
    );
}

/** Applies the manifest to every device, `concurrency` at a time; names every device that failed. */
async function applyToDevices(
    session: HubSession,
    deviceIds: string[],
    content: DeploymentContent,
    concurrency: number,
): Promise<Record<string, number>> {
    const { registry, retry } = session;
    const applied: Record<string, number> = {};
    const failed: string[] = [];
    const queue = [...deviceIds];
    const worker = async () => {
        for (let deviceId = queue.shift(); deviceId !== undefined; deviceId = queue.shift()) {
            try {
                await withHubRetry(
                    `apply deployment to ${deviceId}`,
                    () => registry.applyConfigurationContentOnDevice(deviceId, content as never),
                    retry,
                );
                const twin = await withHubRetry(
                    `read $edgeAgent of ${deviceId}`,
                    () => registry.getModuleTwin(deviceId, "$edgeAgent"),
                    retry,
                );
                applied[deviceId] =
                    (twin.responseBody as { properties?: { desired?: { $version?: number } } }).properties?.desired?.$version ?? 0;
            } catch (error) {
                failed.push(`${deviceId} (${describeHubError(error)})`);
            }
        }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, deviceIds.length) }, worker));
    if (failed.length > 0) {
        throw new Error(
            `the deployment reached ${Object.keys(applied).length} of ${deviceIds.length} devices; failed: ${failed.sort().join("; ")}. ` +
                "Applying is idempotent: run `pulumi up` again to converge.",
        );
    }
    return Object.fromEntries(deviceIds.map((id) => [id, applied[id]]));
}
