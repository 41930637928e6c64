// A stack file read as the Pulumi CLI reads it before the program starts, so the offline plan refuses what
// `pulumi preview` would refuse, and says what the CLI would print. The CLI's rules, from pulumi/pulumi:
// - every key under `config:` parses as `<namespace>:<name>` (sdk/go/common/resource/config/key.go ParseKey:
//   "could not parse <key> as a configuration key (configuration keys should be of the form `<namespace>:<name>`)");
// - each value of a key that Pulumi.yaml types is checked against that type (sdk/go/common/workspace/project.go
//   ValidateConfigValue, config.go validateStackConfigValue: "Stack '<stack>' with configuration key '<key>' must be
//   of type '<type>'", types named by InferFullTypeName, e.g. array<string>): strings as they are; integers as whole
//   numbers or text that parses as one; booleans as true/false or the text "true"/"false"; arrays as YAML
//   sequences (a JSON text in a string is a string), each item by its own type; a key typed secret must be `secure:`;
// - `environment:` imports Pulumi ESC environments, which only Pulumi Cloud evaluates;
// - the file holds secretsprovider, encryptedkey, encryptionsalt, config and environment; anything else is ignored.
// The CLI stops at its first error; this reports every problem, each with the CLI's wording where it has one.
import * as fs from "fs";
import * as path from "path";
import { configText, qualifiedKey, readProjectFile, readYamlFile, type ConfigType } from "../components/config";
import { OFFLINE_SECRET_PLACEHOLDER, StackFileError } from "../components/shared";

const STACK_FILE_FIELDS = ["secretsprovider", "encryptedkey", "encryptionsalt", "config", "environment"];

export interface StackFileConfig {
    project: string;
    /** Fully qualified keys to config text, Pulumi.yaml's defaults applied, as the CLI hands them to the program. */
    values: Record<string, string>;
    /** Keys whose value is `secure:` ciphertext, only a placeholder offline. */
    secretKeys: string[];
    /** What the offline plan cannot reproduce (ESC imports, secrets): to print, not to fail on. */
    warnings: string[];
}

export function readStackFile(stack: string, projectDir: string, listStacks: () => string[]): StackFileConfig {
    const project = readProjectFile(projectDir);
    const file = path.join(projectDir, `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file))
        throw new StackFileError(`no stack file Pulumi.${stack}.yaml; stacks here: ${listStacks().join(", ") || "none"}`);
    const document = readYamlFile(file) ?? {};
    const problems: string[] = [];
    const warnings: string[] = [];
    const name = path.basename(file);
    if (typeof document !== "object" || Array.isArray(document)) throw new StackFileError(`${name} must be a mapping with a config: block`);
    const top = document as Record<string, unknown>;

    for (const field of Object.keys(top).filter((key) => !STACK_FILE_FIELDS.includes(key))) {
        // The CLI would ignore it: a key written outside config: silently leaves its default in place.
        const hint = field.includes(":") ? `; to set it, indent it under config:` : "";
        problems.push(`${name}: "${field}" is not a stack file field (the Pulumi CLI ignores it, so nothing it sets applies)${hint}`);
    }
    if (top.environment !== undefined) {
        warnings.push(
            `${name} imports Pulumi ESC environments (environment: ${JSON.stringify(top.environment)}): only Pulumi Cloud evaluates them, ` +
                "so configuration they provide is missing from this offline plan",
        );
    }
    const config = top.config ?? {};
    if (typeof config !== "object" || config === null || Array.isArray(config)) {
        throw new StackFileError(`${name}: config: must be a mapping of <namespace>:<name> keys`);
    }

    const values: Record<string, string> = { ...project.defaults };
    const secretKeys: string[] = [];
    for (const [key, value] of Object.entries(config as Record<string, unknown>)) {
        if (!isConfigKey(key)) {
            problems.push(
                `${name}: "${key}" has no namespace, so the Pulumi CLI refuses the file; write ${qualifiedKey(project.name, key)}. ` +
                    `(pulumi preview: could not parse ${key} as a configuration key (configuration keys should be of the form \`<namespace>:<name>\`))`,
            );
            continue;
        }
        const [namespace, short] = splitKey(key);
        const declared = namespace === project.name ? project.types[short] : undefined;
        const secure = value !== null && typeof value === "object" && !Array.isArray(value) && "secure" in value;
        if (secure) {
            // Ciphertext needs the stack's secrets provider: a placeholder offline, kept secret, its rules unchecked.
            secretKeys.push(key);
            values[key] = OFFLINE_SECRET_PLACEHOLDER;
            warnings.push(
                `${key} is a secret (secure:), which cannot be decrypted offline: the plan uses its Pulumi.yaml default and \`pulumi preview\` checks its value`,
            );
            continue;
        }
        if (declared?.secret) {
            problems.push(
                `${key} is declared secret in Pulumi.yaml: set it with \`pulumi config set --secret ${short} <value>\`. (pulumi preview: Stack '${stack}' with configuration key '${short}' must be encrypted as it's secret)`,
            );
        }
        if (declared?.type && !matchesType(declared, value)) {
            const typeName = fullTypeName(declared);
            problems.push(
                `${key} = ${JSON.stringify(value)} is not of the type Pulumi.yaml declares, ${typeName}${arrayHint(declared, value, short)}. ` +
                    `(pulumi preview: Stack '${stack}' with configuration key '${short}' must be of type '${typeName}')`,
            );
        }
        values[key] = configText(value);
    }
    if (problems.length > 0) throw new StackFileError(`Invalid stack file ${name}:\n` + problems.map((p) => `  - ${p}`).join("\n"));
    return { project: project.name, values, secretKeys, warnings };
}

/** ParseKey's rule: exactly one colon, or the `<package>:config:<name>` form. */
function isConfigKey(key: string): boolean {
    const colons = key.split(":").length - 1;
    return (colons === 1 && !key.startsWith(":") && !key.endsWith(":")) || (colons === 2 && key.split(":")[1] === "config");
}

function splitKey(key: string): [string, string] {
    const parts = key.split(":");
    return [parts[0], parts[parts.length - 1]];
}

/** ValidateConfigValue: scalars reach it as text, sequences and mappings as values. */
function matchesType(type: ConfigType, value: unknown): boolean {
    const text = value === null || typeof value === "object" ? undefined : String(value);
    switch (type.type) {
        case "string":
            return text !== undefined;
        case "integer":
            return text !== undefined && /^[-+]?\d+$/.test(text.trim());
        case "boolean":
            return text === "true" || text === "false";
        case "array":
            return Array.isArray(value) && type.items !== undefined && value.every((item) => matchesType(type.items!, item));
        default:
            return true;
    }
}

/** InferFullTypeName: array<string>, array<array<integer>>, ... */
function fullTypeName(type: ConfigType): string {
    return type.items ? `array<${fullTypeName(type.items)}>` : (type.type ?? "string");
}

function arrayHint(type: ConfigType, value: unknown, key: string): string {
    if (type.type !== "array" || typeof value !== "string") return "";
    return `: write a YAML list (one "- item" per line), not JSON text; or \`pulumi config set --path '${key}[0]' <value>\``;
}
