// `npm run devices` as an operator runs it: child processes (with a fake `pulumi` on PATH where the CLI is
// involved), the files and modes they leave, and output that must never carry a key.
import * as assert from "assert";
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { Output } from "@pulumi/pulumi";
import { deriveDeviceKey, DPS_OUTPUTS } from "../components/dps/deviceFiles";
import { configToml } from "../components/iot/edgeDeviceProvider";
import { StackOutputsError } from "../components/shared";
import { deviceConfigs, installCommand } from "../scripts/device-files";
import { REPO_ROOT, outputValue, readStackConfig, runOffline } from "../offline/engine";
import { offlineHubs } from "../offline/azure-answers";

const SCRIPT = path.join(REPO_ROOT, "scripts", "device-bootstrap.ts");

interface Run {
    status: number | null;
    stdout: string;
    stderr: string;
    /** stdout and stderr together, for the checks that nothing secret was printed. */
    all: string;
}

/** One run of the script as `npm run devices` starts it. Asynchronous so the runs can go in parallel. */
function devices(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
    const argv = ["--import", require.resolve("tsx"), SCRIPT, ...args];
    const options = { cwd: REPO_ROOT, encoding: "utf8" as const, timeout: 60_000, env: { ...process.env, ...env } };
    return new Promise((resolve) => {
        execFile(process.execPath, argv, options, (error, stdout, stderr) => {
            const status = error ? (typeof error.code === "number" ? error.code : null) : 0;
            resolve({ status, stdout, stderr, all: stdout + stderr });
        });
    });
}

const mode = (file: string) => fs.statSync(file).mode & 0o777;

function assertNoSecrets(text: string, keys: string[]): void {
    assert.doesNotMatch(text, /SharedAccessKey=/);
    for (const key of keys) assert.ok(!text.includes(key), "a device key was printed");
}

/** A hand-made `pulumi stack output --json --show-secrets`, with keys that exist nowhere else. */
const KEYS = { "site-a": "aGFuZC1tYWRlLWtleS1mb3Itc2l0ZS1hAAAAAAAAAAA=", "site-b": "aGFuZC1tYWRlLWtleS1mb3Itc2l0ZS1iBBBBBBBBBBB=" };
const connectionString = (id: keyof typeof KEYS) => `HostName=hub.azure-devices.net;DeviceId=${id};SharedAccessKey=${KEYS[id]}`;
const OUTPUTS = {
    iotHubName: "hub",
    edgeDeviceConnectionStrings: { "site-a": connectionString("site-a"), "site-b": connectionString("site-b") },
    edgeDeviceConfigTomls: { "site-a": configToml(connectionString("site-a")), "site-b": configToml(connectionString("site-b")) },
};

/** A stack with deviceProvisioning: dps and one listed device too (mixed): the hub outputs plus the DPS ones. */
const GROUP_KEY = Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 53 + 5) % 256)).toString("base64");
const DPS_STACK_OUTPUTS = {
    ...OUTPUTS,
    [DPS_OUTPUTS.idScope]: "0ne00123ABC",
    [DPS_OUTPUTS.globalEndpoint]: "https://global.azure-devices-provisioning.net/",
    [DPS_OUTPUTS.enrollmentGroupKeys]: { primaryKey: GROUP_KEY, secondaryKey: Buffer.alloc(64, 9).toString("base64") },
    [DPS_OUTPUTS.agentImage]: "mcr.microsoft.com/azureiotedge-agent:1.6",
};
/** Every key a DPS run could print: the group's and each device's derived one. */
const dpsKeys = (ids: string[]) => [GROUP_KEY, ...ids.map((id) => deriveDeviceKey(GROUP_KEY, id))];

describe("npm run devices (device bootstrap)", () => {
    let tmp: string;
    let bin: string;
    let runs: Record<string, Run>;
    let connectionStrings: Record<string, string>;
    /** Each device's primary key as the offline run's hub generated it. */
    let hubKeys: Record<string, string>;
    const out = (name: string) => path.join(tmp, "out", name);
    const file = (name: string) => path.join(tmp, name);
    /** PATH with the fake CLI first; it records its arguments and folder under `record` (runs go in parallel). */
    const withFakePulumi = (record: string) => ({ PATH: `${bin}:/usr/bin:/bin`, FAKE_PULUMI_RECORD: file(record) });

    // Every child process starts at once (each pays for Node, tsx and, for some, the Pulumi SDK); the tests
    // then read their results. About 6 s on two idle cores; the hook gets more room for a busy machine.
    before(async function () {
        this.timeout(60_000);
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "edgeml-devices-"));
        fs.writeFileSync(file("outputs.json"), JSON.stringify(OUTPUTS, null, 2), { mode: 0o600 });
        fs.writeFileSync(file("dps.json"), JSON.stringify(DPS_STACK_OUTPUTS, null, 2), { mode: 0o600 });
        const fleetOnly = { ...DPS_STACK_OUTPUTS, edgeDeviceConnectionStrings: {}, edgeDeviceConfigTomls: {} };
        fs.writeFileSync(file("dps-fleet.json"), JSON.stringify(fleetOnly, null, 2), { mode: 0o600 });
        // Node 20's JSON.parse message would quote the text around the fault: here, a key.
        fs.writeFileSync(file("broken.json"), `{"edgeDeviceConfigTomls": {"site-a": "SharedAccessKey=${KEYS["site-a"]}" oops}}`);
        fs.writeFileSync(
            file("missing.json"),
            JSON.stringify({ iotHubName: "hub", edgeDeviceConnectionStrings: OUTPUTS.edgeDeviceConnectionStrings }),
        );
        fs.writeFileSync(
            file("evil.json"),
            JSON.stringify({ edgeDeviceConfigTomls: { "../evil": OUTPUTS.edgeDeviceConfigTomls["site-a"] } }),
        );
        // Left by an earlier, careless copy: a world-readable file in a world-readable folder.
        fs.mkdirSync(path.join(out("from-file"), "site-a"), { recursive: true });
        fs.chmodSync(path.join(out("from-file"), "site-a"), 0o755);
        fs.writeFileSync(path.join(out("from-file"), "site-a", "config.toml"), "stale\n");
        fs.chmodSync(path.join(out("from-file"), "site-a", "config.toml"), 0o644);
        // A fake Pulumi CLI: records how it was called, then answers as `pulumi stack output --json --show-secrets`.
        bin = file("bin");
        fs.mkdirSync(bin);
        fs.mkdirSync(file("empty-path"));
        const fakePulumi = [
            "#!/bin/sh",
            `printf '%s\\n' "$@" > "$FAKE_PULUMI_RECORD.args"`,
            `pwd > "$FAKE_PULUMI_RECORD.cwd"`,
            `if [ -n "$FAKE_PULUMI_FAIL" ]; then echo "error: no stack named 'nosuch' found" >&2; exit 255; fi`,
            `cat '${file("outputs.json")}'`,
            "",
        ].join("\n");
        fs.writeFileSync(path.join(bin, "pulumi"), fakePulumi, { mode: 0o755 });

        // The outputs file `name`, the files written to out/<dir> (out/<name> for fromFile).
        const toDir = (name: string, dir: string, ...more: string[]) => [
            "--outputs",
            file(name),
            "--stack",
            "dev",
            "--dir",
            out(dir),
            ...more,
        ];
        const fromFile = (name: string, ...more: string[]) => toDir(name, name, ...more);
        const batch = ["--count", "3", "--prefix", "p-"];
        const started: Record<string, Promise<Run>> = {
            offline: devices(["--offline", "--stack", "dev", "--dir", out("offline")]),
            fromFile: devices(["--outputs", file("outputs.json"), "--stack", "dev", "--dir", out("from-file")]),
            oneDevice: devices([...fromFile("outputs.json"), "--device", "site-b"]),
            unknownDevice: devices([...fromFile("outputs.json"), "--device", "site-c"]),
            broken: devices(fromFile("broken.json")),
            missing: devices(fromFile("missing.json")),
            evil: devices(fromFile("evil.json")),
            cli: devices(["--stack", "dev", "--dir", out("cli")], withFakePulumi("cli")),
            cliFails: devices(["--stack", "nosuch", "--dir", out("cli-fails")], { ...withFakePulumi("cli-fails"), FAKE_PULUMI_FAIL: "1" }),
            noCli: devices(["--stack", "dev", "--dir", out("no-cli")], { PATH: file("empty-path") }),
            noStack: devices(["--offline"]),
            twoSources: devices(["--stack", "dev", "--offline", "--outputs", "x.json"]),
            dpsCount: devices([...fromFile("dps.json"), "--count", "12", "--prefix", "plant1-"]),
            dpsIds: devices(toDir("dps.json", "dps-ids", "--registration-id", "Spare-A", "--registration-id=spare.b")),
            dpsHubFiles: devices(toDir("dps.json", "dps-hub")),
            dpsNoneListed: devices(toDir("dps-fleet.json", "dps-none-listed")),
            dpsNotEnabled: devices(toDir("outputs.json", "dps-not-enabled", "--count", "2", "--prefix", "p-")),
            // The ids are checked before the outputs are read: this file does not exist.
            dpsBadPrefix: devices(toDir("nosuch.json", "dps-bad-prefix", "--count", "3", "--prefix", "-plant")),
            dpsNoPrefix: devices(toDir("dps.json", "dps-no-prefix", "--count", "3")),
            dpsWithDevice: devices(toDir("dps.json", "dps-with-device", ...batch, "--device", "site-a")),
            dpsTwice: devices(toDir("dps.json", "dps-twice", ...batch, "--registration-id", "P-2")),
        };
        // The offline engine's own outputs, to compare the files with.
        const { exports } = await runOffline({ stack: "dev" });
        connectionStrings = await outputValue(exports.edgeDeviceConnectionStrings as Output<Record<string, string>>);
        const hub = offlineHubs().get(await outputValue(exports.iotHubHostName as Output<string>))!;
        const registry = hub.registry();
        hubKeys = {};
        for (const deviceId of Object.keys(connectionStrings)) {
            hubKeys[deviceId] = (await registry.get(deviceId)).responseBody.authentication!.symmetricKey!.primaryKey!;
        }
        const names = Object.keys(started);
        const results = await Promise.all(Object.values(started));
        runs = Object.fromEntries(names.map((name, i) => [name, results[i]]));
    });
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    describe("--offline", () => {
        it("writes one 0600 config.toml per edge device of the stack, in 0700 folders", () => {
            const run = runs.offline;
            assert.strictEqual(run.status, 0, run.stderr);
            const dir = out("offline");
            const stackDevices = JSON.parse(readStackConfig("dev").values["edgeml:edgeDevices"]) as string[];
            assert.ok(stackDevices.length > 0);
            assert.deepStrictEqual(fs.readdirSync(dir).sort(), [...stackDevices].sort());
            assert.strictEqual(mode(dir), 0o700);
            for (const deviceId of stackDevices) {
                const written = path.join(dir, deviceId, "config.toml");
                assert.strictEqual(mode(path.join(dir, deviceId)), 0o700);
                assert.strictEqual(mode(written), 0o600);
                const text = fs.readFileSync(written, "utf8");
                assert.match(text, /^\[provisioning\]$/m);
                assert.match(text, /^source = "manual"$/m);
                assert.ok(text.includes(`connection_string = "${connectionStrings[deviceId]}"`), "the device's own connection string");
                // Generated by the offline hub, the same in the child process as here.
                assert.ok(connectionStrings[deviceId].endsWith(`;SharedAccessKey=${hubKeys[deviceId]}`), "the key the hub generated");
                assert.ok(run.stdout.includes(written), "the path written is printed");
                assert.ok(run.stdout.includes(`ssh -t -- ${deviceId} 'sudo install -m 0600 -o root -g root`), "and how to install it");
            }
        });

        it("prints no connection string and no key", () => {
            assertNoSecrets(
                runs.offline.all,
                Object.values(connectionStrings).map((cs) => /SharedAccessKey=(.+)$/.exec(cs)![1]),
            );
        });
    });

    describe("--outputs <file>", () => {
        it("writes every device's file from a saved outputs JSON, and rewrites an existing 0644 file as 0600", () => {
            const run = runs.fromFile;
            assert.strictEqual(run.status, 0, run.stderr);
            for (const id of ["site-a", "site-b"] as const) {
                const written = path.join(out("from-file"), id, "config.toml");
                assert.strictEqual(mode(written), 0o600, `${id} file mode`);
                assert.strictEqual(mode(path.dirname(written)), 0o700, `${id} folder mode`);
                assert.strictEqual(fs.readFileSync(written, "utf8"), OUTPUTS.edgeDeviceConfigTomls[id]);
                assert.deepStrictEqual(fs.readdirSync(path.dirname(written)), ["config.toml"], "no temp file left behind");
            }
            assertNoSecrets(run.all, Object.values(KEYS));
        });

        it("--device writes that device only, and names the known ids for an unknown one", () => {
            assert.strictEqual(runs.oneDevice.status, 0, runs.oneDevice.stderr);
            assert.deepStrictEqual(fs.readdirSync(out("outputs.json")), ["site-b"]);
            assert.strictEqual(runs.unknownDevice.status, 1);
            assert.strictEqual(runs.unknownDevice.stderr.trim(), 'no device "site-c" in edgeDeviceConfigTomls; devices: site-a, site-b');
        });

        it("reports a malformed file without quoting it", () => {
            const run = runs.broken;
            assert.strictEqual(run.status, 1);
            assert.match(run.stderr, /broken\.json is not valid JSON; expected what `pulumi stack output --json --show-secrets` prints/);
            assertNoSecrets(run.all, [KEYS["site-a"]]);
            assert.doesNotMatch(run.stderr, /\n\s+at /);
            assert.ok(!fs.existsSync(out("broken.json")));
        });

        it("names a missing output", () => {
            assert.strictEqual(runs.missing.status, 1);
            assert.match(runs.missing.stderr, /missing\.json has no output edgeDeviceConfigTomls/);
            assertNoSecrets(runs.missing.all, Object.values(KEYS));
        });

        it("refuses a device id that would leave the folder", () => {
            assert.strictEqual(runs.evil.status, 1);
            assert.match(runs.evil.stderr, /invalid device id "\.\.\/evil"/);
            assertNoSecrets(runs.evil.all, Object.values(KEYS));
            assert.ok(!fs.existsSync(path.join(tmp, "out", "evil")) && !fs.existsSync(out("evil.json")));
        });
    });

    describe("through the Pulumi CLI", () => {
        it("runs `pulumi stack output --json --show-secrets --stack <stack>` in the project and writes the files", () => {
            const run = runs.cli;
            assert.strictEqual(run.status, 0, run.stderr);
            assert.deepStrictEqual(fs.readFileSync(file("cli.args"), "utf8").trim().split("\n"), [
                "stack",
                "output",
                "--json",
                "--show-secrets",
                "--stack",
                "dev",
            ]);
            assert.strictEqual(fs.readFileSync(file("cli.cwd"), "utf8").trim(), fs.realpathSync(REPO_ROOT));
            assert.strictEqual(
                fs.readFileSync(path.join(out("cli"), "site-a", "config.toml"), "utf8"),
                OUTPUTS.edgeDeviceConfigTomls["site-a"],
            );
            assert.strictEqual(mode(path.join(out("cli"), "site-b", "config.toml")), 0o600);
            assertNoSecrets(run.all, Object.values(KEYS));
        });

        it("passes on the CLI's own error when it fails", () => {
            assert.strictEqual(runs.cliFails.status, 1);
            assert.match(
                runs.cliFails.stderr,
                /`pulumi stack output` failed for stack nosuch \(exit 255\):\nerror: no stack named 'nosuch' found/,
            );
            assert.ok(!fs.existsSync(out("cli-fails")));
        });

        it("says to install the CLI or use --outputs when pulumi is not on PATH", () => {
            const run = runs.noCli;
            assert.strictEqual(run.status, 1);
            assert.strictEqual(run.stderr.trim().split("\n").length, 1, run.stderr);
            assert.match(run.stderr, /the Pulumi CLI \(pulumi\) is not on PATH: install it .*, or pass --outputs <file>/);
        });
    });

    it("rejects a command line without --stack, or with both sources, with the usage", () => {
        for (const run of [runs.noStack, runs.twoSources]) {
            assert.strictEqual(run.status, 1);
            assert.match(run.stderr, /^usage: npm run devices -- --stack <name>/m);
        }
        assert.match(runs.noStack.stderr, /--stack <name> is required/);
        assert.match(runs.twoSources.stderr, /--offline and --outputs exclude each other/);
    });

    describe("DPS: --count/--prefix and --registration-id", () => {
        it("writes N 0600 files, ids zero-padded to the width of N, each with its own derived key, and prints no key", () => {
            const run = runs.dpsCount;
            assert.strictEqual(run.status, 0, run.stderr);
            const ids = Array.from({ length: 12 }, (_, i) => `plant1-${String(i + 1).padStart(2, "0")}`);
            const dir = out("dps.json");
            assert.deepStrictEqual(fs.readdirSync(dir).sort(), ids);
            assert.strictEqual(mode(dir), 0o700);
            for (const id of ids) {
                const written = path.join(dir, id, "config.toml");
                assert.strictEqual(mode(written), 0o600, `${id} file mode`);
                assert.strictEqual(mode(path.dirname(written)), 0o700, `${id} folder mode`);
                const text = fs.readFileSync(written, "utf8");
                assert.match(
                    text,
                    /^\[provisioning\]\nsource = "dps"\nglobal_endpoint = "https:\/\/global\.azure-devices-provisioning\.net\/"\nid_scope = "0ne00123ABC"$/m,
                );
                assert.ok(text.includes(`registration_id = "${id}"\nsymmetric_key = { value = "${deriveDeviceKey(GROUP_KEY, id)}" }`), id);
                assert.match(text, /^\[agent\.config\]\nimage = "mcr\.microsoft\.com\/azureiotedge-agent:1\.6"$/m);
                assert.ok(!text.includes(GROUP_KEY), "never the group key");
                assert.ok(run.stdout.includes(written), "the path written is printed");
                assert.ok(run.stdout.includes(`ssh -t -- ${id} 'sudo install -m 0600 -o root -g root`), "and how to install it");
            }
            assert.match(run.stdout, /^Wrote 12 config\.toml from .*dps\.json\. They hold device keys \(mode 0600\)/);
            assert.match(run.stdout, /registers itself through the stack's DPS enrollment group at its first boot/);
            assertNoSecrets(run.all, dpsKeys(ids));
        });

        it("--registration-id writes the ids given (repeatable, either form)", () => {
            const run = runs.dpsIds;
            assert.strictEqual(run.status, 0, run.stderr);
            assert.deepStrictEqual(fs.readdirSync(out("dps-ids")).sort(), ["Spare-A", "spare.b"]);
            const text = fs.readFileSync(path.join(out("dps-ids"), "spare.b", "config.toml"), "utf8");
            assert.ok(text.includes(`symmetric_key = { value = "${deriveDeviceKey(GROUP_KEY, "spare.b")}" }`));
            assertNoSecrets(run.all, dpsKeys(["Spare-A", "spare.b"]));
        });

        it("still writes the files of the devices listed in edgeDevices on a dps stack", () => {
            const run = runs.dpsHubFiles;
            assert.strictEqual(run.status, 0, run.stderr);
            assert.deepStrictEqual(fs.readdirSync(out("dps-hub")).sort(), ["site-a", "site-b"]);
            assert.strictEqual(
                fs.readFileSync(path.join(out("dps-hub"), "site-a", "config.toml"), "utf8"),
                OUTPUTS.edgeDeviceConfigTomls["site-a"],
            );
            assertNoSecrets(run.all, [...Object.values(KEYS), GROUP_KEY]);
        });

        it("says how to write the enrolled devices' files when a dps stack lists no device", () => {
            const run = runs.dpsNoneListed;
            assert.strictEqual(run.status, 1);
            assert.match(
                run.stderr,
                /dps-fleet\.json lists no device in edgeDevices; its devices enrol through DPS: write their files with --count <n> --prefix <p> or --registration-id <id>/,
            );
            assert.ok(!fs.existsSync(out("dps-none-listed")));
        });

        it("names the missing DPS outputs of a stack without deviceProvisioning: dps", () => {
            const run = runs.dpsNotEnabled;
            assert.strictEqual(run.status, 1);
            assert.match(
                run.stderr,
                /outputs\.json has no output dpsIdScope, dpsGlobalEndpoint, dpsEnrollmentGroupKeys, edgeAgentImage: the stack must set deviceProvisioning to dps/,
            );
            assert.ok(!fs.existsSync(out("dps-not-enabled")));
        });

        it("refuses, with the usage, a prefix making ids DPS would refuse (before reading outputs), --count without --prefix, --device, an id twice", () => {
            for (const run of [runs.dpsBadPrefix, runs.dpsNoPrefix, runs.dpsWithDevice, runs.dpsTwice]) {
                assert.strictEqual(run.status, 1, run.stdout);
                assert.match(run.stderr, /^usage: npm run devices -- --stack <name>/m);
            }
            assert.match(
                runs.dpsBadPrefix.stderr,
                /^--prefix "-plant" makes the registration id "-plant1", which breaks DPS's rule: 1-128 letters/m,
            );
            assert.match(runs.dpsNoPrefix.stderr, /^--count needs --prefix <p>/m);
            assert.match(runs.dpsWithDevice.stderr, /^--device names a device listed in edgeDevices/m);
            assert.match(runs.dpsTwice.stderr, /^registration id "P-2" is the same registration as "p-2" \(DPS ignores case\)/m);
        });
    });

    describe("device-files (pure checks)", () => {
        const check = (map: unknown) => () => deviceConfigs({ edgeDeviceConfigTomls: map }, "outputs.json");
        const secret = `connection_string = "SharedAccessKey=${KEYS["site-a"]}"`;
        const rejects = (map: unknown, message: RegExp) =>
            assert.throws(
                check(map),
                (error: Error) =>
                    error instanceof StackOutputsError && message.test(error.message) && !error.message.includes(KEYS["site-a"]),
            );

        it("names the output or device for an empty map, a hidden secret, a non-string or a non-config value", () => {
            rejects({}, /output edgeDeviceConfigTomls of outputs\.json is empty/);
            rejects("[secret]", /is hidden as "\[secret\]": produce the outputs with --show-secrets/);
            rejects({ "site-a": 42 }, /the value for device site-a is not a string/);
            rejects({ "site-a": secret }, /the value for device site-a has no \[provisioning\] section/);
        });

        it("refuses device ids that are not folder names", () => {
            for (const id of ["..", ".", "a/b", "a\\b", ""]) rejects({ [id]: `[provisioning]\n${secret}` }, /invalid device id/);
            // Keys and values swapped: the id is a connection string, and stays unprinted.
            rejects({ [connectionString("site-a")]: "site-a" }, /invalid device id \(not shown: it looks like a connection string\)/);
        });

        it("quotes device ids for the shell in the install command", () => {
            assert.match(installCommand("out/x/config.toml", "it's$me"), /ssh -t -- 'it'\\''s\$me' 'sudo install/);
        });
    });
});
