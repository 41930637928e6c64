import * as assert from "assert";
import { choosePythonVersion, convertCondaEnvironment } from "../components/config/condaEnvironment";
import {
    CONDA_DROP_REASONS,
    CONDA_NOT_PIP,
    CONDA_PIP_RENAMES,
    CONDA_PIP_SAME_NAMES,
    normalizedPackageName,
} from "../components/config/condaPipNames";

/** A conda file with these dependency lines (and a pip section when given). */
function condaFile(conda: string[], pip?: string[]): string {
    const lines = ["name: test", "channels:", "  - conda-forge", "dependencies:", ...conda.map((entry) => `  - ${JSON.stringify(entry)}`)];
    if (pip) lines.push("  - pip:", ...pip.map((entry) => `      - ${JSON.stringify(entry)}`));
    return lines.join("\n") + "\n";
}

function converted(conda: string[], pip?: string[], pipNames?: Record<string, string>) {
    return convertCondaEnvironment(condaFile(conda, pip), { pipNames });
}

/** The one requirement a conda entry becomes, failing on problems. */
function requirementOf(entry: string): string {
    const result = converted([entry]);
    assert.deepStrictEqual(result.problems, [], `${entry}: ${result.problems.join("; ")}`);
    assert.strictEqual(result.requirements.length, 1, `${entry} became ${JSON.stringify(result.requirements)}`);
    return result.requirements[0];
}

describe("conda environment to pip requirements", () => {
    // Each row: the conda entry, the pip requirement it becomes.
    const versions: Array<[string, string]> = [
        ["numpy", "numpy"],
        // conda's single = is fuzzy (1.26 matches 1.26.4): pip's prefix match says the same; pip's ==1.26 would not.
        ["numpy=1.26", "numpy==1.26.*"],
        ["numpy=1.26.4", "numpy==1.26.4.*"],
        ["numpy=1.26.*", "numpy==1.26.*"],
        ["numpy=1.26*", "numpy==1.26.*"],
        // PEP 440 has no prefix form for a pre-release: exactly that version.
        ["numpy=2.0.0rc1", "numpy==2.0.0rc1"],
        ["numpy==1.26.4", "numpy==1.26.4"],
        ["numpy>=1.26", "numpy>=1.26"],
        ["numpy<=1.26", "numpy<=1.26"],
        ["numpy>1.26", "numpy>1.26"],
        ["numpy<2", "numpy<2"],
        ["numpy!=1.26.0", "numpy!=1.26.0"],
        ["numpy~=1.26.0", "numpy~=1.26.0"],
        ["numpy>=1.26,<2", "numpy>=1.26,<2"],
        ["numpy >=1.26, <2", "numpy>=1.26,<2"],
        ["numpy >= 1.26", "numpy>=1.26"],
        ["numpy=*", "numpy"],
        // The space form is conda's exact match, as MatchSpec reads "numpy 1.26.4".
        ["numpy 1.26.4", "numpy==1.26.4"],
        ["numpy 1.26.*", "numpy==1.26.*"],
        ["numpy[version='>=1.26']", "numpy>=1.26"],
        ['numpy[version="1.26.4"]', "numpy==1.26.4"],
    ];
    for (const [entry, requirement] of versions) {
        it(`turns ${entry} into ${requirement}`, () => assert.strictEqual(requirementOf(entry), requirement));
    }

    it("renames the conda packages whose PyPI name differs, each with a note", () => {
        const renames: Array<[string, string]> = [
            ["pytorch=2.1", "torch==2.1.*"],
            ["py-xgboost>=2", "xgboost>=2"],
            ["py-opencv", "opencv-python-headless"],
            ["opencv=4.9", "opencv-python-headless==4.9.*"],
            ["matplotlib-base==3.8.4", "matplotlib==3.8.4"],
            ["pytables", "tables"],
            ["msgpack-python", "msgpack"],
        ];
        for (const [entry, requirement] of renames) {
            const result = converted([entry]);
            assert.deepStrictEqual(result.requirements, [requirement]);
            assert.ok(
                result.notes.some((note) => note.includes(entry) && note.includes("on PyPI")),
                `${entry}: ${result.notes}`,
            );
        }
    });

    it("keeps packages whose names are the same on both sides, without a note", () => {
        const result = converted([
            "scikit-learn=1.5",
            "pillow",
            "pyyaml>=6",
            "tensorflow==2.16.1",
            "inference-schema",
            "Typing_Extensions",
        ]);
        assert.deepStrictEqual(result.requirements, [
            "scikit-learn==1.5.*",
            "pillow",
            "pyyaml>=6",
            "tensorflow==2.16.1",
            "inference-schema",
            "Typing_Extensions",
        ]);
        assert.deepStrictEqual(result.notes, []);
    });

    it("strips channel prefixes and build strings, saying so", () => {
        const result = converted(["conda-forge::numpy=1.26.4=py311h64a7726_0", "pkgs/main::scipy", "pandas 2.2.2 py311h_0"]);
        assert.deepStrictEqual(result.requirements, ["numpy==1.26.4.*", "scipy", "pandas==2.2.2"]);
        assert.ok(result.notes.some((n) => n.includes('build string "py311h64a7726_0" dropped')));
        assert.ok(result.notes.some((n) => n.includes("channel conda-forge dropped")));
        assert.ok(result.notes.some((n) => n.includes("channel pkgs/main dropped")));
        assert.ok(result.notes.some((n) => n.includes('build string "py311h_0" dropped')));
    });

    it("drops what is not a Python package, each with a note saying why", () => {
        const dropped = [
            "pip=24.2",
            "mkl",
            "mkl-service",
            "libgcc-ng",
            "libstdcxx-ng",
            "openssl",
            "ca-certificates",
            "cudatoolkit=11.8",
            "_libgcc_mutex",
        ];
        const result = converted(dropped);
        assert.deepStrictEqual(result.requirements, []);
        assert.deepStrictEqual(result.problems, []);
        for (const entry of dropped) {
            assert.ok(
                result.notes.some((note) => note.startsWith(`dropped "${entry}": `)),
                `no note for ${entry}: ${result.notes.join("\n")}`,
            );
        }
        assert.ok(result.notes.some((n) => n.includes("cudatoolkit") && n.includes(CONDA_DROP_REASONS.cuda)));
    });

    it("keeps the pip section as it is, option lines included", () => {
        const pip = [
            "--extra-index-url https://pypi.example.com/simple",
            "--index-url=https://mirror.example.com/simple",
            "-f https://download.pytorch.org/whl/torch_stable.html",
            "--find-links ./wheels",
            "--trusted-host pypi.example.com",
            "onnxruntime==1.18.0",
            "requests[socks]>=2.31; python_version >= '3.9'",
            "git+https://github.com/example/pkg@v1",
        ];
        const result = converted(["numpy=1.26"], pip);
        assert.deepStrictEqual(result.requirements, ["numpy==1.26.*", ...pip]);
        assert.deepStrictEqual([result.problems, result.notes], [[], []]);
    });

    it("refuses pip options that name files the image build does not have", () => {
        for (const option of ["-r requirements.txt", "--requirement=reqs.txt", "-c constraints.txt", "-e ./mypkg", "--editable ."]) {
            const result = converted([], [option]);
            assert.strictEqual(result.problems.length, 1, option);
            assert.match(
                result.problems[0],
                /names a file or folder, which the image build does not have; list the requirements themselves/,
            );
        }
    });

    it("drops Azure ML's packages from both sections, with a note saying the runtime provides them, and keeps inference-schema", () => {
        const result = converted(
            ["azureml-defaults", "azureml-core=1.56"],
            ["azureml-defaults==1.56.0", "azureml_inference_server_http", "inference-schema==1.8"],
        );
        assert.deepStrictEqual(result.requirements, ["inference-schema==1.8"]);
        assert.strictEqual(result.notes.length, 4, result.notes.join("\n"));
        for (const note of result.notes)
            assert.match(note, /an Azure ML package; the edgeml runtime provides what entry scripts use of them/);
        assert.ok(result.notes.some((n) => n.startsWith(`dropped pip's "azureml-defaults==1.56.0"`)));
        assert.ok(result.notes.some((n) => n.startsWith(`dropped "azureml-core=1.56"`)));
    });

    it("stops at a conda package with no known pip name, naming it and what to do", () => {
        const result = converted(["numpy", "libfoo=1.2", "graphviz"]);
        assert.deepStrictEqual(result.requirements, ["numpy"]);
        assert.strictEqual(result.problems.length, 2);
        assert.strictEqual(
            result.problems[0],
            'conda package "libfoo" (entry "libfoo=1.2") has no known pip name: move it under "- pip:" with its name on PyPI, ' +
                'map it with edgeml:condaPipNames ("libfoo=<pip name>", or "libfoo=" to leave it out), or remove it if the scoring module does not need it',
        );
        // conda's graphviz is the C program; PyPI's is a Python binding of it: a guess would install the wrong thing.
        assert.match(result.problems[1], /conda package "graphviz"/);
        // Names that Object.prototype has are no exception.
        assert.match(converted(["constructor"]).problems[0], /conda package "constructor" \(entry "constructor"\) has no known pip name/);
    });

    it("takes the stack's own names (condaPipNames) first, and notes each use and each mapping the file does not need", () => {
        const result = converted(["libfoo=1.2", "libbar", "numpy"], undefined, {
            libfoo: "foo-python",
            libbar: "",
            numpy: "numpy-custom",
            unused: "x",
        });
        assert.deepStrictEqual(result.problems, []);
        assert.deepStrictEqual(result.requirements, ["foo-python==1.2.*", "numpy-custom"]);
        assert.ok(result.notes.some((n) => n === `"libfoo=1.2" installed as pip's foo-python, as edgeml:condaPipNames maps it`));
        assert.ok(result.notes.some((n) => n === `dropped "libbar": edgeml:condaPipNames leaves it out`));
        assert.ok(result.notes.some((n) => n === `edgeml:condaPipNames maps "unused", which the conda file does not list`));
    });

    it("leaves nothing out silently: every entry is a requirement, a note or a problem", () => {
        const conda = ["python=3.10", "pip", "numpy=1.26", "conda-forge::pytorch", "mkl", "azureml-core", "libfoo", "scipy=1.11=py310_0"];
        const pip = ["--extra-index-url https://x.example/simple", "azureml-defaults", "joblib==1.4.2"];
        const result = converted(conda, pip);
        for (const entry of [...conda.filter((e) => !e.startsWith("python")), ...pip]) {
            const name = entry.replace(/^.*::/, "").split(/[=<>! ]/)[0];
            const seen = [...result.requirements, ...result.notes, ...result.problems].some((line) => line.includes(name));
            assert.ok(seen, `${entry} vanished: ${JSON.stringify(result)}`);
        }
        assert.strictEqual(result.pythonEntry, "python=3.10");
    });

    it("reports YAML it cannot parse with its line", () => {
        const result = convertCondaEnvironment("name: x\ndependencies:\n  - numpy\n   - scipy: [\n");
        assert.deepStrictEqual(result.requirements, []);
        assert.strictEqual(result.problems.length, 1);
        assert.match(result.problems[0], /^line \d+: not valid YAML: /);
        assert.match(convertCondaEnvironment("dependencies: [numpy\nname: x\n").problems[0], /^line 2: not valid YAML/);
    });

    it("refuses files that are not a conda environment, saying what is wrong", () => {
        assert.match(convertCondaEnvironment("").problems[0], /^is empty/);
        assert.match(convertCondaEnvironment("# just a comment\n").problems[0], /^is empty/);
        assert.match(convertCondaEnvironment("- numpy\n").problems[0], /is not a conda environment/);
        assert.match(convertCondaEnvironment("dependencies: numpy\n").problems[0], /dependencies: must be a list/);
        assert.match(convertCondaEnvironment("dependencies:\n  - 1.5\n").problems[0], /dependencies\[0\] = 1.5 is neither a conda package/);
        assert.match(convertCondaEnvironment("dependencies:\n  - pip: numpy\n").problems[0], /pip: must be a list/);
        assert.match(convertCondaEnvironment("dependencies:\n  - pip:\n    - 3\n").problems[0], /pip: entry 3 is not a requirement/);
        assert.match(converted(["requests>=2|<1"]).problems[0], /an "or" of versions, which pip has no form of/);
        assert.match(converted(["numpy>=1.2=py311_0"]).problems[0], /has no pip form/);
    });

    it("reads an empty environment and one without dependencies as no requirements", () => {
        for (const text of ["name: x\n", "name: x\ndependencies:\n", "name: x\ndependencies: []\n", "dependencies:\n  - pip:\n"]) {
            assert.deepStrictEqual(convertCondaEnvironment(text), { requirements: [], notes: [], problems: [] }, text);
        }
    });

    it("notes conda variables, which the image does not apply", () => {
        const result = convertCondaEnvironment("name: x\nvariables:\n  OMP_NUM_THREADS: '1'\ndependencies: [numpy]\n");
        assert.match(result.notes[0], /^variables: not applied .* edgeml:scoringEnv/);
    });

    describe("python", () => {
        it("is no requirement: it chooses the base image's Python", () => {
            const result = converted(["python=3.10.4", "numpy"]);
            assert.deepStrictEqual([result.requirements, result.pythonVersion, result.pythonEntry], [["numpy"], "3.10", "python=3.10.4"]);
            assert.strictEqual(converted(["numpy"]).pythonVersion, undefined);
            assert.match(converted(["python>=4"]).problems[0], /conda entry "python>=4": no Python from 3.8, .* satisfies ">=4"/);
        });

        // Each row: the python entry, the X.Y of the base image it chooses.
        const choices: Array<[string, string]> = [
            ["python=3.10", "3.10"],
            ["python=3.10.4", "3.10"],
            ["python==3.11.9", "3.11"],
            ["python 3.12.*", "3.12"],
            ["python=3.9.*", "3.9"],
            // Ranges: 3.11 when allowed, else the allowed version nearest to it.
            ["python", "3.11"],
            ["python>=3.8", "3.11"],
            ["python=3", "3.11"],
            ["python>=3.12", "3.12"],
            ["python<3.10", "3.9"],
            ["python>=3.9,<3.11", "3.10"],
            // python:3.11-slim carries the newest 3.11 patch, which <3.11.4 refuses.
            ["python>=3.9,<3.11.4", "3.10"],
            ["python~=3.12.1", "3.12"],
            ["python!=3.11.*", "3.12"],
        ];
        for (const [entry, version] of choices) {
            it(`${entry} runs on python:${version}-slim`, () => {
                const result = converted([entry]);
                assert.deepStrictEqual(result.problems, []);
                assert.strictEqual(result.pythonVersion, version);
            });
        }

        it("chooses 3.11 for no python at all", () => assert.deepStrictEqual(choosePythonVersion(""), { version: "3.11" }));
    });

    describe("the tables", () => {
        const all = [...Object.keys(CONDA_PIP_RENAMES), ...CONDA_PIP_SAME_NAMES, ...Object.keys(CONDA_NOT_PIP)];

        it("name each conda package once, as normalized names", () => {
            for (const name of all) assert.strictEqual(normalizedPackageName(name), name, `${name} is not normalized`);
            const seen = new Set<string>();
            for (const name of all) {
                assert.ok(!seen.has(name), `${name} is in two lists`);
                seen.add(name);
            }
        });

        it("cover the renames the README promises", () => {
            assert.deepStrictEqual(
                ["pytorch", "py-xgboost", "py-opencv", "opencv", "matplotlib-base", "pytables"].map((name) => CONDA_PIP_RENAMES[name]),
                ["torch", "xgboost", "opencv-python-headless", "opencv-python-headless", "matplotlib", "tables"],
            );
        });

        it("keep python itself out: it is the base image's, never a table entry", () => assert.ok(!all.includes("python")));
    });
});
