// The logic of `npm run devices`, free of process state so the tests can call it: from the stack outputs (as
// `pulumi stack output --json --show-secrets` prints them) to one /etc/aziot/config.toml per device on disk.
// The values handled here are device keys, so every message names an output or a device, never a value.
import * as fs from "fs";
import * as path from "path";
// Single modules rather than the folder faces: the device bootstrap must start without loading the Pulumi SDK.
import * as names from "../components/config/names";
import { writeFileAtomically } from "../components/shared/atomicFile";
import { StackOutputsError } from "../components/shared/errors";

export const CONFIG_TOMLS_OUTPUT = "edgeDeviceConfigTomls";
/** How `pulumi stack output --json` prints a secret when --show-secrets is missing. */
const HIDDEN_SECRET = "[secret]";

/** The stack outputs are missing or not what edgeml exports: a user mistake, reported as a message only. */

/** Parses outputs JSON. Node's JSON.parse errors quote the text around the fault, which may be a key: not passed on. */
export function parseOutputs(text: string, source: string): Record<string, unknown> {
    let value: unknown;
    try {
        value = JSON.parse(text);
    } catch {
        throw new StackOutputsError(`${source} is not valid JSON; expected what \`pulumi stack output --json --show-secrets\` prints`);
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
        throw new StackOutputsError(
            `${source} is not a JSON object of stack outputs; expected what \`pulumi stack output --json --show-secrets\` prints`,
        );
    }
    return value as Record<string, unknown>;
}

/** The checked deviceId → config.toml map, sorted by device id. */
export function deviceConfigs(outputs: Record<string, unknown>, source: string): Map<string, string> {
    const map = outputs[CONFIG_TOMLS_OUTPUT];
    const where = `output ${CONFIG_TOMLS_OUTPUT} of ${source}`;
    if (map === undefined) {
        throw new StackOutputsError(
            `${source} has no output ${CONFIG_TOMLS_OUTPUT}; has \`pulumi up\` run for this stack with this version of edgeml?`,
        );
    }
    if (map === HIDDEN_SECRET) throw new StackOutputsError(`${where} is hidden as "[secret]": produce the outputs with --show-secrets`);
    if (map === null || typeof map !== "object" || Array.isArray(map))
        throw new StackOutputsError(`${where} is not a map of device id to config.toml`);
    const entries = Object.entries(map as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    if (entries.length === 0)
        throw new StackOutputsError(`${where} is empty: the stack has no edge devices (config key edgeml:edgeDevices)`);
    for (const [deviceId, toml] of entries) {
        const broken = folderNameProblem(deviceId);
        if (broken) throw new StackOutputsError(`${where} has an invalid device id ${shownId(deviceId)}: ${broken}`);
        if (typeof toml !== "string") throw new StackOutputsError(`${where}: the value for device ${deviceId} is not a string`);
        // A cheap check that this is the provisioning file before it lands in /etc/aziot on a device.
        if (!/^\[provisioning\]$/m.test(toml))
            throw new StackOutputsError(`${where}: the value for device ${deviceId} has no [provisioning] section`);
    }
    return new Map(entries as Array<[string, string]>);
}

/** Device ids become folder names: IoT Hub's rules already exclude "/" and "\", and "." and ".." are refused too. */
function folderNameProblem(deviceId: string): string | undefined {
    if (deviceId === "." || deviceId === "..") return 'device ids become folder names, so "." and ".." are refused';
    const broken = names.deviceId(deviceId);
    return broken && `IoT Hub device ids are ${broken}`;
}

/** A bad id is quoted, unless it looks like a connection string (keys and values swapped by hand): never a key. */
function shownId(deviceId: string): string {
    return /SharedAccessKey|HostName=/i.test(deviceId) ? "(not shown: it looks like a connection string)" : JSON.stringify(deviceId);
}

/** One device's entry, or all of them; an unknown id is named along with the known ones. */
export function selectDevices(configs: Map<string, string>, deviceId: string | undefined): Map<string, string> {
    if (deviceId === undefined) return configs;
    const toml = configs.get(deviceId);
    if (toml === undefined) {
        throw new StackOutputsError(
            `no device ${JSON.stringify(deviceId)} in ${CONFIG_TOMLS_OUTPUT}; devices: ${[...configs.keys()].join(", ")}`,
        );
    }
    return new Map([[deviceId, toml]]);
}

/** The folder under out/ for a stack given as `dev` or fully qualified as `org/project/dev`. */
export function stackFolderName(stack: string): string | undefined {
    const name = stack.split("/").pop() ?? "";
    return /^[A-Za-z0-9_.-]+$/.test(name) && name !== "." && name !== ".." ? name : undefined;
}

/**
 * Writes <root>/<deviceId>/config.toml for each device and returns the paths. A missing root is created 0700;
 * an existing one (say a --dir the user chose) keeps its mode. Device folders are ours and always made 0700.
 */
export function writeDeviceFiles(root: string, configs: Map<string, string>): string[] {
    fs.mkdirSync(root, { recursive: true, mode: 0o700 });
    return [...configs].map(([deviceId, toml]) => {
        const folder = path.join(root, deviceId);
        fs.mkdirSync(folder, { recursive: true, mode: 0o700 });
        // A symlinked device folder would put the key wherever it points; chmod would follow it too.
        if (!fs.lstatSync(folder).isDirectory()) throw new StackOutputsError(`${folder} exists and is not a folder`);
        fs.chmodSync(folder, 0o700);
        const file = path.join(folder, "config.toml");
        writeFileAtomically(file, toml, 0o600);
        return file;
    });
}

/**
 * How to put the file on the device, assuming the device id is also its SSH host name. The copy goes to the
 * login user's home rather than a shared /tmp, where another user could read it or have planted a symlink;
 * `--` because device ids may start with "-", which scp and ssh would read as an option.
 */
export function installCommand(file: string, deviceId: string): string {
    const host = shellQuote(deviceId);
    const remote =
        "sudo install -m 0600 -o root -g root edgeml-config.toml /etc/aziot/config.toml && rm edgeml-config.toml && sudo iotedge config apply";
    return `scp -- ${shellQuote(file)} ${host}:edgeml-config.toml && ssh -t -- ${host} '${remote}'`;
}

/** Device ids may hold $ ' * ( ) and the like: quoted for a POSIX shell unless plainly safe. */
function shellQuote(text: string): string {
    return /^[A-Za-z0-9_./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}
