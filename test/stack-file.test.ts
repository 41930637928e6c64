// Stack files as the Pulumi CLI reads them, before the program starts: what `pulumi preview` refuses the offline
// plan refuses too, naming the key, with the CLI's own message beside ours (see offline/stack-file.ts for the rules
// and their sources in pulumi/pulumi), and what it cannot evaluate offline it warns about.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loadConfig } from "../components/config";
import { OFFLINE_SECRET_PLACEHOLDER, StackFileError } from "../components/shared";
import { readStackConfig, REPO_ROOT, runOffline } from "../offline";
import { created, devConfigWith } from "./support/config-fixtures";

/** A project folder with the real Pulumi.yaml and one stack file "t" holding `text`. */
function projectWith(text: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "edgeml-stackfile-"));
    fs.copyFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
    fs.writeFileSync(path.join(dir, "Pulumi.t.yaml"), text);
    return dir;
}

function refusal(text: string): string {
    const dir = projectWith(text);
    try {
        readStackConfig("t", dir);
    } catch (error) {
        assert.ok(error instanceof StackFileError, String(error));
        return error.message;
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
    assert.fail(`accepted:\n${text}`);
}

describe("stack files, read by the Pulumi CLI's rules", () => {
    it("accepts every stack file of the repository", () => {
        for (const stack of ["dev", "prod"]) assert.doesNotThrow(() => readStackConfig(stack));
    });

    it("refuses JSON text for an array key, as the CLI's type check does, and shows how to write it", () => {
        const message = refusal(`config:\n  edgeml:edgeDevices: '["dev-edge-01"]'\n`);
        assert.match(message, /edgeml:edgeDevices = "\[\\"dev-edge-01\\"\]" is not of the type Pulumi.yaml declares, array<string>/);
        assert.match(message, /pulumi config set --path 'edgeDevices\[0\]' <value>/);
        assert.match(message, /\(pulumi preview: Stack 't' with configuration key 'edgeDevices' must be of type 'array<string>'\)/);
    });

    it("refuses wrong scalar types by the CLI's rules, and takes what the CLI takes", () => {
        assert.match(refusal(`config:\n  edgeml:iotHubUnits: two\n`), /must be of type 'integer'/);
        assert.match(refusal(`config:\n  edgeml:iotHubUnits: 1.5\n`), /must be of type 'integer'/);
        assert.match(refusal(`config:\n  edgeml:protect: yes-please\n`), /must be of type 'boolean'/);
        assert.match(refusal(`config:\n  edgeml:namePrefix:\n    - a\n`), /must be of type 'string'/);
        const dir = projectWith(`config:\n  edgeml:iotHubUnits: "3"\n  edgeml:protect: "true"\n  edgeml:namePrefix: 123\n`);
        try {
            const { values } = readStackConfig("t", dir);
            assert.deepStrictEqual(
                [values["edgeml:iotHubUnits"], values["edgeml:protect"], values["edgeml:namePrefix"]],
                ["3", "true", "123"],
            );
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("refuses a key without a namespace, which the CLI cannot parse, instead of applying it", () => {
        const message = refusal(`config:\n  iotHubSku: S2\n`);
        assert.match(message, /"iotHubSku" has no namespace, so the Pulumi CLI refuses the file; write edgeml:iotHubSku/);
        assert.match(
            message,
            /could not parse iotHubSku as a configuration key \(configuration keys should be of the form `<namespace>:<name>`\)/,
        );
        // Other namespaces (providers') and the package:config:name form are keys the CLI parses.
        assert.doesNotThrow(() => {
            const dir = projectWith(`config:\n  azure-native:location: westeurope\n  edgeml:config:protect: "false"\n`);
            try {
                readStackConfig("t", dir);
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        });
    });

    it("reports every key without a namespace at once, each with the CLI's message, where the CLI stops at the first", () => {
        const message = refusal(
            `config:\n  location: westeurope\n  edgeml:registrySku: Basic\n  iotHubSku: S2\n  edgeDevices:\n    - d1\n`,
        );
        const problems = message.split("\n").filter((line) => line.startsWith("  - "));
        const keys = ["location", "iotHubSku", "edgeDevices"];
        assert.strictEqual(problems.length, keys.length, message);
        keys.forEach((key, i) => {
            assert.ok(
                problems[i].includes(`"${key}" has no namespace, so the Pulumi CLI refuses the file; write edgeml:${key}.`),
                problems[i],
            );
            assert.ok(problems[i].includes(`(pulumi preview: could not parse ${key} as a configuration key`), problems[i]);
        });
    });

    it("refuses keys written outside config:, which the CLI would silently ignore", () => {
        assert.match(
            refusal(`edgeml:iotHubSku: S2\n`),
            /"edgeml:iotHubSku" is not a stack file field \(the Pulumi CLI ignores it, so nothing it sets applies\); to set it, indent it under config:/,
        );
    });

    it("warns that ESC environments and secrets cannot be evaluated offline, and plans with the defaults", async () => {
        const dir = projectWith(`environment:\n  - edgeml/dev\nconfig:\n  edgeml:registrySku:\n    secure: AAABAKyc8P0=\n`);
        try {
            fs.copyFileSync(path.join(REPO_ROOT, "index.ts"), path.join(dir, "index.ts"));
            const { values, secretKeys, warnings } = readStackConfig("t", dir);
            assert.deepStrictEqual(secretKeys, ["edgeml:registrySku"]);
            assert.ok(!Object.values(values).includes("AAABAKyc8P0="), "the ciphertext is not handed on");
            assert.ok(
                warnings.some((w) => /imports Pulumi ESC environments .* only Pulumi Cloud evaluates them/.test(w)),
                warnings.join("\n"),
            );
            assert.ok(warnings.some((w) => /edgeml:registrySku is a secret \(secure:\), which cannot be decrypted offline/.test(w)));
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
        // The loader reads such a key as Pulumi.yaml's default instead of judging the placeholder.
        const config = loadConfig(devConfigWith({ registrySku: OFFLINE_SECRET_PLACEHOLDER }));
        assert.strictEqual(created(config.registry).sku, "Basic");
        assert.deepStrictEqual((await runOffline({ stack: "dev" })).warnings, [], "the repository's stacks need no warning");
    });
});
