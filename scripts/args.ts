// Minimal flag parsing for the npm scripts: `--name value` or `--name=value`, unknown flags rejected.
// The errors module alone: the device bootstrap parses its flags before (and often without) loading the SDK.
import { UsageError } from "../components/shared/errors";

export function parseArgs<T extends Record<string, string>>(argv: string[], defaults: T): T {
    const result: Record<string, string> = { ...defaults };
    for (let i = 0; i < argv.length; i++) {
        const match = /^--([a-z-]+)(?:=(.*))?$/.exec(argv[i]);
        const name = match?.[1];
        if (!match || name === undefined || !(name in defaults)) {
            throw new UsageError(`unknown argument "${argv[i]}"; accepted: ${Object.keys(defaults).map((k) => `--${k} <value>`).join(", ")}`);
        }
        const value = match[2] ?? argv[++i];
        if (value === undefined || value === "") throw new UsageError(`--${name} needs a value`);
        result[name] = value;
    }
    return result as T;
}
