// Reads the project's configuration keys: each value is checked against its rule, every problem is collected
// (so one run reports them all), and keys nobody read are reported as unknown, with a did-you-mean hint.
import * as fs from "fs";
import * as path from "path";
import { ConfigError, configKey, OFFLINE_SECRET_PLACEHOLDER, PROJECT } from "../shared";
import * as names from "./names";

/** Where configuration comes from: the Pulumi runtime under the CLI, the stack file under the offline engine. */
export interface ConfigSource {
    stack: string;
    /** Fully qualified keys ("edgeml:registrySku") to raw string values, as the Pulumi runtime holds them. */
    values: Record<string, string>;
    /** Folder of Pulumi.yaml: relative paths in config are relative to it. */
    projectDir: string;
}

export function optional(check: names.NameCheck): names.NameCheck {
    return (value) => (value === "" ? undefined : check(value));
}

/** Reads keys of the project namespace, records which were read, and collects every problem before failing. */
export class ConfigReader {
    private readonly problems: string[] = [];
    private readonly readKeys = new Set<string>();
    /** What the configuration chose or changed on the user's behalf (a dropped conda entry): the plan prints them. */
    readonly notes: string[] = [];
    /** What could not be checked here and will be at `up` or on the device (no python3 to parse the entry script). */
    readonly warnings: string[] = [];

    constructor(
        private readonly source: ConfigSource,
        /** Pulumi.yaml's defaults, to tell a chosen value from a default one. */
        private readonly defaults: Record<string, string> = {},
    ) {}

    string(key: string, check?: names.NameCheck): string {
        const value = this.raw(key);
        if (value === undefined) return "";
        const broken = check?.(value);
        if (broken) this.fail(key, value, broken);
        return value;
    }

    /** An explicit name wins; otherwise the derived one, which must satisfy the same rule. */
    name(key: string, check: names.NameCheck, derived: string): string {
        const explicit = this.string(key, optional(check));
        return explicit || this.derivedOnly(key, check, derived);
    }

    /** A name derived from the prefix and stack; `key` is the setting that would override it. */
    derivedOnly(key: string, check: names.NameCheck, derived: string): string {
        const broken = check(derived);
        if (broken) {
            this.problems.push(
                `${this.qualified(key)} is not set and the name derived from ${this.qualified("namePrefix")} and ` +
                    `stack "${this.source.stack}" is "${derived}", which breaks the rule: ${broken}. ` +
                    `Set ${this.qualified(key)} explicitly or shorten the prefix.`,
            );
        }
        return derived;
    }

    oneOf<T extends string>(key: string, allowed: readonly T[]): T {
        const value = this.string(key);
        if (!(allowed as readonly string[]).includes(value)) this.fail(key, value, `must be one of ${allowed.join(", ")}`);
        return value as T;
    }

    integer(key: string, min: number, max: number): number {
        const value = this.string(key);
        const parsed = Number(value);
        if (!/^-?\d+$/.test(value.trim()) || parsed < min || parsed > max) {
            this.fail(key, value, min === max ? `must be ${min} for this tier` : `must be a whole number from ${min} to ${max}`);
        }
        return parsed;
    }

    boolean(key: string): boolean {
        const value = this.string(key);
        if (value !== "true" && value !== "false") this.fail(key, value, "must be true or false");
        return value === "true";
    }

    /** A list of strings, each checked, no duplicates (Pulumi hands arrays to the program as JSON text). */
    uniqueList(key: string, check: names.NameCheck): string[] {
        const value = this.string(key);
        let parsed: unknown;
        try {
            parsed = value === "" ? [] : JSON.parse(value);
        } catch {
            parsed = undefined;
        }
        if (!Array.isArray(parsed) || parsed.some((item) => typeof item !== "string")) {
            this.fail(key, value, "must be a list of strings");
            return [];
        }
        const items = parsed as string[];
        items.forEach((item, index) => {
            const broken = check(item);
            if (broken) this.fail(`${key}[${index}]`, item, broken);
            if (items.indexOf(item) !== index) this.fail(`${key}[${index}]`, item, "must not repeat an earlier entry");
        });
        return items;
    }

    /**
     * A file or folder that must exist, resolved against `baseDir` (an absolute value as it is); "" when the key is
     * empty, missing or broken. `within` names the folder a relative value is read against, for the message.
     */
    existingPath(key: string, baseDir: string, kind: "file" | "folder" | "file or folder", within = ""): string {
        const value = this.string(key);
        if (value === "") return "";
        const resolved = path.resolve(baseDir, value);
        const stat = fs.statSync(resolved, { throwIfNoEntry: false });
        const found = kind === "file" ? stat?.isFile() : kind === "folder" ? stat?.isDirectory() : stat?.isFile() || stat?.isDirectory();
        if (!found) {
            this.fail(key, value, `must name an existing ${kind}${within ? ` in ${within}` : ""} (looked for ${resolved})`);
            return "";
        }
        return resolved;
    }

    /** `key=value` strings, as Pulumi.yaml's schema has no map type; keys must be unique. */
    keyValueList(key: string): Record<string, string> {
        const entries = this.uniqueList(key, (item) => (/^[^=\s][^=]*=.*$/.test(item) ? undefined : "must look like key=value"));
        const result: Record<string, string> = {};
        entries.forEach((entry, index) => {
            const [name, ...rest] = entry.split("=");
            if (name in result) this.fail(`${key}[${index}]`, entry, `repeats the key "${name}"`);
            result[name] = rest.join("=");
        });
        return result;
    }

    /** A JSON object given as text (Pulumi.yaml's schema has no object type); undefined when empty. */
    json(key: string): Record<string, unknown> | undefined {
        const value = this.string(key);
        if (value.trim() === "") return undefined;
        try {
            const parsed = JSON.parse(value);
            if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
        } catch {
            // reported below
        }
        this.fail(key, value, "must be a JSON object");
        return undefined;
    }

    /** The key's value when the user chose one (it differs from Pulumi.yaml's default), else undefined. */
    chosen(key: string): string | undefined {
        const value = this.raw(key);
        return value !== undefined && value !== this.defaults[this.qualified(key)] ? value : undefined;
    }

    /**
     * Settings that only shape a resource this stack creates are an error next to the key naming an existing one:
     * silently ignoring them would let a user believe, say, a registry tier was applied.
     */
    creationOnly(existingKey: string, existingValue: string, keys: string[]): void {
        for (const key of keys) {
            const value = this.chosen(key);
            if (value === undefined) continue;
            this.problems.push(
                `${this.qualified(key)} = ${JSON.stringify(value)} applies only to a resource this stack creates, but ` +
                    `${this.qualified(existingKey)} = ${JSON.stringify(existingValue)} names an existing one: remove one of the two`,
            );
        }
    }

    /** Two keys that each name the same thing, set together. */
    exclusive(first: string, second: string, what: string): void {
        const a = this.chosen(first);
        const b = this.chosen(second);
        if (a !== undefined && b !== undefined) {
            this.problems.push(
                `${this.qualified(first)} = ${JSON.stringify(a)} and ${this.qualified(second)} = ${JSON.stringify(b)} ` +
                    `both name ${what}: set only one of them`,
            );
        }
    }

    problem(key: string, value: string, broken: string): void {
        this.fail(key, value, broken);
    }

    /** A problem inside a file a key names or leads to by default: "<key>: <file>: <where, and what is wrong>". */
    fileProblem(key: string, file: string, broken: string): void {
        this.problems.push(`${this.qualified(key)}: ${file}: ${broken}`);
    }

    note(text: string): void {
        this.notes.push(text);
    }

    warn(text: string): void {
        this.warnings.push(text);
    }

    rejectUnknownKeys(): void {
        const namespace = `${PROJECT}:`;
        for (const fullKey of Object.keys(this.source.values)) {
            if (!fullKey.startsWith(namespace) || this.readKeys.has(fullKey.slice(namespace.length))) continue;
            const hint = names.closest(fullKey.slice(namespace.length), [...this.readKeys]);
            this.problems.push(
                `${fullKey} is not a configuration key of this project${hint ? ` (did you mean ${namespace}${hint}?)` : ""}`,
            );
        }
    }

    throwIfProblems(): void {
        if (this.problems.length > 0) throw new ConfigError(this.source.stack, this.problems);
    }

    private raw(key: string): string | undefined {
        this.readKeys.add(key);
        const value = this.source.values[this.qualified(key)];
        // A secret the offline engine could not decrypt: its own rules are checked by `pulumi preview`.
        if (value === OFFLINE_SECRET_PLACEHOLDER) return this.defaults[this.qualified(key)] ?? "";
        if (value === undefined) {
            this.problems.push(`${this.qualified(key)} is not set (its default is declared in Pulumi.yaml; is the project file intact?)`);
        }
        return value;
    }

    private fail(key: string, value: string, broken: string): void {
        this.problems.push(`${this.qualified(key)} = ${JSON.stringify(value)} is invalid: ${broken}`);
    }

    private qualified(key: string): string {
        return configKey(key);
    }
}
