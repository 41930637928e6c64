// `npm run devices -- --stack <name>`: each edge device's /etc/aziot/config.toml, from the stack outputs to
// out/<stack>/devices/<deviceId>/config.toml (0600), with the command that installs it. With `--count N --prefix P`
// or `--registration-id <id>`, the files of devices enrolled through the stack's DPS enrollment group instead, each
// with its own key derived from the group's. The outputs hold keys: they stay in memory, and only paths and commands
// are printed. The logic is in device-files.ts (devices listed in edgeDevices) and components/dps/deviceFiles.ts (DPS).
import { execFile } from "child_process";
import * as fs from "fs";
import * as path from "path";
import type { Output } from "@pulumi/pulumi";
// The errors module itself, not the shared face: the face loads the whole Pulumi SDK, which triples the start-up
// time of the paths that only read a file. The offline engine, and with it the SDK, is loaded only when needed.
import { isUserFacing, StackOutputsError, UsageError } from "../components/shared/errors";
import { parseArgs } from "./args";
import {
    CONFIG_TOMLS_OUTPUT,
    deviceConfigs,
    installCommand,
    parseOutputs,
    selectDevices,
    stackFolderName,
    writeDeviceFiles,
} from "./device-files";
import { DPS_OUTPUTS, dpsDeviceConfigs, MAX_DEVICE_COUNT, readDpsOutputs, registrationIdsFor } from "../components/dps/deviceFiles";

const engine = () => import("../offline/engine");

const USAGE = `usage: npm run devices -- --stack <name> [--outputs <file> | --offline] [--device <id>] [--dir <folder>]
       npm run devices -- --stack <name> [--outputs <file> | --offline] --count <n> --prefix <p> [--registration-id <id> ...] [--dir <folder>]
  (default)         read \`pulumi stack output --json --show-secrets --stack <name>\` through the Pulumi CLI
  --outputs <file>  read a saved copy of that JSON instead; it holds device keys, so keep it private and delete it after
  --offline         use the offline engine's outputs (fake keys), to try the command without Azure
  --device <id>     write this device's file only (a device listed in edgeDevices)
  --dir <folder>    write <folder>/<deviceId>/config.toml instead of out/<stack>/devices/<deviceId>/config.toml
 Devices enrolled through the stack's DPS enrollment group (deviceProvisioning: dps), each with its own derived key:
  --count <n>       n devices (1 to ${MAX_DEVICE_COUNT}), registration ids <p>1 to <p><n> zero-padded to the width of n
  --prefix <p>      the registration ids' prefix, e.g. plant1- (plant1-001 ...); one per batch, as an id registers once
  --registration-id <id>  this registration id's file too (repeatable; with or without --count)`;

async function main(): Promise<void> {
    const argv = process.argv.slice(2);
    if (argv.includes("--help") || argv.includes("-h")) return void console.log(USAGE);
    // parseArgs takes `--name value` pairs only, so the one switch is taken out first.
    const offline = argv.includes("--offline");
    // `--registration-id` may repeat, which parseArgs does not take: its values are taken out first too.
    const { values: explicitIds, rest } = takeRepeated(
        argv.filter((arg) => arg !== "--offline"),
        "registration-id",
    );
    const args = parseArgs(rest, { stack: "", outputs: "", device: "", dir: "", count: "", prefix: "" });
    if (!args.stack) throw new UsageError("--stack <name> is required");
    const stackFolder = stackFolderName(args.stack);
    if (!stackFolder) throw new UsageError(`--stack ${JSON.stringify(args.stack)} is not a stack name`);
    if (offline && args.outputs) throw new UsageError("--offline and --outputs exclude each other");
    const registrationIds = requestedRegistrationIds(args, explicitIds);

    const { outputs, source } = await readOutputs(args.stack, offline ? { offline } : args.outputs ? { file: args.outputs } : {});
    const configs = registrationIds
        ? dpsDeviceConfigs(readDpsOutputs(outputs, source), registrationIds)
        : selectDevices(listedDeviceConfigs(outputs, source), args.device || undefined);
    const root = args.dir ? path.resolve(args.dir) : path.join((await engine()).findProjectDir(), "out", stackFolder, "devices");
    const files = writeDeviceFiles(root, configs);

    console.log(`Wrote ${files.length} config.toml from ${source}. They hold device keys (mode 0600): delete each once installed.`);
    if (offline) console.log("The offline engine's keys are fake: these files will not connect to a real hub.");
    [...configs.keys()].forEach((deviceId, i) => {
        const shown = displayPath(files[i]);
        console.log(`\n${deviceId}: ${shown}\n  ${installCommand(shown, deviceId)}`);
    });
    if (registrationIds) {
        console.log(
            "\nEach device registers itself through the stack's DPS enrollment group at its first boot with its file as " +
                "/etc/aziot/config.toml (root, 0600): copy it there when imaging, or over SSH with the command above, which assumes " +
                "the registration id is the device's SSH host. Next steps: docs/device-bootstrap.md (Factory flow)",
        );
    } else console.log("\nThe commands assume each device id is the device's SSH host. Next steps: docs/device-bootstrap.md");
}

/** The files of the devices listed in edgeDevices; a DPS stack that lists none is told how to write its devices' files. */
function listedDeviceConfigs(outputs: Record<string, unknown>, source: string): Map<string, string> {
    const tomls = outputs[CONFIG_TOMLS_OUTPUT];
    const empty = tomls !== null && typeof tomls === "object" && Object.keys(tomls).length === 0;
    if (empty && outputs[DPS_OUTPUTS.idScope] !== undefined) {
        throw new UsageError(
            `${source} lists no device in edgeDevices; its devices enrol through DPS: write their files with --count <n> --prefix <p> or --registration-id <id>`,
        );
    }
    return deviceConfigs(outputs, source);
}

/** The DPS registration ids the flags ask for, or undefined for the files of the devices listed in edgeDevices. */
function requestedRegistrationIds(args: { count: string; prefix: string; device: string }, explicit: string[]): string[] | undefined {
    if (args.prefix && !args.count) throw new UsageError("--prefix goes with --count <n>");
    if (!args.count && explicit.length === 0) return undefined;
    // Without a prefix every batch would be 1, 2, ...: the same registration ids, so the same devices to DPS.
    if (args.count && !args.prefix) throw new UsageError("--count needs --prefix <p> (say plant1-), unique to this batch of devices");
    if (args.device) {
        throw new UsageError(
            "--device names a device listed in edgeDevices; devices enrolled through DPS are named by --count/--prefix or --registration-id",
        );
    }
    const count = args.count ? (/^\d+$/.test(args.count) ? Number(args.count) : Number.NaN) : undefined;
    const { ids, problems } = registrationIdsFor({ prefix: args.prefix, count, explicit });
    if (problems.length > 0) throw new UsageError(problems.join("\n"));
    return ids;
}

/** Every value of a flag that may repeat (`--name value` or `--name=value`), and the arguments left. */
function takeRepeated(argv: string[], name: string): { values: string[]; rest: string[] } {
    const values: string[] = [];
    const rest: string[] = [];
    for (let i = 0; i < argv.length; i++) {
        if (argv[i] === `--${name}`) {
            const value = argv[++i];
            if (value === undefined || value === "") throw new UsageError(`--${name} needs a value`);
            values.push(value);
        } else if (argv[i].startsWith(`--${name}=`)) {
            const value = argv[i].slice(name.length + 3);
            if (value === "") throw new UsageError(`--${name} needs a value`);
            values.push(value);
        } else rest.push(argv[i]);
    }
    return { values, rest };
}

/** The outputs and, for messages, where they came from: the offline engine, a saved file, or the Pulumi CLI. */
async function readOutputs(
    stack: string,
    from: { offline?: boolean; file?: string },
): Promise<{ outputs: Record<string, unknown>; source: string }> {
    if (from.offline) return { outputs: await offlineOutputs(stack), source: `the offline run of stack ${stack}` };
    if (from.file === undefined) {
        const projectDir = (await engine()).findProjectDir();
        return {
            outputs: parseOutputs(await cliOutputs(stack, projectDir), `pulumi's outputs of stack ${stack}`),
            source: `stack ${stack}`,
        };
    }
    let text: string;
    try {
        text = fs.readFileSync(from.file, "utf8");
    } catch (error) {
        // fs messages name the code and the path only.
        throw new StackOutputsError(`cannot read --outputs: ${(error as Error).message}`);
    }
    return { outputs: parseOutputs(text, from.file), source: from.file };
}

/** The program's exports with secrets in plain text, as `pulumi stack output --show-secrets` would give them. */
async function offlineOutputs(stack: string): Promise<Record<string, unknown>> {
    const [{ findProjectDir, outputValue, runOffline }, pulumi] = await Promise.all([engine(), import("@pulumi/pulumi")]);
    const { exports } = await runOffline({ stack, projectDir: findProjectDir() });
    const plain: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(exports)) {
        plain[name] = pulumi.Output.isInstance(value) ? await outputValue(value as Output<unknown>) : value;
    }
    return plain;
}

/** The CLI's stdout, captured and never echoed; no shell, so the stack name is one argument whatever it holds. */
function cliOutputs(stack: string, projectDir: string): Promise<string> {
    const argv = ["stack", "output", "--json", "--show-secrets", "--stack", stack];
    return new Promise((resolve, reject) => {
        execFile("pulumi", argv, { cwd: projectDir, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
            if (!error) return resolve(stdout);
            if ((error as NodeJS.ErrnoException).code === "ENOENT") {
                return reject(
                    new StackOutputsError(
                        "the Pulumi CLI (pulumi) is not on PATH: install it (https://www.pulumi.com/docs/install/), or pass --outputs <file> holding `pulumi stack output --json --show-secrets` output",
                    ),
                );
            }
            // The CLI's own complaint (no such stack, not logged in, passphrase missing) is what the user needs;
            // it goes to stderr, which carries no output values.
            reject(
                new StackOutputsError(
                    `\`pulumi stack output\` failed for stack ${stack} (exit ${error.code ?? error.signal}):\n${stderr.trim()}`,
                ),
            );
        });
    });
}

/** Relative to the current folder when inside it, so the printed commands stay short. */
function displayPath(file: string): string {
    const relative = path.relative(process.cwd(), file);
    return relative && !relative.startsWith("..") && !path.isAbsolute(relative) ? relative : file;
}

/**
 * User mistakes get their message only, and so do failed file operations (their messages name the call and
 * the path); anything else is a bug and keeps its stack trace.
 */
function isUserMistake(error: unknown): boolean {
    return isUserFacing(error) || typeof (error as NodeJS.ErrnoException)?.syscall === "string";
}

main().catch((error: unknown) => {
    console.error(isUserMistake(error) ? (error as Error).message : error);
    if (error instanceof UsageError) console.error(USAGE);
    process.exit(1);
});
