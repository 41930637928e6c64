// The user's scoring module, as Azure ML defines one: a folder with an entry script defining init() and run(), a conda
// environment file, and the base image it runs on. Everything the image build will need is checked here, at preview:
// the entry script is parsed (entryScript.ts), the conda file converted to pip requirements (condaEnvironment.ts),
// and what that changed is kept as notes for the plan to print.
import * as fs from "fs";
import * as path from "path";
import { configKey } from "../shared";
import { CondaEnvironment, convertCondaEnvironment, DEFAULT_PYTHON_VERSION } from "./condaEnvironment";
import { normalizedPackageName } from "./condaPipNames";
import { checkEntryScript } from "./entryScript";
import * as names from "./names";
import { ConfigReader, optional } from "./reader";

export interface ScoringModule {
    /** The user's folder: the entry script and everything it imports. Relative to the project folder, "/"-separated. */
    dir: string;
    /** The entry script, relative to `dir`, "/"-separated. */
    entryScript: string;
    /** The conda file converted into `environment`, relative to the project folder; undefined: none, or ownDockerfile. */
    condaFile?: string;
    /** The conda file's packages as pip requirements; none without a conda file (the runtime's packages only). */
    environment: CondaEnvironment;
    /** `dir` holds a Dockerfile: the image is built from it as it is (iotedgedev-style), no environment converted. */
    ownDockerfile: boolean;
}

/** The conda file read when edgeml:condaFile is empty: Azure ML's usual name, in the scoring folder. */
export const DEFAULT_CONDA_FILE = "myenv.yml";

/**
 * The scoring module, and the base image it runs on: edgeml:scoringBaseImage when set; otherwise
 * python:<X.Y>-slim for the conda file's Python (see choosePythonVersion), python:3.11-slim when it names none. With
 * the module's own Dockerfile it is only what edgeml:scoringBaseImage says (empty: the Dockerfile's FROM decides).
 */
export function readScoringModule(read: ConfigReader, projectDir: string): { module: ScoringModule; baseImage: string } {
    const shown = (absolute: string) => path.relative(projectDir, absolute).split(path.sep).join("/") || ".";
    if (read.string("scoringDir") === "")
        read.problem("scoringDir", "", "must name the scoring module's folder (its entry script and what it imports)");
    const dir = read.existingPath("scoringDir", projectDir, "folder");
    const entryScript = readEntryScriptPath(read, dir);
    const pipNames = readCondaPipNames(read);
    const dockerfile = dir ? path.join(dir, "Dockerfile") : "";
    const ownDockerfile = dockerfile !== "" && fs.statSync(dockerfile, { throwIfNoEntry: false })?.isFile() === true;
    const baseValue = read.string("scoringBaseImage", optional(names.imageReference));
    const module: ScoringModule = {
        dir: dir ? shown(dir) : "",
        entryScript: read.string("entryScript").split(path.sep).join("/"),
        environment: { requirements: [], notes: [] },
        ownDockerfile,
    };

    let baseImage: string;
    if (ownDockerfile) {
        // Its own Dockerfile brings its own environment: converting a conda file for it would only be ignored.
        for (const key of ["condaFile", "condaPipNames"]) {
            const value = read.chosen(key);
            if (value === undefined || value === "") continue;
            read.problem(
                key,
                value,
                `applies to the environment edgeml builds, but ${configKey("scoringDir")} = "${read.string("scoringDir")}" holds its own ` +
                    `Dockerfile, which is built as it is: leave ${configKey(key)} unset or remove the Dockerfile`,
            );
        }
        if (baseValue && !/^\s*ARG\s+BASE_IMAGE\b/im.test(fs.readFileSync(dockerfile, "utf8"))) {
            read.problem(
                "scoringBaseImage",
                baseValue,
                `is passed as the build argument BASE_IMAGE, which ${shown(dockerfile)} does not declare (ARG BASE_IMAGE), so its FROM ` +
                    `would decide the base regardless: declare the argument or leave ${configKey("scoringBaseImage")} empty`,
            );
        }
        read.note(`${shown(dockerfile)}: the scoring image is built from it as it is; no conda file is converted`);
        baseImage = baseValue;
    } else {
        const condaFile = readCondaFile(read, dir);
        if (condaFile) {
            module.condaFile = shown(condaFile);
            const conversion = convertCondaEnvironment(fs.readFileSync(condaFile, "utf8"), { pipNames });
            for (const problem of conversion.problems) read.fileProblem("condaFile", module.condaFile, problem);
            const { problems: _problems, ...environment } = conversion;
            module.environment = environment;
            for (const note of environment.notes) read.note(`${module.condaFile}: ${note}`);
        } else if (dir) {
            read.note(`no ${DEFAULT_CONDA_FILE} in ${module.dir}: the scoring image has the runtime's packages only`);
        }
        baseImage = baseValue || `python:${module.environment.pythonVersion ?? DEFAULT_PYTHON_VERSION}-slim`;
        notePython(read, module, baseImage, baseValue !== "");
    }

    if (entryScript) {
        const shownScript = shown(entryScript);
        const checked = checkEntryScript(entryScript, { targetPython: pythonOfImage(baseImage) });
        for (const problem of checked.problems) read.fileProblem("entryScript", shownScript, problem);
        for (const warning of checked.warnings) read.warn(`${configKey("entryScript")}: ${shownScript}: ${warning}`);
    }
    return { module, baseImage };
}

/** The entry script's absolute path, or "" (with a problem) when it is not a Python file inside the scoring folder. */
function readEntryScriptPath(read: ConfigReader, dir: string): string {
    const value = read.string("entryScript");
    const inside = value !== "" && !path.isAbsolute(value) && !value.split(/[\\/]/).includes("..");
    if (!inside) {
        read.problem(
            "entryScript",
            value,
            `must name the entry script, a path inside ${configKey("scoringDir")} (the folder the image carries)`,
        );
        return "";
    }
    // The runtime loads it as Python source by its path, which needs the .py suffix.
    if (!value.endsWith(".py")) {
        read.problem("entryScript", value, "must be a Python file (name.py)");
        return "";
    }
    return dir ? read.existingPath("entryScript", dir, "file", configKey("scoringDir")) : "";
}

/** edgeml:condaPipNames as a map of normalized conda names; `name=` maps to "" (left out). */
function readCondaPipNames(read: ConfigReader): Record<string, string> {
    const entries = read.uniqueList("condaPipNames", (entry) =>
        /^[A-Za-z0-9_][A-Za-z0-9_.-]*=([A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9._,-]+\])?)?$/.test(entry)
            ? undefined
            : "must look like <conda name>=<pip name> (pip extras allowed: jax=jax[cpu]), or <conda name>= to leave the package out",
    );
    const pipNames: Record<string, string> = {};
    entries.forEach((entry, index) => {
        const [condaName, pipName = ""] = entry.split("=");
        const normalized = normalizedPackageName(condaName);
        if (Object.hasOwn(pipNames, normalized)) read.problem(`condaPipNames[${index}]`, entry, `maps "${condaName}" a second time`);
        pipNames[normalized] = pipName;
    });
    return pipNames;
}

/** The conda file to convert: edgeml:condaFile (which must exist) or, left empty, myenv.yml in the folder when present. */
function readCondaFile(read: ConfigReader, dir: string): string {
    if (read.string("condaFile") !== "") return dir ? read.existingPath("condaFile", dir, "file", configKey("scoringDir")) : "";
    const fallback = dir ? path.join(dir, DEFAULT_CONDA_FILE) : "";
    return fallback && fs.statSync(fallback, { throwIfNoEntry: false })?.isFile() ? fallback : "";
}

/** Says which Python the image runs and why: the conda file's python entry is no pip requirement, and is noted. */
function notePython(read: ConfigReader, module: ScoringModule, baseImage: string, chosenBase: boolean): void {
    const { pythonEntry, pythonVersion } = module.environment;
    const source = module.condaFile ? `${module.condaFile}: "${pythonEntry}"` : "";
    if (!chosenBase) {
        if (pythonEntry && pythonVersion) {
            read.note(
                `${source} is no pip requirement: it chooses the base image ${baseImage} (the newest ${pythonVersion} patch release)`,
            );
        } else if (!pythonEntry) {
            const why = module.condaFile ? `${module.condaFile} names no python` : "there is no conda file";
            read.note(`base image ${baseImage}: ${why}; ${configKey("scoringBaseImage")} chooses another`);
        }
        return;
    }
    if (!pythonEntry || !pythonVersion) return;
    const imagePython = pythonOfImage(baseImage);
    const image = `${configKey("scoringBaseImage")} ${baseImage}`;
    if (imagePython === pythonVersion) read.note(`${source} is no pip requirement: ${image} runs Python ${imagePython}`);
    else if (imagePython)
        read.note(`${source} asks for Python ${pythonVersion}, but ${image} runs Python ${imagePython} (by its tag), which wins`);
    else read.note(`${source} asks for Python ${pythonVersion}; which Python ${image} runs cannot be told from its name, and it wins`);
}

/** The Python X.Y an image's name says it runs: python:3.12-slim, .../python:3.10, an Azure ML ...-py311-... image. */
export function pythonOfImage(image: string): string | undefined {
    const official = /(?:^|\/)python:(\d+)\.(\d+)(?![0-9])/.exec(image);
    if (official) return `${official[1]}.${official[2]}`;
    const azureml = /(?:^|[/_-])py(3)(\d{1,2})(?![0-9])/.exec(image);
    return azureml ? `${azureml[1]}.${azureml[2]}` : undefined;
}
