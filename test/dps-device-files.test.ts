// The device side of DPS enrollment: registration ids (DPS's rule), device keys derived from the group key (checked
// against the Azure CLI's own test vector and an independent HMAC), and the config.toml, compared table by table with
// IoT Edge's template and the input of its own `iotedge config apply` tests.
import * as assert from "assert";
import { createHmac, webcrypto } from "crypto";
import * as fs from "fs";
import {
    deriveDeviceKey,
    DPS_GLOBAL_ENDPOINT,
    DPS_OUTPUTS,
    dpsConfigToml,
    dpsDeviceConfigs,
    MAX_DEVICE_COUNT,
    numberedRegistrationIds,
    readDpsOutputs,
    registrationIdProblem,
    registrationIdsFor,
} from "../components/dps/deviceFiles";
import { StackOutputsError } from "../components/shared";
import { requireReference } from "./support/references";

// Azure/azure-iot-cli-extension at a42f57ae26b9ec7fc46446fae778c6de35cb94e2: azext_iot/tests/dps/__init__.py defines
// TEST_ENDORSEMENT_KEY (the group key), TEST_KEY_REGISTRATION_ID and GENERATED_KEY, and
// azext_iot/tests/dps/enrollment_group/test_iot_dps_enrollment_group_unit.py (TestComputeDeviceKey) asserts that
// `az iot dps enrollment-group compute-device-key --key <TEST_ENDORSEMENT_KEY> --registration-id myarbitrarydeviceId`
// (iot_dps_compute_device_key, azext_iot/common/utility.py compute_device_key) prints GENERATED_KEY.
const CLI_GROUP_KEY =
    "AToAAQALAAMAsgAgg3GXZ0SEs/gakMyNRqXXJP1S124GUgtk8qHaGzMUaaoABgCAAEMAEAgAAAAAAAEAibym9HQP9vxCGF5dVc1Q" +
    "QsAGe021aUGJzNol1/gycBx3jFsTpwmWbISRwnFvflWd0w2Mc44FAAZNaJOAAxwZvG8GvyLlHh6fGKdh+mSBL4iLH2bZ4Ry22cB3" +
    "CJVjXmdGoz9Y/j3/NwLndBxQC+baNvzvyVQZ4/A2YL7vzIIj2ik4y+ve9ir7U0GbNdnxskqK1KFIITVVtkTIYyyFTIR0BySjPrRI" +
    "Dj7r7Mh5uF9HBppGKQCBoVSVV8dI91lNazmSdpGWyqCkO7iM4VvUMv2HT/ym53aYlUrau+Qq87Tu+uQipWYgRdF11KDfcpMHqqzB" +
    "QQ1NpOJVhrsTrhyJzO7KNw==";
const CLI_REGISTRATION_ID = "myarbitrarydeviceId";
const CLI_DEVICE_KEY = "cT/EXZvsplPEpT//p98Pc6sKh8mY3kYgSxavHwMkl7w=";

/** A 64-byte group key, the length DPS generates, that exists nowhere else. */
const GROUP_KEY = Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 37 + 11) % 256)).toString("base64");

const OUTPUTS = {
    [DPS_OUTPUTS.idScope]: "0ne00123ABC",
    [DPS_OUTPUTS.globalEndpoint]: DPS_GLOBAL_ENDPOINT,
    [DPS_OUTPUTS.enrollmentGroupKeys]: { primaryKey: GROUP_KEY, secondaryKey: Buffer.alloc(64, 7).toString("base64") },
    [DPS_OUTPUTS.agentImage]: "mcr.microsoft.com/azureiotedge-agent:1.6",
};

/**
 * The TOML this project and IoT Edge's examples use, as nested objects: [table.headers], key = "string" | integer |
 * true/false | { inline = "table" }, comments and blank lines. Anything else (arrays, multi-line strings, a key
 * defined twice) fails the test rather than being misread. No TOML library: the files here need no more.
 */
function parseToml(text: string): Record<string, unknown> {
    const root: Record<string, unknown> = {};
    let table = root;
    const tableAt = (path: string[]) =>
        path.reduce<Record<string, unknown>>((node, part) => {
            node[part] ??= {};
            assert.ok(typeof node[part] === "object", `${part} is a value and a table`);
            return node[part] as Record<string, unknown>;
        }, root);
    const value = (raw: string): unknown => {
        const string = /^"((?:[^"\\]|\\.)*)"$/.exec(raw);
        if (string) return JSON.parse(`"${string[1]}"`);
        if (/^-?\d+$/.test(raw)) return Number(raw);
        if (raw === "true" || raw === "false") return raw === "true";
        const inline = /^\{\s*(.*?)\s*\}$/.exec(raw);
        if (inline) {
            const object: Record<string, unknown> = {};
            for (const pair of inline[1] === "" ? [] : inline[1].split(/,\s*/)) {
                const [, key, inner] = /^([A-Za-z0-9_-]+)\s*=\s*(.+)$/.exec(pair) ?? assert.fail(`inline pair ${pair}`);
                object[key] = value(inner);
            }
            return object;
        }
        assert.fail(`unsupported TOML value ${raw}`);
    };
    for (const line of text.split("\n").map((l) => l.trim())) {
        if (line === "" || line.startsWith("#")) continue;
        const header = /^\[([A-Za-z0-9_.-]+)\]$/.exec(line);
        if (header) {
            table = tableAt(header[1].split("."));
            continue;
        }
        const [, key, raw] = /^([A-Za-z0-9_-]+)\s*=\s*(.+?)(?:\s+#.*)?$/.exec(line) ?? assert.fail(`unsupported TOML line ${line}`);
        assert.ok(!(key in table), `${key} defined twice`);
        table[key] = value(raw);
    }
    return root;
}

/** Each key's path and the type of its value ("provisioning.attestation.method: string"), tables as paths. */
function shape(node: Record<string, unknown>, prefix = ""): string[] {
    return Object.entries(node)
        .flatMap(([key, value]) =>
            value !== null && typeof value === "object"
                ? [`${prefix}${key}: table`, ...shape(value as Record<string, unknown>, `${prefix}${key}.`)]
                : [`${prefix}${key}: ${typeof value}`],
        )
        .sort();
}

/**
 * The template's "DPS provisioning with symmetric key" block, uncommented: the first of its alternative
 * `symmetric_key` lines (the inline key) and without the optional `payload`.
 */
function templateDpsBlock(template: string): string {
    const start = template.indexOf("## DPS provisioning with symmetric key");
    // The block runs to the first blank line (its "## Uncomment ..." notes are inside it).
    const end = template.indexOf("\n\n", start);
    assert.ok(start >= 0 && end > start, "the template's DPS symmetric key block");
    const seen = new Set<string>();
    return template
        .slice(start, end)
        .split("\n")
        .filter((line) => /^# \S/.test(line))
        .map((line) => line.slice(2).replace(/\s+#.*$/, ""))
        .filter((line) => {
            const key = /^([a-z_]+) =/.exec(line)?.[1];
            if (key === "payload" || (key && seen.has(key))) return false;
            if (key) seen.add(key);
            return true;
        })
        .join("\n");
}

const sample = () =>
    dpsConfigToml({
        idScope: "0ab1234C5D6",
        globalEndpoint: DPS_GLOBAL_ENDPOINT,
        registrationId: "my-device",
        deviceKey: deriveDeviceKey(GROUP_KEY, "my-device"),
        agentImage: "mcr.microsoft.com/azureiotedge-agent:1.6",
    });

describe("DPS device files", () => {
    describe("deriveDeviceKey", () => {
        it("matches `az iot dps enrollment-group compute-device-key`'s test vector (azure-iot-cli-extension)", () => {
            assert.strictEqual(deriveDeviceKey(CLI_GROUP_KEY, CLI_REGISTRATION_ID), CLI_DEVICE_KEY);
        });

        it("matches WebCrypto's HMAC-SHA256 on a 64-byte group key, padded or not", async () => {
            const key = await webcrypto.subtle.importKey(
                "raw",
                Buffer.from(GROUP_KEY, "base64"),
                { name: "HMAC", hash: "SHA-256" },
                false,
                ["sign"],
            );
            for (const id of ["plant1-001", "Plant_1.line:2-07"]) {
                const expected = Buffer.from(await webcrypto.subtle.sign("HMAC", key, new TextEncoder().encode(id))).toString("base64");
                assert.strictEqual(deriveDeviceKey(GROUP_KEY, id), expected, id);
                assert.strictEqual(deriveDeviceKey(GROUP_KEY.replace(/=+$/, ""), id), expected, `${id}, key without padding`);
            }
            // One more, in the words of Microsoft's how-to (openssl sha256 -mac HMAC -macopt hexkey:<decoded key>).
            const hex = Buffer.from(GROUP_KEY, "base64").toString("hex");
            const byHex = createHmac("sha256", Buffer.from(hex, "hex")).update("plant1-001").digest("base64");
            assert.strictEqual(deriveDeviceKey(GROUP_KEY, "plant1-001"), byHex);
        });

        it("differs per registration id and per group key", () => {
            const keys = new Set([
                deriveDeviceKey(GROUP_KEY, "plant1-001"),
                deriveDeviceKey(GROUP_KEY, "plant1-002"),
                deriveDeviceKey(OUTPUTS.dpsEnrollmentGroupKeys.secondaryKey, "plant1-001"),
            ]);
            assert.strictEqual(keys.size, 3);
        });

        it("refuses a group key that is not base64 and a registration id DPS would refuse, without quoting the key", () => {
            assert.throws(() => deriveDeviceKey("not base64!", "plant1-001"), /the enrollment group key is not base64/);
            assert.throws(
                () => deriveDeviceKey(GROUP_KEY, "-plant1"),
                (error: Error) => /registration id "-plant1" breaks DPS's rule/.test(error.message) && !error.message.includes(GROUP_KEY),
            );
        });
    });

    describe("registrationIdProblem (DPS's rule)", () => {
        it("accepts up to 128 letters, digits and - . _ :, starting and ending with a letter or digit", () => {
            for (const id of ["a", "7", "plant1-001", "Plant_1.Line:2-edge", "sn-007-888-abc-mac-a1-b2-c3-d4-e5-f6", "a".repeat(128)]) {
                assert.strictEqual(registrationIdProblem(id), undefined, id);
            }
        });

        it("refuses the empty id, 129 characters, other characters, and a special character first or last", () => {
            for (const id of [
                "",
                "a".repeat(129),
                "plant 1",
                "plant/1",
                "plant+1",
                "plant#1",
                "pläntl",
                "-plant1",
                ".plant1",
                "plant1-",
                "plant1_",
                "plant1:",
            ]) {
                assert.match(
                    registrationIdProblem(id) ?? "",
                    /1-128 letters, digits and - \. _ :, starting and ending with a letter or digit/,
                    JSON.stringify(id),
                );
            }
        });
    });

    describe("registration ids from the command line", () => {
        it("numbers them zero-padded to the width of the count", () => {
            assert.deepStrictEqual(numberedRegistrationIds("p-", 3), ["p-1", "p-2", "p-3"]);
            assert.deepStrictEqual(numberedRegistrationIds("p-", 12).slice(0, 2), ["p-01", "p-02"]);
            const ids = numberedRegistrationIds("plant1-", 250);
            assert.deepStrictEqual([ids.length, ids[0], ids[9], ids[249]], [250, "plant1-001", "plant1-010", "plant1-250"]);
            assert.strictEqual(numberedRegistrationIds("x", 1000)[0], "x0001");
        });

        it("puts the numbered ids first, then the explicit ones", () => {
            assert.deepStrictEqual(registrationIdsFor({ prefix: "plant1-", count: 2, explicit: ["spare-a"] }), {
                ids: ["plant1-1", "plant1-2", "spare-a"],
                problems: [],
            });
        });

        it("names the flag for a bad count, a prefix that makes bad ids, a bad id, or an id asked for twice", () => {
            const of = (request: Parameters<typeof registrationIdsFor>[0]) => registrationIdsFor(request);
            assert.deepStrictEqual(of({ prefix: "p", count: 0 }), {
                ids: [],
                problems: [`--count must be a whole number from 1 to ${MAX_DEVICE_COUNT}`],
            });
            assert.deepStrictEqual(of({ prefix: "p", count: MAX_DEVICE_COUNT + 1 }).problems.length, 1);
            assert.deepStrictEqual(of({ prefix: "p", count: Number.NaN }).problems.length, 1);
            assert.match(
                of({ prefix: "-plant", count: 3 }).problems[0],
                /^--prefix "-plant" makes the registration id "-plant1", which breaks DPS's rule/,
            );
            assert.match(of({ prefix: "plant 1-", count: 3 }).problems[0], /^--prefix "plant 1-" makes the registration id "plant 1-1"/);
            // Too long only once the numbers, all as wide as the count, are added.
            const long = "p".repeat(125);
            assert.deepStrictEqual(of({ prefix: long, count: 999 }).problems, []);
            assert.match(of({ prefix: long, count: 1000 }).problems[0], new RegExp(`makes the registration id "${long}0001"`));
            assert.deepStrictEqual(of({ explicit: ["ok-1", "bad/1"] }).problems, [
                `--registration-id "bad/1" breaks DPS's rule: 1-128 letters, digits and - . _ :, starting and ending with a letter or digit (DPS's registration id rule)`,
            ]);
            assert.deepStrictEqual(of({ prefix: "plant1-", count: 2, explicit: ["Plant1-2", "x", "x"] }), {
                ids: [],
                problems: [
                    'registration id "Plant1-2" is the same registration as "plant1-2" (DPS ignores case)',
                    'registration id "x" is asked for twice',
                ],
            });
        });
    });

    describe("readDpsOutputs", () => {
        const rejects = (outputs: Record<string, unknown>, message: RegExp) =>
            assert.throws(
                () => readDpsOutputs(outputs, "outputs.json"),
                (error: Error) => error instanceof StackOutputsError && message.test(error.message) && !error.message.includes(GROUP_KEY),
            );

        it("reads the ID scope, endpoint, primary group key and agent image", () => {
            assert.deepStrictEqual(readDpsOutputs(OUTPUTS, "outputs.json"), {
                idScope: "0ne00123ABC",
                globalEndpoint: DPS_GLOBAL_ENDPOINT,
                groupKey: GROUP_KEY,
                agentImage: "mcr.microsoft.com/azureiotedge-agent:1.6",
            });
        });

        it("names every missing output and what to do", () => {
            rejects(
                { iotHubName: "hub" },
                /^outputs\.json has no output dpsIdScope, dpsGlobalEndpoint, dpsEnrollmentGroupKeys, edgeAgentImage: the stack must set deviceProvisioning to dps/,
            );
        });

        it("names the output for a hidden secret, a malformed key, endpoint, scope or image, never quoting the key", () => {
            const keys = DPS_OUTPUTS.enrollmentGroupKeys;
            rejects({ ...OUTPUTS, [keys]: "[secret]" }, /output dpsEnrollmentGroupKeys of outputs\.json is hidden as "\[secret\]"/);
            rejects({ ...OUTPUTS, [keys]: GROUP_KEY }, /output dpsEnrollmentGroupKeys of outputs\.json has no primaryKey string/);
            rejects({ ...OUTPUTS, [keys]: { primaryKey: `${GROUP_KEY}!` } }, /primaryKey is not a base64 key of 16 to 64 bytes/);
            rejects(
                { ...OUTPUTS, [keys]: { primaryKey: Buffer.alloc(8).toString("base64") } },
                /primaryKey is not a base64 key of 16 to 64 bytes/,
            );
            rejects(
                { ...OUTPUTS, [DPS_OUTPUTS.globalEndpoint]: "http://global.azure-devices-provisioning.net/" },
                /dpsGlobalEndpoint .* is not an https:\/\/ URL/,
            );
            rejects({ ...OUTPUTS, [DPS_OUTPUTS.idScope]: "0ne 123" }, /output dpsIdScope of outputs\.json is not an ID scope/);
            rejects({ ...OUTPUTS, [DPS_OUTPUTS.idScope]: 42 }, /output dpsIdScope of outputs\.json is not a string/);
            rejects(
                { ...OUTPUTS, [DPS_OUTPUTS.agentImage]: "Not An Image" },
                /output edgeAgentImage of outputs\.json is not an image reference/,
            );
        });
    });

    describe("config.toml", () => {
        it("writes each registration id's own derived key", () => {
            const configs = dpsDeviceConfigs(readDpsOutputs(OUTPUTS, "outputs.json"), ["plant1-01", "plant1-02"]);
            assert.deepStrictEqual([...configs.keys()], ["plant1-01", "plant1-02"]);
            for (const [id, toml] of configs) {
                const attestation = (parseToml(toml).provisioning as any).attestation;
                assert.deepStrictEqual(attestation, {
                    method: "symmetric_key",
                    registration_id: id,
                    symmetric_key: { value: deriveDeviceKey(GROUP_KEY, id) },
                });
                assert.ok(!toml.includes(GROUP_KEY), "never the group key");
            }
        });

        it("holds DPS provisioning with the inline symmetric key, then edgeAgent's image", () => {
            const parsed = parseToml(sample());
            assert.deepStrictEqual(parsed, {
                provisioning: {
                    source: "dps",
                    global_endpoint: "https://global.azure-devices-provisioning.net/",
                    id_scope: "0ab1234C5D6",
                    attestation: {
                        method: "symmetric_key",
                        registration_id: "my-device",
                        symmetric_key: { value: deriveDeviceKey(GROUP_KEY, "my-device") },
                    },
                },
                agent: { name: "edgeAgent", type: "docker", config: { image: "mcr.microsoft.com/azureiotedge-agent:1.6" } },
            });
        });

        for (const example of ["dps-symmetric-key", "dps-symmetric-key-no-pad"]) {
            it(`has the keys and tables of iotedge config apply's ${example} input`, function () {
                const file = requireReference(this, `iotedge-config/examples/${example}/super-config.toml`);
                const reference = parseToml(fs.readFileSync(file, "utf8"));
                const ours = parseToml(sample());
                assert.deepStrictEqual(
                    shape(ours.provisioning as Record<string, unknown>),
                    shape(reference.provisioning as Record<string, unknown>),
                );
                const [ourDps, theirs] = [ours, reference].map((t) => t.provisioning as any);
                assert.deepStrictEqual(
                    [ourDps.source, ourDps.global_endpoint, ourDps.attestation.method],
                    [theirs.source, theirs.global_endpoint, theirs.attestation.method],
                );
                // The example's key is base64 (padded, or not in -no-pad): so is ours.
                assert.match(theirs.attestation.symmetric_key.value, /^[A-Za-z0-9+/]+=*$/);
                assert.match(ourDps.attestation.symmetric_key.value, /^[A-Za-z0-9+/]{43}=$/);
                // The agent tables: every key ours sets is one the example sets, with the same type.
                const agentShape = shape(reference.agent as Record<string, unknown>);
                for (const entry of shape(ours.agent as Record<string, unknown>)) assert.ok(agentShape.includes(entry), entry);
                assert.deepStrictEqual([(ours.agent as any).name, (ours.agent as any).type], ["edgeAgent", "docker"]);
            });
        }

        it("has the keys of the template's 'DPS provisioning with symmetric key' block", function () {
            const file = requireReference(this, "iotedge-config/template.toml");
            const block = parseToml(templateDpsBlock(fs.readFileSync(file, "utf8")));
            assert.deepStrictEqual(
                shape(parseToml(sample()).provisioning as Record<string, unknown>),
                shape(block.provisioning as Record<string, unknown>),
            );
            assert.deepStrictEqual((block.provisioning as any).attestation.method, "symmetric_key");
            assert.deepStrictEqual((block.provisioning as any).source, "dps");
        });
    });
});
