// Azure state that makes a configured resource unusable is a user's to fix: the Pulumi CLI must print it once,
// against the resource it concerns, without a stack trace and without the SDK's "Error serializing arguments for
// invoke" wrapper (which it logs, stack and all, when a check fails inside an invoke's arguments). The SDK logs
// through console.error when no engine is attached, as under the offline engine, so that is what is watched here.
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { armId, AZURE_TYPES, AzureStateError } from "../components/shared";
import { existingAzureState, OFFLINE_SUBSCRIPTION_ID, outputValue, runOffline } from "../offline";

/** The error an offline run of dev with `overrides` stops with, and what the SDK logged meanwhile. */
async function failure(
    overrides: Record<string, unknown>,
    state: Record<string, Record<string, unknown>>,
): Promise<{ error: unknown; logged: string[] }> {
    const logged: string[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => void logged.push(args.map(String).join(" "));
    for (const [id, value] of Object.entries(state)) existingAzureState.set(id.toLowerCase(), value);
    try {
        await runOffline({ stack: "dev", overrides });
        return { error: undefined, logged };
    } catch (error) {
        return { error, logged };
    } finally {
        console.error = original;
        for (const id of Object.keys(state)) existingAzureState.delete(id.toLowerCase());
    }
}

const cases = [
    {
        what: "an existing registry with its admin user off",
        overrides: { existingResourceGroup: "shared-rg", existingRegistry: "images-rg/contosoacr" },
        state: { [armId(OFFLINE_SUBSCRIPTION_ID, "images-rg", AZURE_TYPES.registry.armType, "contosoacr")]: { adminUserEnabled: false } },
        component: "edgeml:registry:ContainerRegistry",
        message: /has its admin user disabled/,
    },
    {
        what: "an existing basic-tier hub",
        overrides: { existingResourceGroup: "shared-rg", existingIotHub: "iot-rg/contoso-hub" },
        state: {
            [armId(OFFLINE_SUBSCRIPTION_ID, "iot-rg", AZURE_TYPES.iotHub.armType, "contoso-hub")]: { sku: { name: "B1", tier: "Basic" } },
        },
        component: "edgeml:iot:IotHub",
        message: /is on the basic tier B1/,
    },
    {
        what: "an existing workspace in another subscription",
        overrides: {
            existingWorkspace: armId("3f2504e0-4f89-11d3-9a0c-0305e82c3301", "ml-rg", AZURE_TYPES.mlWorkspace.armType, "contoso-mlw"),
        },
        state: {},
        component: "edgeml:ml:MlWorkspace",
        message: /names a resource in subscription 3f2504e0/,
    },
];

describe("Azure state errors: reported once, against their resource, without SDK noise", () => {
    for (const { what, overrides, state, component, message } of cases) {
        it(what, async () => {
            const { error, logged } = await failure(overrides, state);
            assert.ok(error instanceof AzureStateError, `expected an AzureStateError, got ${error}`);
            assert.ok(pulumi.ResourceError.isInstance(error), "a ResourceError, so the CLI names the resource");
            assert.match(error.message, message);
            assert.strictEqual(error.hideStack, true, "printed without a stack trace");
            assert.ok(error.resource, "names its resource");
            const urn = await outputValue(error.resource.urn);
            assert.strictEqual(urn.split("::")[2].split("$").pop(), component, urn);
            assert.deepStrictEqual(
                logged.filter((line) => /Error serializing/.test(line)),
                [],
                "no invoke serialization noise",
            );
        });
    }
});
