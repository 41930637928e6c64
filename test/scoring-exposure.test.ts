import * as assert from "assert";
import { withPlaceholders } from "../components/config/deployment";
import { loadConfig } from "../components/config/loader";
import { buildManifest, joinCreateOptions } from "../components/iot/manifest";
import { configRejection, devConfigWith } from "./support/config-fixtures";

/** The scoring module's createOptions as edgeAgent would hand them to Docker, or undefined. */
function createOptionsOf(overrides: Record<string, unknown>): Record<string, unknown> | undefined {
    const config = loadConfig(devConfigWith(overrides));
    const manifest = buildManifest(withPlaceholders(config.deployment));
    const agent = manifest.modulesContent.$edgeAgent["properties.desired"];
    const settings = agent.modules[config.deployment.manifest.scoring.name].settings as Record<string, string>;
    return settings.createOptions === undefined ? undefined : JSON.parse(joinCreateOptions(settings));
}

function rejection(overrides: Record<string, unknown>): string {
    return configRejection(overrides).message;
}

describe("exposure of the scoring module's /score on the device", () => {
    it("publishes no host port by default: routes and the IoT Edge network reach the module without one", () => {
        assert.strictEqual(createOptionsOf({}), undefined);
    });

    it("publishes scoringHostPort on 127.0.0.1 unless scoringHostAddress says otherwise", () => {
        assert.deepStrictEqual(createOptionsOf({ scoringHostPort: 8080 }), {
            HostConfig: { PortBindings: { "5001/tcp": [{ HostIp: "127.0.0.1", HostPort: "8080" }] } },
        });
        const everywhere = createOptionsOf({ scoringHostPort: 5001, scoringHostAddress: "0.0.0.0" });
        assert.deepStrictEqual(everywhere, { HostConfig: { PortBindings: { "5001/tcp": [{ HostIp: "0.0.0.0", HostPort: "5001" }] } } });
    });

    it("keeps the user's own createOptions beside the binding", () => {
        const options = createOptionsOf({
            scoringHostPort: 8080,
            scoringCreateOptions: '{"HostConfig":{"Memory":268435456},"User":"10001"}',
        });
        assert.deepStrictEqual(options, {
            User: "10001",
            HostConfig: { Memory: 268435456, PortBindings: { "5001/tcp": [{ HostIp: "127.0.0.1", HostPort: "8080" }] } },
        });
    });

    it("refuses an address without a port, a bad address, and a port published twice, naming the keys", () => {
        assert.match(
            rejection({ scoringHostAddress: "0.0.0.0" }),
            /edgeml:scoringHostAddress = "0\.0\.0\.0" is invalid: binds nothing unless edgeml:scoringHostPort/,
        );
        assert.match(
            rejection({ scoringHostPort: 80, scoringHostAddress: "localhost" }),
            /edgeml:scoringHostAddress = "localhost" is invalid: must be an IP address/,
        );
        assert.match(
            rejection({ scoringHostPort: 80, scoringCreateOptions: '{"HostConfig":{"PortBindings":{"5001/tcp":[{"HostPort":"80"}]}}}' }),
            /edgeml:scoringHostPort = "80" is invalid: edgeml:scoringCreateOptions has HostConfig\.PortBindings of its own/,
        );
        assert.match(rejection({ scoringHostPort: 70000 }), /edgeml:scoringHostPort/);
    });
});
