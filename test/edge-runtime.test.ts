import * as assert from "assert";
import { CURRENT_EDGE_RUNTIME, checkEdgeRuntimeVersion } from "../components/config/edgeRuntime";
import { loadConfig } from "../components/config/loader";
import { configToml } from "../components/iot/edgeDeviceProvider";
import { buildManifest, edgeAgentImage } from "../components/iot/manifest";
import { withPlaceholders } from "../components/config/deployment";
import { requireReference } from "./support/references";
import * as fs from "fs";
import { configRejection, devConfigWith } from "./support/config-fixtures";

describe("IoT Edge runtime version", () => {
    it("defaults to the current LTS, 1.6, for edgeAgent, edgeHub and the simulated sensor", () => {
        const config = loadConfig(devConfigWith({}));
        assert.strictEqual(config.deployment.manifest.edgeRuntimeVersion, "1.6");
        assert.strictEqual(CURRENT_EDGE_RUNTIME, "1.6");
        const manifest = JSON.stringify(buildManifest(withPlaceholders(config.deployment)));
        for (const image of ["azureiotedge-agent:1.6", "azureiotedge-hub:1.6", "azureiotedge-simulated-temperature-sensor:1.6"])
            assert.ok(manifest.includes(`mcr.microsoft.com/${image}`), image);
        assert.deepStrictEqual(config.warnings, []);
    });

    it("refuses 1.4 and older at preview, naming the key and the end of support", () => {
        for (const version of ["1.4", "1.1", "1.2.10", "1.0"]) {
            const error = configRejection({ edgeRuntimeVersion: version });
            assert.match(error.message, new RegExp(`edgeml:edgeRuntimeVersion = "${version.replace(/\./g, "\\.")}" is invalid`));
            assert.match(error.message, /support ended on 20\d\d-\d\d-\d\d|out of support/);
        }
        assert.match(checkEdgeRuntimeVersion("1.4").ok ? "" : (checkEdgeRuntimeVersion("1.4") as { rule: string }).rule, /2024-11-12/);
    });

    it("accepts 1.5 with a warning that it is out of support since 2026-11-10", () => {
        const config = loadConfig(devConfigWith({ edgeRuntimeVersion: "1.5" }));
        assert.strictEqual(config.warnings.length, 1);
        assert.match(config.warnings[0], /edgeml:edgeRuntimeVersion = "1\.5".*out of support since 2026-11-10/);
        assert.deepStrictEqual(checkEdgeRuntimeVersion("1.6.1"), { ok: true });
        assert.strictEqual(checkEdgeRuntimeVersion("latest").ok, false);
    });

    it("writes the device's config.toml with the 1.6 template's [agent] tables, naming the same edgeAgent image", function () {
        const toml = configToml("HostName=h.azure-devices.net;DeviceId=d;SharedAccessKey=a2V5", edgeAgentImage("1.6"));
        assert.match(
            toml,
            /\[agent\]\nname = "edgeAgent"\ntype = "docker"\n\n\[agent\.config\]\nimage = "mcr\.microsoft\.com\/azureiotedge-agent:1\.6"/,
        );
        // IoT Edge's own template names the same tables and keys, commented out, with the same image. Without it the
        // test is reported skipped (the checks above have run), not passed.
        const text = fs.readFileSync(requireReference(this, "iotedge-config/template.toml"), "utf8");
        for (const line of [
            "# [agent]",
            '# name = "edgeAgent"',
            '# type = "docker"',
            "# [agent.config]",
            '# image = "mcr.microsoft.com/azureiotedge-agent:1.6"',
        ])
            assert.ok(text.includes(line), `template.toml has ${line}`);
    });
});
