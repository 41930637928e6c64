// deviceProvisioning and the Device Provisioning Service keys: what a dps stack reads (derived or explicit names, an
// existing DPS), and every mistake reported at once, each naming the key, the value and the rule.
import * as assert from "assert";
import { loadConfig } from "../components/config/loader";
import type { DpsProvisioning } from "../components/config/provisioning";
import { configRejection, devConfigWith } from "./support/config-fixtures";

const SUBSCRIPTION = "3f2504e0-4f89-11d3-9a0c-0305e82c3301";
const DPS_ID = `/subscriptions/${SUBSCRIPTION}/resourceGroups/iot-rg/providers/Microsoft.Devices/provisioningServices/contoso-dps`;

function problems(overrides: Record<string, unknown>, stack?: string): string[] {
    return configRejection(overrides, stack).problems;
}

function dps(overrides: Record<string, unknown>): DpsProvisioning {
    const provisioning = loadConfig(devConfigWith({ deviceProvisioning: "dps", ...overrides })).provisioning;
    assert.strictEqual(provisioning.mode, "dps");
    return provisioning as DpsProvisioning;
}

describe("config: device provisioning (DPS)", () => {
    describe("accepted", () => {
        it("is hub by default: the devices listed in edgeDevices, no DPS", () => {
            const config = loadConfig(devConfigWith({}));
            assert.deepStrictEqual(config.provisioning, { mode: "hub" });
            assert.deepStrictEqual(config.edgeDevices, ["dev-edge-01"]);
        });

        it("derives the DPS name <prefix>-<stack>-dps and the enrollment group <prefix>-<stack>-edge, S1, rotation 0", () => {
            assert.deepStrictEqual(dps({ deploymentMode: "fleet" }), {
                mode: "dps",
                dps: { existing: false, name: "edgeml-dev-dps", sku: "S1" },
                enrollmentGroupId: "edgeml-dev-edge",
                keyRotation: 0,
            });
            // The stack name survives in the derived names as in every other: a stack that does not gets a hash.
            const other = loadConfig(devConfigWith({ deviceProvisioning: "dps", deploymentMode: "fleet" }, "Plant_1")).provisioning;
            assert.match((other as DpsProvisioning).enrollmentGroupId, /^edgeml-plant-1[0-9a-f]{4}-edge$/);
        });

        it("takes explicit names and a rotation counter", () => {
            assert.deepStrictEqual(
                dps({ deploymentMode: "fleet", dpsName: "Contoso-DPS-1", enrollmentGroupId: "plant_1.edge:v2-", dpsKeyRotation: 3 }),
                {
                    mode: "dps",
                    dps: { existing: false, name: "Contoso-DPS-1", sku: "S1" },
                    enrollmentGroupId: "plant_1.edge:v2-",
                    keyRotation: 3,
                },
            );
        });

        it("reads existingDps as <resource group>/<name>, a resource id, or a bare name in the existing resource group", () => {
            assert.deepStrictEqual(dps({ deploymentMode: "fleet", existingDps: "iot-rg/contoso-dps" }).dps, {
                existing: true,
                configKey: "existingDps",
                resourceGroupName: "iot-rg",
                name: "contoso-dps",
            });
            assert.deepStrictEqual(dps({ deploymentMode: "fleet", existingDps: DPS_ID }).dps, {
                existing: true,
                configKey: "existingDps",
                subscriptionId: SUBSCRIPTION,
                resourceGroupName: "iot-rg",
                name: "contoso-dps",
            });
            assert.deepStrictEqual(dps({ deploymentMode: "fleet", existingResourceGroup: "shared-rg", existingDps: "contoso-dps" }).dps, {
                existing: true,
                configKey: "existingDps",
                resourceGroupName: "shared-rg",
                name: "contoso-dps",
            });
        });

        it("keeps edgeDevices on a dps stack (mixed), and warns that device mode leaves the enrolled devices out", () => {
            const config = loadConfig(devConfigWith({ deviceProvisioning: "dps" }));
            assert.deepStrictEqual(config.edgeDevices, ["dev-edge-01"]);
            assert.strictEqual(config.provisioning.mode, "dps");
            assert.ok(
                config.warnings.some((w) =>
                    /edgeml:deploymentMode is "device".*not to those enrolled through the Device Provisioning Service/.test(w),
                ),
                config.warnings.join("\n"),
            );
            const fleet = loadConfig(devConfigWith({ deviceProvisioning: "dps", deploymentMode: "fleet" }));
            assert.deepStrictEqual(fleet.edgeDevices, ["dev-edge-01"]);
            assert.deepStrictEqual(fleet.warnings, []);
        });

        it("needs no edgeDevices in fleet mode", () => {
            const config = loadConfig(devConfigWith({ deviceProvisioning: "dps", deploymentMode: "fleet", edgeDevices: [] }));
            assert.deepStrictEqual(config.edgeDevices, []);
            assert.strictEqual(config.provisioning.mode, "dps");
        });
    });

    describe("refused", () => {
        it("names each DPS key set without deviceProvisioning: dps, all at once", () => {
            const found = problems({
                existingDps: "iot-rg/contoso-dps",
                dpsName: "contoso-dps",
                dpsSku: "S2",
                enrollmentGroupId: "plant1",
                dpsKeyRotation: 2,
            });
            for (const [key, value] of [
                ["existingDps", '"iot-rg/contoso-dps"'],
                ["dpsName", '"contoso-dps"'],
                ["dpsSku", '"S2"'],
                ["enrollmentGroupId", '"plant1"'],
                ["dpsKeyRotation", '"2"'],
            ]) {
                const line = found.find((p) => p.startsWith(`edgeml:${key} = ${value} is invalid:`));
                assert.ok(line, `${key} is named:\n${found.join("\n")}`);
                assert.match(line, /set edgeml:deviceProvisioning to dps, or remove it/);
            }
            assert.strictEqual(found.length, 5, found.join("\n"));
        });

        it("refuses a deviceProvisioning other than hub or dps", () => {
            assert.deepStrictEqual(problems({ deviceProvisioning: "DPS" }), [
                'edgeml:deviceProvisioning = "DPS" is invalid: must be one of hub, dps',
            ]);
        });

        it("refuses DPS names that break Azure's rule (3-64 letters, digits and hyphens, ending with a letter or digit)", () => {
            const rule = /3-64 letters, digits and hyphens, ending with a letter or digit/;
            for (const name of ["ab", "contoso-dps-", "contoso_dps", "contoso.dps", "a".repeat(65)]) {
                const found = problems({ deviceProvisioning: "dps", deploymentMode: "fleet", dpsName: name });
                assert.strictEqual(found.length, 1, found.join("\n"));
                assert.ok(found[0].startsWith(`edgeml:dpsName = ${JSON.stringify(name)} is invalid: `), found[0]);
                assert.match(found[0], rule);
            }
            assert.ok(dps({ deploymentMode: "fleet", dpsName: "a".repeat(64) }));
            assert.match(
                problems({ deviceProvisioning: "dps", deploymentMode: "fleet", dpsName: "microsoft-dps" })[0],
                /edgeml:dpsName = "microsoft-dps" is invalid: it contains MICROSOFT/,
            );
        });

        it("reports a derived DPS name that breaks the rule, saying to set dpsName", () => {
            const longStack = "s".repeat(60);
            const found = problems({ deviceProvisioning: "dps", deploymentMode: "fleet" }, longStack);
            assert.ok(
                found.some((p) =>
                    new RegExp(
                        `^edgeml:dpsName is not set and the name derived .* is "edgeml-${longStack}-dps", which breaks the rule: 3-64`,
                    ).test(p),
                ),
                found.join("\n"),
            );
        });

        it("refuses enrollment group ids that break DPS's rule", () => {
            for (const id of ["plant 1", "plant1.", "plant1_", "plant/1", "a".repeat(129)]) {
                const found = problems({ deviceProvisioning: "dps", deploymentMode: "fleet", enrollmentGroupId: id });
                assert.strictEqual(found.length, 1, found.join("\n"));
                assert.ok(found[0].startsWith(`edgeml:enrollmentGroupId = ${JSON.stringify(id)} is invalid: `), found[0]);
                assert.match(found[0], /1-128 letters, digits and - \. _ :, ending with a letter, a digit or a hyphen/);
            }
        });

        it("names both keys when dpsName or dpsSku accompany existingDps", () => {
            const found = problems({
                deviceProvisioning: "dps",
                deploymentMode: "fleet",
                existingDps: "iot-rg/contoso-dps",
                dpsName: "my-dps",
                dpsSku: "S2",
            });
            assert.deepStrictEqual(found, [
                'edgeml:dpsName = "my-dps" applies only to a resource this stack creates, but edgeml:existingDps = "iot-rg/contoso-dps" names an existing one: remove one of the two',
                'edgeml:dpsSku = "S2" applies only to a resource this stack creates, but edgeml:existingDps = "iot-rg/contoso-dps" names an existing one: remove one of the two',
            ]);
        });

        it("refuses an existingDps that is a bare name in a created group, the id of another type, or a bad name", () => {
            const with_ = (existingDps: string) => problems({ deviceProvisioning: "dps", deploymentMode: "fleet", existingDps }).join("\n");
            assert.match(
                with_("contoso-dps"),
                /edgeml:existingDps = "contoso-dps" is invalid: a bare name means the stack's resource group/,
            );
            assert.match(
                with_(DPS_ID.replace("provisioningServices", "IotHubs")),
                /is the id of a Microsoft.Devices\/IotHubs, not of a Device Provisioning Service \(Microsoft.Devices\/provisioningServices\)/,
            );
            assert.match(with_("iot-rg/dps_1"), /Device Provisioning Service name "dps_1": 3-64 letters, digits and hyphens/);
        });

        it("refuses a dpsSku other than S1 and a negative rotation counter", () => {
            assert.deepStrictEqual(problems({ deviceProvisioning: "dps", deploymentMode: "fleet", dpsSku: "S2", dpsKeyRotation: -1 }), [
                'edgeml:dpsSku = "S2" is invalid: must be one of S1',
                'edgeml:dpsKeyRotation = "-1" is invalid: must be a whole number from 0 to 1000000000',
            ]);
        });

        it("explains that device mode without edgeDevices cannot reach DPS-enrolled devices: fleet mode does", () => {
            const found = problems({ deviceProvisioning: "dps", edgeDevices: [] });
            assert.strictEqual(found.length, 1, found.join("\n"));
            assert.match(
                found[0],
                /^edgeml:deploymentMode = "device" is invalid: applies the deployment to each device listed in edgeml:edgeDevices, which lists none, and devices enrolled through the Device Provisioning Service \(edgeml:deviceProvisioning: dps\) are reached by a fleet deployment only: set edgeml:deploymentMode to fleet/,
            );
        });

        it("suggests the key for a misspelt DPS key", () => {
            assert.match(
                problems({ deviceProvisioning: "dps", deploymentMode: "fleet", "edgeml:dpsname": "x" }).join("\n"),
                /edgeml:dpsname is not a configuration key of this project \(did you mean edgeml:dpsName\?\)/,
            );
        });
    });
});
