import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { checkEntryScript } from "../components/config/entryScript";

describe("entry script check (Python's ast, never run)", () => {
    let dir: string;
    const script = (name: string, source: string) => {
        const file = path.join(dir, name);
        fs.writeFileSync(file, source);
        return file;
    };
    before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "edgeml-entry-"))));
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    // Each row: a script that binds init and run at its top level in one of the ways Python allows.
    const valid: Array<[string, string]> = [
        ["def", "def init():\n    pass\n\ndef run(raw_data):\n    return raw_data\n"],
        ["async def", "def init():\n    pass\n\nasync def run(raw_data):\n    return raw_data\n"],
        ["assignments", "init = lambda: None\nrun: object = print\n"],
        ["a tuple assignment", "init, run = (lambda: None), print\n"],
        ["imports", "from scorer import init\nfrom scorer import predict as run\n"],
        ["import as", "import scorer.init as init\nimport run\n"],
        [
            "a fallback in try/except",
            "try:\n    from fast import run\nexcept ImportError:\n    def run(d):\n        return d\nif True:\n    def init():\n        pass\n",
        ],
        [
            "definitions under with",
            "import contextlib\nwith contextlib.suppress(Exception):\n    def init(): pass\n    def run(d): return d\n",
        ],
    ];
    for (const [title, source] of valid) {
        it(`accepts init and run bound by ${title}`, () => {
            assert.deepStrictEqual(checkEntryScript(script(`valid-${title.replace(/\W+/g, "-")}.py`, source)), {
                problems: [],
                warnings: [],
            });
        });
    }

    it("refuses a script without run, naming what is missing and the contract", () => {
        const { problems, warnings } = checkEntryScript(script("no-run.py", "def init():\n    pass\n"));
        assert.deepStrictEqual(warnings, []);
        assert.deepStrictEqual(problems, [
            "defines no top-level run(): Azure ML's entry script contract is init() (loads the model, once) and run(raw_data) " +
                "(scores one request), each a def, async def, assignment or import at the top level of the file",
        ]);
    });

    it("does not count names bound inside a function or a class", () => {
        const source = "class Scorer:\n    def init(self): pass\n    def run(self, d): return d\n\ndef main():\n    def run(d): return d\n";
        assert.match(checkEntryScript(script("nested.py", source)).problems[0], /^defines no top-level init\(\) and run\(\)/);
        // A class named run is no function.
        assert.match(checkEntryScript(script("class-run.py", "def init(): pass\nclass run: pass\n")).problems[0], /no top-level run\(\)/);
    });

    it("reports a syntax error with its line, column and text", () => {
        const file = script("broken.py", "import json\n\ndef init():\n    pass\n\ndef run(raw_data:\n    return raw_data\n");
        const { problems } = checkEntryScript(file, { targetPython: "3.11" });
        assert.strictEqual(problems.length, 1);
        assert.match(problems[0], /^line 6, column \d+: .*\("def run\(raw_data:"\) \(parsed as the image's Python 3\.11\)$/);
    });

    it("parses as the image's Python: syntax newer than it is an error", () => {
        // A match statement is Python 3.10; this machine's python3 parses it, an image on 3.8 could not.
        const file = script("match.py", "def init(): pass\ndef run(d):\n    match d:\n        case _:\n            return d\n");
        assert.deepStrictEqual(checkEntryScript(file, { targetPython: "3.11" }).problems, []);
        assert.match(
            checkEntryScript(file, { targetPython: "3.8" }).problems[0],
            /^line \d+, .*only supported in Python 3.10 and greater.*\(parsed as the image.s Python 3\.8\)$/,
        );
    });

    it("only warns when the image's Python is newer than this machine's, whose parser may not know its syntax", () => {
        const file = script("future.py", "def init(): pass\ndef run(d):\n    return d +\n");
        const { problems, warnings } = checkEntryScript(file, { targetPython: "3.99" });
        assert.deepStrictEqual(problems, []);
        assert.match(
            warnings[0],
            /^not checked: Python 3\.\d+ here reports line 3, .* but the image runs Python 3\.99, whose syntax may be newer$/,
        );
    });

    it("warns, rather than fails, where a star import may bring init or run", () => {
        const { problems, warnings } = checkEntryScript(script("star.py", "from scorer import *\ndef init(): pass\n"));
        assert.deepStrictEqual(problems, []);
        assert.match(warnings[0], /^defines no top-level run\(\) itself; from scorer import \* may bring it/);
    });

    it("warns, and does not fail, when python3 is missing", () => {
        const result = checkEntryScript(script("any.py", "x = (\n"), { python: "python3-that-is-not-installed" });
        assert.deepStrictEqual(result.problems, []);
        assert.match(
            result.warnings[0],
            /^not checked: python3-that-is-not-installed is not on PATH, so its syntax, init\(\) and run\(\) were not looked at$/,
        );
    });

    it("never runs the script: top-level code that would write a file leaves no file", () => {
        const marker = path.join(dir, "ran");
        const source = `open(${JSON.stringify(marker)}, "w").write("ran")\nimport sys\nsys.exit(3)\ndef init(): pass\ndef run(d): return d\n`;
        assert.deepStrictEqual(checkEntryScript(script("side-effects.py", source)), { problems: [], warnings: [] });
        assert.ok(!fs.existsSync(marker), "the entry script was executed");
    });

    it("reads the file's bytes as Python does: an encoding declaration, or a decoding error with its line", () => {
        const latin1 = Buffer.concat([
            Buffer.from("# -*- coding: latin-1 -*-\nname = '"),
            Buffer.from([0xe9]),
            Buffer.from("'\ndef init(): pass\ndef run(d): return d\n"),
        ]);
        fs.writeFileSync(path.join(dir, "latin1.py"), latin1);
        assert.deepStrictEqual(checkEntryScript(path.join(dir, "latin1.py")).problems, []);
        fs.writeFileSync(path.join(dir, "bad-utf8.py"), Buffer.concat([Buffer.from("x = '"), Buffer.from([0xff]), Buffer.from("'\n")]));
        assert.match(checkEntryScript(path.join(dir, "bad-utf8.py")).problems[0], /^line 1.*utf-8.*can't decode/);
    });

    it("checks a changed file again", () => {
        const file = script("changing.py", "def init(): pass\ndef run(d): return d\n");
        assert.deepStrictEqual(checkEntryScript(file).problems, []);
        fs.writeFileSync(file, "def init(): pass\n# run() removed, and the file is a different size\n");
        assert.strictEqual(checkEntryScript(file).problems.length, 1);
    });
});
