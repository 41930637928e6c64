// Config keys naming existing resources: the accepted forms, Azure ML's config.json, and the conflicts with
// settings that only apply when the stack creates the resource.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loadConfig } from "../components/config/loader";
import { configRejection, devConfigWith } from "./support/config-fixtures";

const SUBSCRIPTION = "3f2504e0-4f89-11d3-9a0c-0305e82c3301";

function problems(overrides: Record<string, unknown>): string[] {
    return configRejection(overrides).problems;
}

function tempFile(name: string, text: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "edgeml-config-"));
    const file = path.join(dir, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
    return file;
}

const azureMlConfig = (fields: Record<string, unknown>) =>
    tempFile(
        "config.json",
        JSON.stringify({ subscription_id: SUBSCRIPTION, resource_group: "ml-team-rg", workspace_name: "ml-team-ws", ...fields }),
    );

describe("config: existing resources", () => {
    it("reads <resource group>/<name>, a full resource id, and a bare name in the existing resource group", () => {
        const config = loadConfig(
            devConfigWith({
                existingResourceGroup: "shared-rg",
                existingRegistry: "images-rg/contosoacr",
                existingIotHub: `/subscriptions/${SUBSCRIPTION}/resourceGroups/iot-rg/providers/Microsoft.Devices/IotHubs/contoso-hub`,
                existingWorkspace: "contoso-mlw",
            }),
        );
        assert.deepStrictEqual(config.registry, {
            existing: true,
            configKey: "existingRegistry",
            resourceGroupName: "images-rg",
            name: "contosoacr",
        });
        assert.deepStrictEqual(config.iotHub, {
            existing: true,
            configKey: "existingIotHub",
            subscriptionId: SUBSCRIPTION,
            resourceGroupName: "iot-rg",
            name: "contoso-hub",
        });
        assert.deepStrictEqual(config.workspace, {
            existing: true,
            configKey: "existingWorkspace",
            resourceGroupName: "shared-rg",
            name: "contoso-mlw",
        });
    });

    it("rejects a bare name when the stack creates its resource group, and an id of the wrong kind", () => {
        assert.match(
            problems({ existingRegistry: "contosoacr" }).join("\n"),
            /edgeml:existingRegistry = "contosoacr" is invalid: a bare name means the stack's resource group, which this stack creates/,
        );
        const hubId = `/subscriptions/${SUBSCRIPTION}/resourceGroups/iot-rg/providers/Microsoft.Devices/IotHubs/contoso-hub`;
        assert.match(
            problems({ existingRegistry: hubId }).join("\n"),
            /is the id of a Microsoft.Devices\/IotHubs, not of a container registry/,
        );
        assert.match(problems({ existingRegistry: "rg/x" }).join("\n"), /container registry name "x": 5-50 alphanumeric characters/);
        assert.match(problems({ existingIotHub: "a/b/c" }).join("\n"), /must be <resource group>\/<name>/);
    });

    it("names both keys when a creation-only setting accompanies an existing resource", () => {
        const found = problems({
            existingRegistry: "rg/contosoacr",
            registrySku: "Premium",
            existingIotHub: "rg/contoso-hub",
            iotHubUnits: 4,
        });
        assert.ok(
            found.includes(
                'edgeml:registrySku = "Premium" applies only to a resource this stack creates, but edgeml:existingRegistry = "rg/contosoacr" names an existing one: remove one of the two',
            ),
            found.join("\n"),
        );
        assert.ok(
            found.some((p) => p.startsWith('edgeml:iotHubUnits = "4"') && p.includes("edgeml:existingIotHub")),
            found.join("\n"),
        );
        assert.strictEqual(found.length, 2, found.join("\n"));
    });

    it("accepts creation settings left at their defaults next to an existing resource", () => {
        const config = loadConfig(devConfigWith({ existingRegistry: "rg/contosoacr", registrySku: "Basic" }));
        assert.strictEqual(config.registry.existing, true);
    });
});

describe("config: Azure ML config.json", () => {
    it("reads subscription, resource group and workspace from the file Workspace.from_config() reads", () => {
        const config = loadConfig(devConfigWith({ workspaceConfigFile: azureMlConfig({}) }));
        assert.deepStrictEqual(config.workspace, {
            existing: true,
            configKey: "workspaceConfigFile",
            subscriptionId: SUBSCRIPTION,
            resourceGroupName: "ml-team-rg",
            name: "ml-team-ws",
        });
    });

    it("finds .azureml/config.json in a folder, as the SDK searches", () => {
        const file = tempFile(
            ".azureml/config.json",
            JSON.stringify({ subscription_id: SUBSCRIPTION, resource_group: "rg", workspace_name: "ws-1" }),
        );
        const config = loadConfig(devConfigWith({ workspaceConfigFile: path.dirname(path.dirname(file)) }));
        assert.strictEqual(config.workspace.name, "ws-1");
    });

    it("explains a broken file without quoting its text", () => {
        const broken = tempFile("config.json", '{"subscription_id": "SECRET-LOOKING-TEXT", ');
        const [notJson] = problems({ workspaceConfigFile: broken });
        assert.match(notJson, /edgeml:workspaceConfigFile = ".*config.json" is invalid: .*config.json is not valid JSON; Azure ML writes/);
        assert.ok(!notJson.includes("SECRET-LOOKING-TEXT"));
        assert.match(
            problems({ workspaceConfigFile: azureMlConfig({ workspace_name: undefined, resource_group: "" }) })[0],
            /lacks resource_group, workspace_name/,
        );
        assert.match(
            problems({ workspaceConfigFile: azureMlConfig({ subscription_id: "my-sub" }) })[0],
            /subscription_id "my-sub" is not a subscription id/,
        );
        assert.match(
            problems({ workspaceConfigFile: "no/such/config.json" })[0],
            /must name Azure ML's config.json or a folder holding it/,
        );
    });

    it("rejects naming the workspace twice, and workspace creation settings beside it", () => {
        const found = problems({ workspaceConfigFile: azureMlConfig({}), existingWorkspace: "rg/other-ws", storageSku: "Standard_ZRS" });
        assert.ok(
            found.some((p) =>
                /edgeml:existingWorkspace = "rg\/other-ws" and edgeml:workspaceConfigFile = ".*" both name the existing workspace/.test(p),
            ),
            found.join("\n"),
        );
        assert.ok(
            found.some((p) => p.startsWith('edgeml:storageSku = "Standard_ZRS" applies only to a resource this stack creates')),
            found.join("\n"),
        );
    });
});

describe("config: an already-registered model", () => {
    const workspace = { existingWorkspace: "ml-rg/ml-team-ws" };

    it("reads <name>:<version> and <name>@latest, with or without the azureml: prefix", () => {
        assert.deepStrictEqual(loadConfig(devConfigWith({ ...workspace, existingModel: "anomaly:12" })).model, {
            existing: true,
            configKey: "existingModel",
            name: "anomaly",
            version: "12",
        });
        assert.strictEqual(loadConfig(devConfigWith({ ...workspace, existingModel: "azureml:anomaly@latest" })).model.version, "latest");
    });

    it("needs an existing workspace, and rejects local-model settings beside it", () => {
        assert.match(
            problems({ existingModel: "anomaly:1" }).join("\n"),
            /names a model registered in an existing workspace, but this stack creates its workspace: set edgeml:existingWorkspace or edgeml:workspaceConfigFile too/,
        );
        const found = problems({ ...workspace, existingModel: "anomaly:1", modelVersion: "2" });
        assert.deepStrictEqual(found, [
            'edgeml:modelVersion = "2" applies only to a resource this stack creates, but edgeml:existingModel = "anomaly:1" names an existing one: remove one of the two',
        ]);
        assert.match(problems({ ...workspace, existingModel: "anomaly" })[0], /must be <model name>:<version> or <model name>@latest/);
        assert.match(
            problems({ ...workspace, existingModel: "anomaly@newest" })[0],
            /must be <model name>:<version> or <model name>@latest/,
        );
    });
});
