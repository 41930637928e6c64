/**
 * What the installed @pulumi/azure-native npm package says about a resource type, read from its own generated files
 * (the provider plugin, which holds the real ARM mapping metadata, is not part of the npm package):
 * - `<module>/index.d.ts`: which file declares the resource class and which its `get<Class>` function;
 * - the class's doc comment: "Uses Azure REST API version <version>" (absent for resources the provider implements
 *   itself, such as storage:Blob, which writes through the blob service's data plane);
 * - `<Class>Args`: the inputs, whether each is required, its doc comment (generated from the REST spec's
 *   description) and the input types it refers to (`inputs.<module>.<Type>`);
 * - `Get<Class>Args`: its required members are the ARM path parameters (resource group, parents' names, own name);
 *   optional ones are query parameters such as `expand`;
 * - `types/input.d.ts`: the members of nested input types, so flattening can be told apart level by level.
 * Files are parsed with the TypeScript compiler, each once; input types are cut out of the 7 MB input.d.ts one
 * interface at a time, as parsing the whole file takes seconds.
 */
import * as fs from "fs";
import * as path from "path";
import ts from "typescript";

export const SDK_DIR = path.dirname(require.resolve("@pulumi/azure-native/package.json"));

export interface SdkMember {
    name: string;
    required: boolean;
    /** The doc comment's text (the REST spec's description), whitespace collapsed. */
    doc: string;
    /** The input types the member's type names, as "<module>.<Type>" (arrays and maps name their items' type). */
    typeRefs: string[];
}

export interface SdkResource {
    token: string;
    module: string;
    className: string;
    /** The .d.ts that declares the class, relative to the package. */
    file: string;
    /** From the class's doc comment; undefined when it records none (not an ARM resource). */
    apiVersion?: string;
    /** `<Class>Args`, by input name. */
    args: Map<string, SdkMember>;
    /** Required members of `Get<Class>Args`; undefined when the module has no `get<Class>`. */
    pathParams?: string[];
}

const resources = new Map<string, SdkResource>();
const inputTypes = new Map<string, Map<string, SdkMember> | undefined>();
let inputText: string | undefined;

function readSdkFile(relative: string): string {
    return fs.readFileSync(path.join(SDK_DIR, relative), "utf8");
}

function parse(fileName: string, text: string): ts.SourceFile {
    return ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
}

function docOf(node: ts.Node): string {
    const docs = (node as { jsDoc?: ts.JSDoc[] }).jsDoc ?? [];
    return docs
        .map((doc) => (typeof doc.comment === "string" ? doc.comment : (doc.comment ?? []).map((part) => part.text).join("")))
        .join(" ")
        .replace(/\s+/g, " ")
        .trim();
}

function membersOf(node: ts.InterfaceDeclaration): Map<string, SdkMember> {
    const members = new Map<string, SdkMember>();
    for (const member of node.members) {
        if (!ts.isPropertySignature(member) || !member.type) continue;
        const name = member.name.getText();
        const typeText = member.type.getText();
        const typeRefs = [...new Set([...typeText.matchAll(/\binputs\.(\w+)\.(\w+)/g)].map((m) => `${m[1]}.${m[2]}`))];
        members.set(name, { name, required: !member.questionToken, doc: docOf(member), typeRefs });
    }
    return members;
}

function findInterface(source: ts.SourceFile, name: string): ts.InterfaceDeclaration | undefined {
    return source.statements.find((s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === name);
}

/** The file (without extension) a module's index.d.ts imports an export from, if it exports it. */
function exportFile(moduleIndex: string, exportName: string): string | undefined {
    const match = new RegExp(`export declare const ${exportName}: typeof import\\("\\./([\\w.-]+)"\\)`).exec(moduleIndex);
    return match?.[1];
}

/** The SDK's description of a resource type token (`azure-native:<module>:<Class>`); throws if the package has none. */
export function sdkResource(token: string): SdkResource {
    const cached = resources.get(token);
    if (cached) return cached;
    const [provider, module, className] = token.split(":");
    if (provider !== "azure-native" || !module || !className) throw new Error(`${token} is not an azure-native type token`);
    const index = readSdkFile(path.join(module, "index.d.ts"));
    const classFile = exportFile(index, className);
    if (!classFile) throw new Error(`@pulumi/azure-native/${module} exports no resource ${className}`);
    const file = path.join(module, `${classFile}.d.ts`);
    const source = parse(file, readSdkFile(file));
    const declaration = source.statements.find((s): s is ts.ClassDeclaration => ts.isClassDeclaration(s) && s.name?.text === className);
    if (!declaration) throw new Error(`${file} declares no class ${className}`);
    const apiVersion = /Uses Azure REST API version (\d{4}-\d{2}-\d{2}[\w-]*?)\.?(?:\s|$)/.exec(docOf(declaration))?.[1];
    const argsInterface = findInterface(source, `${className}Args`);
    if (!argsInterface) throw new Error(`${file} declares no ${className}Args`);

    let pathParams: string[] | undefined;
    const getterFile = exportFile(index, `get${className}`);
    if (getterFile) {
        const getterPath = path.join(module, `${getterFile}.d.ts`);
        const getter = findInterface(parse(getterPath, readSdkFile(getterPath)), `Get${className}Args`);
        if (getter) pathParams = [...membersOf(getter).values()].filter((m) => m.required).map((m) => m.name);
    }
    const resource: SdkResource = { token, module, className, file, apiVersion, args: membersOf(argsInterface), pathParams };
    resources.set(token, resource);
    return resource;
}

/** The members of a nested input type ("<module>.<Type>", as in SdkMember.typeRefs), from types/input.d.ts. */
export function sdkInputType(ref: string): Map<string, SdkMember> | undefined {
    if (inputTypes.has(ref)) return inputTypes.get(ref);
    const [module, name] = ref.split(".");
    inputText ??= readSdkFile(path.join("types", "input.d.ts"));
    let members: Map<string, SdkMember> | undefined;
    const namespaceStart = inputText.indexOf(`\nexport declare namespace ${module} {\n`);
    if (namespaceStart >= 0) {
        const nextNamespace = inputText.indexOf("\nexport declare namespace ", namespaceStart + 1);
        const namespaceEnd = nextNamespace < 0 ? inputText.length : nextNamespace;
        // Generated layout: each interface of the namespace at four spaces, closed by a brace at four spaces.
        const start = inputText.indexOf(`\n    interface ${name} {\n`, namespaceStart);
        if (start >= 0 && start < namespaceEnd) {
            const end = inputText.indexOf("\n    }\n", start);
            const declaration = findInterface(parse(`${ref}.d.ts`, inputText.slice(start, end + 6)), name);
            if (declaration) members = membersOf(declaration);
        }
    }
    inputTypes.set(ref, members);
    return members;
}

/** The members of every input type in `refs`, merged (a union such as discriminated model types names several). */
export function sdkInputMembers(refs: string[]): Map<string, SdkMember> | undefined {
    const found = refs.map(sdkInputType).filter((m): m is Map<string, SdkMember> => m !== undefined);
    if (found.length === 0) return undefined;
    return new Map(found.flatMap((members) => [...members]));
}
