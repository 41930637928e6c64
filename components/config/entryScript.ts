// The scoring module's entry script checked at preview, as Azure ML's contract asks: it parses, and defines init()
// and run() at its top level. Python's own parser reads it (a `python3` subprocess running ast.parse), so what is
// checked is Python's grammar and not an imitation of it; the script is parsed and never imported or run, so
// nothing of the user's code executes on the machine that plans.
import { execFileSync } from "child_process";
import * as fs from "fs";

export interface EntryScriptCheck {
    /** What stops the preview (a syntax error, init or run missing), each to follow the file's name. */
    problems: string[];
    /** What could not be checked (no python3 here, names a star import may bring), each to follow the file's name. */
    warnings: string[];
}

export interface EntryScriptOptions {
    /** Python X.Y the image runs, when known: syntax newer than it is an error, syntax newer than this machine's is not judged. */
    targetPython?: string;
    /** The interpreter; python3 on PATH unless a test says otherwise. */
    python?: string;
}

/** The functions Azure ML's inference server calls, and so the runtime does too. */
export const ENTRY_POINTS = ["init", "run"] as const;

// Run with -I (isolated: no PYTHON* variables, no user site, not even the script's folder on sys.path), so no
// sitecustomize or .pth of the environment runs either. It prints one JSON object: the names the module binds at
// its top level (statements under a top-level if/try/with/for/while bind there too, a def's or class's body does
// not) and its star imports (which may bind anything), or the syntax error.
const HELPER = String.raw`
import ast, json, sys

def bind(target, names):
    if isinstance(target, ast.Name):
        names.add(target.id)
    elif isinstance(target, (ast.Tuple, ast.List)):
        for element in target.elts:
            bind(element, names)
    elif isinstance(target, ast.Starred):
        bind(target.value, names)

def top_level(body, names, stars):
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                bind(target, names)
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            bind(node.target, names)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name == "*":
                    stars.append("." * getattr(node, "level", 0) + (node.module or ""))
                else:
                    names.add(alias.asname or alias.name.split(".")[0])
        elif not isinstance(node, ast.ClassDef):
            # if/try/with/for/while: their blocks run at the top level, so what they bind is the module's.
            for field in ("body", "orelse", "finalbody"):
                top_level(getattr(node, field, None) or [], names, stars)
            for handler in getattr(node, "handlers", None) or []:
                top_level(handler.body, names, stars)

def check(path, target):
    host = sys.version_info[:2]
    result = {"python": "%d.%d" % host}
    with open(path, "rb") as source_file:
        source = source_file.read()
    options = {"feature_version": target} if target and target <= host else {}
    try:
        try:
            tree = ast.parse(source, filename=path, **options)
        except ValueError:
            if not options:
                raise
            tree = ast.parse(source, filename=path)
    except (SyntaxError, ValueError) as error:
        result["syntaxError"] = {
            "line": getattr(error, "lineno", None),
            "column": getattr(error, "offset", None),
            "message": getattr(error, "msg", None) or str(error),
            "text": (getattr(error, "text", None) or "").strip(),
        }
        return result
    names, stars = set(), []
    top_level(tree.body, names, stars)
    result.update(names=sorted(names), starImports=stars)
    return result

target = tuple(int(n) for n in sys.argv[2].split(".")) if len(sys.argv) > 2 and sys.argv[2] else None
print(json.dumps(check(sys.argv[1], target)))
`;

interface HelperResult {
    python: string;
    syntaxError?: { line: number | null; column: number | null; message: string; text: string };
    names?: string[];
    starImports?: string[];
}

// loadConfig runs once per `pulumi preview`, but the tests and the offline tools load the same stack many times.
const cache = new Map<string, EntryScriptCheck>();

/** Checks an existing Python file (the caller has checked it exists). */
export function checkEntryScript(file: string, options: EntryScriptOptions = {}): EntryScriptCheck {
    const python = options.python ?? "python3";
    const stat = fs.statSync(file);
    const key = JSON.stringify([file, stat.mtimeMs, stat.size, options.targetPython ?? "", python]);
    const cached = cache.get(key);
    if (cached) return cached;
    const checked = interpret(runHelper(file, python, options.targetPython), options.targetPython);
    // Only a real answer is kept: a missing python3 may be installed before the next load.
    if (!checked.warnings.some((warning) => warning.startsWith(NOT_CHECKED))) cache.set(key, checked);
    return checked;
}

const NOT_CHECKED = "not checked";

function runHelper(file: string, python: string, targetPython: string | undefined): HelperResult | string {
    let output: string;
    try {
        output = execFileSync(python, ["-I", "-c", HELPER, file, targetPython ?? ""], {
            encoding: "utf8",
            timeout: 30_000,
            stdio: ["ignore", "pipe", "pipe"],
        });
    } catch (error) {
        const failure = error as NodeJS.ErrnoException & { stderr?: string; signal?: string };
        if (failure.code === "ENOENT") return `${python} is not on PATH, so its syntax, init() and run() were not looked at`;
        if (failure.signal) return `${python} did not finish parsing it within 30 s`;
        const lastLine = (failure.stderr ?? "").trim().split("\n").pop() ?? failure.message;
        return `${python} could not parse it: ${lastLine}`;
    }
    try {
        return JSON.parse(output) as HelperResult;
    } catch {
        return `${python} answered something other than the parse result: ${output.slice(0, 200)}`;
    }
}

function interpret(result: HelperResult | string, targetPython: string | undefined): EntryScriptCheck {
    if (typeof result === "string") return { problems: [], warnings: [`${NOT_CHECKED}: ${result}`] };
    const checked: EntryScriptCheck = { problems: [], warnings: [] };
    const syntax = result.syntaxError;
    if (syntax) {
        const where = syntax.line ? `line ${syntax.line}${syntax.column ? `, column ${syntax.column}` : ""}: ` : "";
        const text = syntax.text ? ` ("${syntax.text}")` : "";
        if (targetPython && olderThan(result.python, targetPython)) {
            // Syntax this machine's Python does not know may be valid in the image's newer one: not a user error.
            checked.warnings.push(
                `${NOT_CHECKED}: Python ${result.python} here reports ${where}${syntax.message}${text}, but the image runs Python ${targetPython}, whose syntax may be newer`,
            );
        } else {
            const parsedAs = targetPython ? `parsed as the image's Python ${targetPython}` : `parsed by Python ${result.python} here`;
            checked.problems.push(`${where}${syntax.message}${text} (${parsedAs})`);
        }
        return checked;
    }
    const bound = new Set(result.names ?? []);
    const missing = ENTRY_POINTS.filter((name) => !bound.has(name));
    if (missing.length === 0) return checked;
    const what = missing.map((name) => `${name}()`).join(" and ");
    const stars = result.starImports ?? [];
    if (stars.length > 0) {
        checked.warnings.push(
            `defines no top-level ${what} itself; ${stars.map((m) => `from ${m} import *`).join(", ")} may bring ${missing.length > 1 ? "them" : "it"}, which is not checked without running it`,
        );
    } else {
        checked.problems.push(
            `defines no top-level ${what}: Azure ML's entry script contract is init() (loads the model, once) and run(raw_data) ` +
                `(scores one request), each a def, async def, assignment or import at the top level of the file`,
        );
    }
    return checked;
}

function olderThan(version: string, than: string): boolean {
    const [a, b] = [version, than].map((v) => v.split(".").map(Number));
    return a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
}
