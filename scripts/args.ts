// Flag parsing for the npm scripts: `--name value`, `--name=value`, boolean switches (`--json`) and short aliases
// (`-s prod`); anything else is a UsageError naming the argument.
// The errors module alone: the device bootstrap parses its flags before (and often without) loading the SDK.
import { UsageError } from "../components/shared/errors";

export interface FlagOptions<S extends string> {
    /** Flags that take no value and are true when given. */
    switches?: readonly S[];
    /** Short forms: { s: "stack" } makes `-s prod` mean `--stack prod`. */
    aliases?: Record<string, string>;
}

export function parseArgs<T extends Record<string, string>, S extends string = never>(
    argv: string[],
    defaults: T,
    options: FlagOptions<S> = {},
): T & Record<S, boolean> {
    const switches: readonly string[] = options.switches ?? [];
    const result: Record<string, string | boolean> = { ...defaults, ...Object.fromEntries(switches.map((name) => [name, false])) };
    for (let i = 0; i < argv.length; i++) {
        const short = /^-([a-zA-Z])$/.exec(argv[i])?.[1];
        const match =
            short && options.aliases?.[short] ? [argv[i], options.aliases[short], undefined] : /^--([a-z-]+)(?:=(.*))?$/.exec(argv[i]);
        const name = match?.[1];
        if (!match || name === undefined || !(name in defaults || switches.includes(name)))
            throw new UsageError(unknownArgument(argv[i], defaults, switches));
        if (switches.includes(name)) {
            if (match[2] !== undefined) throw new UsageError(`--${name} takes no value`);
            result[name] = true;
            continue;
        }
        const value = match[2] ?? argv[++i];
        if (value === undefined || value === "") throw new UsageError(`--${name} needs a value`);
        result[name] = value;
    }
    return result as T & Record<S, boolean>;
}

function unknownArgument(argument: string, defaults: Record<string, string>, switches: readonly string[]): string {
    const accepted = [...Object.keys(defaults).map((k) => `--${k} <value>`), ...switches.map((k) => `--${k}`)].join(", ");
    // `npm start --stack prod` leaves only "prod" here: npm keeps flags before `--` for itself.
    const hint = argument.startsWith("-")
        ? ""
        : ` (a bare value: npm keeps the flags before \`--\` for itself, so write \`npm start -- --stack ${argument}\`)`;
    return `unknown argument "${argument}"${hint}; accepted: ${accepted}`;
}

/**
 * The flags npm took for its own config because `--` was missing (`npm start --json` sets npm_config_json), as a
 * hint to print; undefined when there are none.
 */
export function flagsTakenByNpm(names: readonly string[], env: NodeJS.ProcessEnv = process.env): string | undefined {
    const taken = names.filter((name) => env[`npm_config_${name.replace(/-/g, "_")}`] !== undefined);
    if (taken.length === 0) return undefined;
    return `npm took ${taken.map((name) => `--${name}`).join(", ")} as its own option${taken.length > 1 ? "s" : ""}: put \`--\` before the script's flags, as in \`npm start -- --${taken[0]} ...\``;
}
