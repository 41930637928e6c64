/**
 * Checks planned azure-native resources against Microsoft's generated resource type definitions (bicep-types-az,
 * generated from azure-rest-api-specs), read in place from `azure-types/` of the reference data
 * (offline/reference-data.ts), each file parsed once: no property the definition does not have, no read-only
 * property set, every required one present, enum values (an extensible enum's known values, see OracleOptions),
 * string patterns and lengths, integer ranges, array lengths, recursively; the resource's name against the body's
 * `name`. Values the offline plan cannot show ("[secret]", "[unknown]", "asset:...") count as present and are not
 * checked further.
 *
 * azure-native's inputs are mapped to the ARM request body from the SDK's own metadata (./azure-native-sdk.ts):
 * - API version: the resource class's doc comment ("Uses Azure REST API version ..."); a class without one is
 *   implemented by the provider itself (storage:Blob), has no ARM definition and is reported as not checked;
 * - path parameters (not part of the body): the required members of `Get<Class>Args`;
 * - flattening (Swagger's x-ms-client-flatten, which azure-native applies at any depth): an input that is not a
 *   property of the ARM object, at an object whose SDK type has no `properties` member while the ARM object has a
 *   `properties` object declaring that name, is that object's property. Nested SDK types come from the members'
 *   declared types (`inputs.<module>.<Type>`);
 * - renames (x-ms-client-name: StorageAccount `enableHttpsTrafficOnly` is `properties.supportsHttpsTrafficOnly`):
 *   an input found by neither rule maps to the one property, of the object or of its `properties`, whose
 *   description is the input's doc comment; both are generated from the same spec text.
 * By hand, because the npm package does not record them: which ARM type a token is and which input carries the
 * resource's own name (the project's AZURE_TYPES table, passed in as `armTypeOf`), and that the body's `name` is
 * that input. The provider's own defaults and fill-ins (a location taken from the resource group, auto-names) are in
 * its plugin, not in the npm package: a required property the program leaves to them would be reported.
 */
import * as fs from "fs";
import * as path from "path";
import { referencePath } from "../../offline/reference-data";
import { sdkInputMembers, sdkResource, type SdkMember, type SdkResource } from "./azure-native-sdk";

/** The reference data's folder of them; tests ask for it first with requireReference(this, AZURE_TYPES_DIR). */
export const AZURE_TYPES_DIR = "azure-types/";

/** Property flags of the definitions. */
export const FLAG = { required: 1, readOnly: 2, writeOnly: 4, deployTimeConstant: 8 } as const;

/** Values the offline plan puts in place of what cannot be known or shown: presence is checked, content is not. */
const OPAQUE = [/^\[secret\]$/, /^\[unknown\]$/, /^asset:/, /^archive:/, /^resource:urn:/];

interface Ref {
    $ref: string;
}
interface Property {
    type: Ref;
    flags: number;
    description?: string;
}
type TypeNode =
    | { $type: "StringType"; pattern?: string; minLength?: number; maxLength?: number; sensitive?: boolean }
    | { $type: "StringLiteralType"; value: string }
    | { $type: "IntegerType"; minValue?: number; maxValue?: number }
    | { $type: "BooleanType" | "AnyType" | "NullType" }
    | { $type: "UnionType"; elements: Ref[] }
    | { $type: "ArrayType"; itemType: Ref; minLength?: number; maxLength?: number }
    | { $type: "ObjectType"; name: string; properties: Record<string, Property>; additionalProperties?: Ref; sensitive?: boolean }
    | {
          $type: "DiscriminatedObjectType";
          name: string;
          discriminator: string;
          baseProperties: Record<string, Property>;
          elements: Record<string, Ref>;
      }
    | { $type: "ResourceType"; name: string; body: Ref }
    | { $type: string };
type ObjectNode = Extract<TypeNode, { $type: "ObjectType" }>;

/** One definition file: its types, by `#/<index>` reference. */
class TypeFile {
    private readonly types: TypeNode[];
    constructor(readonly file: string) {
        this.types = JSON.parse(fs.readFileSync(file, "utf8")) as TypeNode[];
    }
    resolve(ref: Ref): TypeNode {
        const match = /^#\/(\d+)$/.exec(ref.$ref);
        if (!match) throw new Error(`${path.basename(this.file)}: reference ${ref.$ref} is not local`);
        return this.types[Number(match[1])];
    }
    resourceType(name: string): Extract<TypeNode, { $type: "ResourceType" }> | undefined {
        const wanted = name.toLowerCase();
        return this.types.find(
            (t): t is Extract<TypeNode, { $type: "ResourceType" }> =>
                t.$type === "ResourceType" && (t as { name: string }).name.toLowerCase() === wanted,
        );
    }
}

export interface Violation {
    /** The plan resource's URN. */
    urn: string;
    /** "<type token> <Pulumi name>". */
    resource: string;
    /** Where in the ARM body ("properties.adminUserEnabled"). */
    path: string;
    /** The input it came from ("adminUserEnabled"), which differs from `path` when azure-native flattened it. */
    input: string;
    value: unknown;
    rule: string;
}

export function formatViolation(v: Violation): string {
    const where = v.input === v.path ? v.path : `${v.path} (input ${v.input})`;
    const value = v.value === undefined ? "absent" : JSON.stringify(v.value);
    return `${v.resource}: ${where} = ${value}: ${v.rule}`;
}

/** How one input reached the ARM body, for tests of the mapping itself. */
export interface MappedInput {
    input: string;
    path: string;
    how: "path parameter" | "body" | "flattened" | "renamed" | "unknown";
    /** The SDK member's doc comment and the definition's description of the property it maps to. */
    sdkDoc?: string;
    armDescription?: string;
}

export interface PlanResource {
    urn: string;
    type: string;
    name: string;
    inputs: Record<string, unknown>;
}

export interface ArmTypeInfo {
    /** "Microsoft.ContainerRegistry/registries", child types with their parents: ".../workspaces/models/versions". */
    armType: string;
    /** The input that carries the Azure resource name (the body's `name`). */
    nameInput: string;
}

export interface ResourceCheck {
    /** Undefined when checked; else why not (no ARM definition describes the resource). */
    notChecked?: string;
    /** "<definition file> <ResourceType name>". */
    definition?: string;
    violations: Violation[];
    mapped: MappedInput[];
}

export interface Mapping {
    sdk: SdkResource;
    armType: string;
    nameInput: string;
    apiVersion: string;
    file: TypeFile;
    body: TypeNode;
    definition: string;
}

/** An entry of an object being checked: its key in the ARM object, the value, and the input path it came from. */
interface Entry {
    key: string;
    value: unknown;
    input: string;
    /** The SDK member the value is an input of (for nested types); undefined for synthesized entries. */
    sdk?: SdkMember;
    /** For `properties` assembled from flattened inputs: its entries (and no value). */
    children?: Entry[];
    /** The SDK's name, when it differs from the ARM one (`key`). */
    renamedFrom?: string;
}

interface Context {
    file: TypeFile;
    resource: PlanResource;
    out: Violation[];
    mapped?: MappedInput[];
}

export interface OracleOptions {
    /** The definitions' folder; default the reference data's azure-types/. */
    dir?: string;
    /**
     * Extensible enums (a union of the known values and any string, the spec's `modelAsString`): "known values"
     * (default) reports a value outside the known ones, as such a value in a request is a mistake far more often than
     * a value newer than the spec; "any string" accepts it, as the definition's type does.
     */
    extensibleEnums?: "known values" | "any string";
}

export class AzureTypeOracle {
    private readonly files = new Map<string, TypeFile>();
    private readonly patterns = new Map<string, RegExp>();

    private readonly options: Required<OracleOptions>;

    constructor(
        private readonly armTypeOf: (token: string) => ArmTypeInfo | undefined,
        options: OracleOptions = {},
    ) {
        this.options = { dir: referencePath(AZURE_TYPES_DIR), extensibleEnums: "known values", ...options };
    }

    /** The definition file of `<namespace>@<version>` (name `<service>__<namespace>@<version>.json`), parsed once. */
    private definitionFiles(namespace: string, apiVersion: string): TypeFile[] {
        const suffix = `__${namespace}@${apiVersion}.json`.toLowerCase();
        return fs
            .readdirSync(this.options.dir)
            .filter((name) => name.toLowerCase().endsWith(suffix))
            .map((name) => {
                const file = path.join(this.options.dir, name);
                let parsed = this.files.get(file);
                if (!parsed) this.files.set(file, (parsed = new TypeFile(file)));
                return parsed;
            });
    }

    /** Everything needed to map a token's inputs to its definition, or why there is no definition. */
    mapping(token: string): Mapping | string {
        const sdk = sdkResource(token);
        if (!sdk.apiVersion) {
            return (
                `@pulumi/azure-native's ${sdk.className} (${sdk.file}) records no Azure REST API version: the provider ` +
                `implements it itself, so no ARM definition describes it`
            );
        }
        const info = this.armTypeOf(token);
        if (!info) return `${token} has no ARM type in the table passed to the oracle`;
        const name = `${info.armType}@${sdk.apiVersion}`;
        const namespace = info.armType.split("/")[0];
        for (const file of this.definitionFiles(namespace, sdk.apiVersion)) {
            const resourceType = file.resourceType(name);
            if (resourceType) {
                return {
                    sdk,
                    armType: info.armType,
                    nameInput: info.nameInput,
                    apiVersion: sdk.apiVersion,
                    file,
                    body: file.resolve(resourceType.body),
                    definition: `${path.basename(file.file)} ${resourceType.name}`,
                };
            }
        }
        return `no definition of ${name} in ${this.options.dir}`;
    }

    /** Checks one planned resource (its inputs as sent) against the definition of its type and API version. */
    check(resource: PlanResource): ResourceCheck {
        const mapping = this.mapping(resource.type);
        if (typeof mapping === "string") return { notChecked: mapping, violations: [], mapped: [] };
        const ctx: Context = { file: mapping.file, resource, out: [], mapped: [] };
        const pathParams = new Set(mapping.sdk.pathParams ?? [mapping.nameInput]);
        const entries: Entry[] = [];
        for (const [key, value] of Object.entries(resource.inputs)) {
            if (value === undefined || value === null) continue;
            if (pathParams.has(key)) {
                ctx.mapped!.push({ input: key, path: key === mapping.nameInput ? "name" : `(path) ${key}`, how: "path parameter" });
                continue;
            }
            entries.push({
                key,
                value,
                input: key,
                sdk: mapping.sdk.args.get(key) ?? { name: key, required: false, doc: "", typeRefs: [] },
            });
        }
        const name = resource.inputs[mapping.nameInput];
        if (name !== undefined && name !== null) entries.push({ key: "name", value: name, input: mapping.nameInput });
        const notSent = name === undefined || name === null ? new Set(["name"]) : new Set<string>();
        this.checkObject(entries, mapping.body, "", "", mapping.sdk.args, ctx, notSent, true);
        return { definition: mapping.definition, violations: ctx.out, mapped: ctx.mapped! };
    }

    private violation(ctx: Context, armPath: string, input: string, value: unknown, rule: string): void {
        ctx.out.push({ urn: ctx.resource.urn, resource: `${ctx.resource.type} ${ctx.resource.name}`, path: armPath, input, value, rule });
    }

    /**
     * An object's entries against an ObjectType or DiscriminatedObjectType. `sdkMembers` are the members of the SDK
     * input type the entries are (undefined when unknown: then nothing is taken as flattened). `skipRequired` names
     * properties the provider fills itself (the body's `name`, when the name input was left to auto-naming).
     */
    private checkObject(
        entries: Entry[],
        type: TypeNode,
        armPath: string,
        inputPath: string,
        sdkMembers: Map<string, SdkMember> | undefined,
        ctx: Context,
        skipRequired = new Set<string>(),
        topLevel = false,
    ): void {
        const at = (key: string) => (armPath ? `${armPath}.${key}` : key);
        let properties: Record<string, Property>;
        let additional: Ref | undefined;
        let typeName: string;
        if (type.$type === "DiscriminatedObjectType") {
            const t = type as Extract<TypeNode, { $type: "DiscriminatedObjectType" }>;
            typeName = t.name;
            const discriminator = entries.find((e) => e.key === t.discriminator);
            const choices = Object.keys(t.elements);
            if (!discriminator) {
                this.violation(
                    ctx,
                    at(t.discriminator),
                    inputPath ? `${inputPath}.${t.discriminator}` : t.discriminator,
                    undefined,
                    `required: the discriminator of ${t.name} (one of ${quoteAll(choices)})`,
                );
                properties = t.baseProperties;
            } else if (isOpaque(discriminator.value)) {
                return;
            } else {
                const element = t.elements[String(discriminator.value)];
                if (!element) {
                    this.violation(
                        ctx,
                        at(t.discriminator),
                        discriminator.input,
                        discriminator.value,
                        `not a kind of ${t.name}: one of ${quoteAll(choices)}`,
                    );
                    return;
                }
                const chosen = ctx.file.resolve(element) as ObjectNode;
                properties = { ...t.baseProperties, ...chosen.properties };
                additional = chosen.additionalProperties;
            }
        } else if (type.$type === "ObjectType") {
            const t = type as ObjectNode;
            typeName = t.name;
            properties = t.properties ?? {};
            additional = t.additionalProperties;
        } else {
            throw new Error(`checkObject on ${type.$type}`);
        }

        // Flattening: names the ARM object lacks but its `properties` object declares, when the SDK type has no
        // `properties` member of its own (so the SDK cannot have meant the ARM one).
        const nested = properties.properties ? ctx.file.resolve(properties.properties.type) : undefined;
        const flattenInto =
            sdkMembers && !sdkMembers.has("properties") && nested?.$type === "ObjectType" ? (nested as ObjectNode) : undefined;
        const direct: Entry[] = [];
        const flattened: Entry[] = [];
        const named = new Set(entries.map((e) => e.key));
        for (const entry of entries) {
            if (properties[entry.key]) direct.push(entry);
            else if (entry.key !== "properties" && flattenInto?.properties[entry.key]) flattened.push(entry);
            else {
                const renamed = renamedTo(entry.sdk?.doc, properties, flattenInto, named);
                if (!renamed) direct.push(entry);
                else (renamed.flattened ? flattened : direct).push({ ...entry, key: renamed.key, renamedFrom: entry.key });
            }
        }
        if (flattened.length > 0) {
            const explicit = direct.find((e) => e.key === "properties");
            if (explicit) {
                // Both an explicit `properties` and flattened inputs: check them as one object.
                explicit.children = [...childEntries(explicit), ...flattened];
                explicit.value = undefined;
            } else {
                direct.push({ key: "properties", value: undefined, input: inputPath, children: flattened });
            }
        }

        for (const entry of direct) {
            const property = properties[entry.key];
            const propPath = at(entry.key);
            if (!property) {
                if (additional) {
                    this.checkValue(
                        entry.value,
                        ctx.file.resolve(additional),
                        propPath,
                        entry.input,
                        entry.sdk?.typeRefs ?? [],
                        ctx,
                        entry.children,
                    );
                } else {
                    if (topLevel) ctx.mapped?.push({ input: entry.input, path: propPath, how: "unknown", sdkDoc: entry.sdk?.doc });
                    this.violation(
                        ctx,
                        propPath,
                        entry.input,
                        entry.value ?? "(flattened inputs)",
                        `not a property of ${typeName} in Microsoft's definition`,
                    );
                }
                continue;
            }
            if (topLevel) this.recordMapping(ctx, entry, propPath, property);
            if (property.flags & FLAG.readOnly) {
                this.violation(
                    ctx,
                    propPath,
                    entry.input,
                    entry.value ?? "(flattened inputs)",
                    `read-only in ${typeName}: Azure sets it, a request must not`,
                );
                continue;
            }
            this.checkValue(
                entry.value,
                ctx.file.resolve(property.type),
                propPath,
                entry.input,
                entry.sdk?.typeRefs ?? [],
                ctx,
                entry.children,
                entry.sdk ? undefined : sdkMembers,
            );
        }

        const present = new Set(direct.map((e) => e.key));
        for (const [key, property] of Object.entries(properties)) {
            if (!(property.flags & FLAG.required) || property.flags & FLAG.readOnly || present.has(key) || skipRequired.has(key)) continue;
            this.violation(ctx, at(key), inputPath ? `${inputPath}.${key}` : key, undefined, `required in ${typeName}`);
        }
    }

    private recordMapping(ctx: Context, entry: Entry, propPath: string, property: Property): void {
        if (!ctx.mapped) return;
        const explicit = entry.value !== undefined || entry.input === entry.key;
        if (explicit) {
            ctx.mapped.push({
                input: entry.input,
                path: propPath,
                how: entry.renamedFrom ? "renamed" : "body",
                sdkDoc: entry.sdk?.doc,
                armDescription: property.description,
            });
        }
        if (!entry.children) return;
        const nested = ctx.file.resolve(property.type) as ObjectNode;
        for (const child of entry.children) {
            if (explicit && child.input.startsWith(`${entry.input}.`)) continue; // a member of the explicit object
            const target = nested.properties?.[child.key];
            const how = child.renamedFrom ? "renamed" : "flattened";
            ctx.mapped.push({
                input: child.input,
                path: `${propPath}.${child.key}`,
                how,
                sdkDoc: child.sdk?.doc,
                armDescription: target?.description,
            });
        }
    }

    private checkValue(
        value: unknown,
        type: TypeNode,
        armPath: string,
        input: string,
        sdkRefs: string[],
        ctx: Context,
        children?: Entry[],
        sdkMembersOverride?: Map<string, SdkMember>,
    ): void {
        if (children) {
            // `properties` assembled from flattened inputs: the inputs are members of the parent's SDK type.
            this.checkObject(
                children,
                type,
                armPath,
                input,
                sdkMembersOverride ?? new Map(children.filter((c) => c.sdk).map((c) => [c.key, c.sdk!])),
                ctx,
            );
            return;
        }
        if (value === undefined || value === null || isOpaque(value)) return;
        const fail = (rule: string) => this.violation(ctx, armPath, input, value, rule);
        switch (type.$type) {
            case "AnyType":
                return;
            case "NullType":
                return fail("must be null");
            case "BooleanType":
                if (typeof value !== "boolean") fail("must be a boolean");
                return;
            case "IntegerType": {
                const t = type as Extract<TypeNode, { $type: "IntegerType" }>;
                if (typeof value !== "number" || !Number.isInteger(value)) return fail("must be an integer");
                if (t.minValue !== undefined && value < t.minValue) fail(`must be at least ${t.minValue}`);
                if (t.maxValue !== undefined && value > t.maxValue) fail(`must be at most ${t.maxValue}`);
                return;
            }
            case "StringType": {
                const t = type as Extract<TypeNode, { $type: "StringType" }>;
                if (typeof value !== "string") return fail("must be a string");
                if (t.minLength !== undefined && value.length < t.minLength)
                    fail(`must be at least ${t.minLength} characters (is ${value.length})`);
                if (t.maxLength !== undefined && value.length > t.maxLength)
                    fail(`must be at most ${t.maxLength} characters (is ${value.length})`);
                if (t.pattern !== undefined && !this.pattern(t.pattern).test(value)) fail(`must match ${t.pattern}`);
                return;
            }
            case "StringLiteralType": {
                const literal = (type as Extract<TypeNode, { $type: "StringLiteralType" }>).value;
                if (value !== literal) fail(`must be ${JSON.stringify(literal)}${caseOnly(value, [literal])}`);
                return;
            }
            case "UnionType": {
                const members = (type as Extract<TypeNode, { $type: "UnionType" }>).elements.map((e) => ctx.file.resolve(e));
                const literals = members.filter((m) => m.$type === "StringLiteralType").map((m) => (m as { value: string }).value);
                // An extensible enum (x-ms-enum modelAsString: the known values and any string): a request is held
                // to the known values unless the oracle was told to accept any string.
                const anyString = members.some(
                    (m) => m.$type === "StringType" && !("pattern" in m || "minLength" in m || "maxLength" in m),
                );
                if (anyString && literals.length > 0 && typeof value === "string" && this.options.extensibleEnums === "known values") {
                    if (!literals.includes(value))
                        fail(`must be one of ${quoteAll(literals)}${caseOnly(value, literals)} (the known values of an extensible enum)`);
                    return;
                }
                const accepts = members.some((member) => {
                    const trial: Context = { ...ctx, out: [], mapped: undefined };
                    this.checkValue(value, member, armPath, input, sdkRefs, trial);
                    return trial.out.length === 0;
                });
                if (accepts) return;
                if (literals.length === members.length) return fail(`must be one of ${quoteAll(literals)}${caseOnly(value, literals)}`);
                return fail(`matches none of ${members.map((m) => ("name" in m ? (m as { name: string }).name : m.$type)).join(", ")}`);
            }
            case "ArrayType": {
                const t = type as Extract<TypeNode, { $type: "ArrayType" }>;
                if (!Array.isArray(value)) return fail("must be an array");
                if (t.minLength !== undefined && value.length < t.minLength) fail(`must have at least ${t.minLength} items`);
                if (t.maxLength !== undefined && value.length > t.maxLength) fail(`must have at most ${t.maxLength} items`);
                const itemType = ctx.file.resolve(t.itemType);
                value.forEach((item, i) => this.checkValue(item, itemType, `${armPath}[${i}]`, `${input}[${i}]`, sdkRefs, ctx));
                return;
            }
            case "ObjectType":
            case "DiscriminatedObjectType": {
                if (typeof value !== "object" || Array.isArray(value)) return fail("must be an object");
                const members = sdkInputMembers(sdkRefs);
                // A map's values (additionalProperties) are of the SDK type the member names, as its items are.
                const declared = type.$type === "ObjectType" ? (type as ObjectNode) : undefined;
                const mapValue = (key: string): SdkMember | undefined =>
                    declared?.additionalProperties && !declared.properties?.[key]
                        ? { name: key, required: false, doc: "", typeRefs: sdkRefs }
                        : undefined;
                const entries = Object.entries(value as Record<string, unknown>)
                    .filter(([, v]) => v !== undefined && v !== null)
                    .map(([key, v]) => ({ key, value: v, input: `${input}.${key}`, sdk: members?.get(key) ?? mapValue(key) }));
                this.checkObject(entries, type, armPath, input, members, ctx);
                return;
            }
            default:
                return fail(`definition type ${type.$type} is not understood by the checker`);
        }
    }

    private pattern(source: string): RegExp {
        let compiled = this.patterns.get(source);
        if (!compiled) this.patterns.set(source, (compiled = new RegExp(source)));
        return compiled;
    }
}

/**
 * The ARM property an SDK member was renamed from (azure-native follows the spec's x-ms-client-name, so the
 * Application Insights input `applicationType` is the body's `properties.Application_Type`): the one property of the
 * object, or of the object it flattens into, whose description is the member's doc comment (both are generated from
 * the same spec text), not already named by another entry.
 */
function renamedTo(
    doc: string | undefined,
    properties: Record<string, Property>,
    flattenInto: ObjectNode | undefined,
    named: Set<string>,
): { key: string; flattened: boolean } | undefined {
    if (!doc) return undefined;
    const candidates = [
        ...Object.entries(properties).map(([key, p]) => ({ key, p, flattened: false })),
        ...Object.entries(flattenInto?.properties ?? {}).map(([key, p]) => ({ key, p, flattened: true })),
    ].filter(({ key, p }) => key !== "properties" && !named.has(key) && normalize(p.description) === doc);
    return candidates.length === 1 ? { key: candidates[0].key, flattened: candidates[0].flattened } : undefined;
}

function normalize(text: string | undefined): string {
    return (text ?? "").replace(/\s+/g, " ").trim();
}

function childEntries(entry: Entry): Entry[] {
    if (entry.children) return entry.children;
    if (typeof entry.value !== "object" || entry.value === null || Array.isArray(entry.value)) return [];
    return Object.entries(entry.value as Record<string, unknown>).map(([key, value]) => ({ key, value, input: `${entry.input}.${key}` }));
}

function isOpaque(value: unknown): boolean {
    return typeof value === "string" && OPAQUE.some((marker) => marker.test(value));
}

function quoteAll(values: string[]): string {
    return values.map((v) => JSON.stringify(v)).join(", ");
}

function caseOnly(value: unknown, literals: string[]): string {
    return typeof value === "string" && literals.some((l) => l.toLowerCase() === value.toLowerCase())
        ? " (differs in letter case only)"
        : "";
}
