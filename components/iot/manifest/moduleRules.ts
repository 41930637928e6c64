// edgeAgent's rules for one module: its name, type, enums, startup order, env and settings (image and create
// options chunks as edgeAgent reads them, each within IoT Hub's 512-byte value limit).
import { utf8Length } from "./canonical";
import { CreateOptionsError, isCreateOptionsKey, joinCreateOptions, TWIN_VALUE_MAX_BYTES } from "./createOptions";
import { imageReferenceProblem } from "./imageReference";
import { isIntegerBetween, Json, record, UINT32_MAX } from "./json";
import type { Report } from "./problems";
import { MODULE_STATUSES, RESTART_POLICIES } from "./types";

// IoT Hub module identities are at most 128 characters.
const MODULE_NAME_MAX_LENGTH = 128;
// The deployment schema's pattern for module names; edgeAgent also names the module's container after it.
const MODULE_NAME = /^[a-zA-Z0-9_-]+$/;
const RUNTIME_MODULES = ["edgeagent", "edgehub"];
// The schema's pattern for env names; they are twin keys too.
const ENV_NAME = /^[^+#$\s.]+$/;

export function checkModuleName(name: string, report: Report): void {
    if (!MODULE_NAME.test(name)) {
        report("module", name, undefined, "names may contain only letters, digits, '-' and '_' (no '$', no whitespace)");
    }
    if (name.length > MODULE_NAME_MAX_LENGTH) {
        report("module", name, undefined, `names are at most ${MODULE_NAME_MAX_LENGTH} characters (IoT Hub module identity)`);
    }
    if (RUNTIME_MODULES.includes(name.toLowerCase())) {
        report("module", name, undefined, "edgeAgent and edgeHub are the IoT Edge runtime's own modules, not names for user modules");
    }
}

export function checkModule(name: string, module: Json | undefined, report: Report): void {
    if (!module) {
        report("module", name, undefined, "must be an object");
        return;
    }
    if (module.type !== "docker") report("module", name, "type", 'must be "docker"');
    checkEnums(name, module, report);
    if (module.startupOrder !== undefined && !isIntegerBetween(module.startupOrder, 0, UINT32_MAX)) {
        report("module", name, "startupOrder", `must be a whole number from 0 to ${UINT32_MAX}`);
    }
    if (module.env !== undefined) checkEnv(name, module.env, report);
    checkSettings(name, module.settings, report);
}

export function checkEnums(name: string, module: Json, report: Report): void {
    if (!(MODULE_STATUSES as readonly unknown[]).includes(module.status)) {
        report("module", name, "status", `is ${JSON.stringify(module.status)}; must be one of ${MODULE_STATUSES.join(", ")}`);
    }
    if (!(RESTART_POLICIES as readonly unknown[]).includes(module.restartPolicy)) {
        report(
            "module",
            name,
            "restartPolicy",
            `is ${JSON.stringify(module.restartPolicy)}; must be one of ${RESTART_POLICIES.join(", ")}`,
        );
    }
}

function checkEnv(name: string, env: unknown, report: Report): void {
    const variables = record(env);
    if (!variables) {
        report("module", name, "env", "must be an object of NAME: { value }");
        return;
    }
    for (const [variable, entry] of Object.entries(variables)) {
        if (!ENV_NAME.test(variable))
            report("module", name, `env.${variable}`, "env names may not contain '+', '#', '$', '.' or whitespace");
        const value = record(entry)?.value;
        if (!["string", "number", "boolean"].includes(typeof value)) {
            report("module", name, `env.${variable}`, "must be { value } with a string, number or boolean");
        }
    }
}

export function checkSettings(name: string, value: unknown, report: Report): void {
    const settings = record(value);
    if (!settings) {
        report("module", name, "settings", "is required: it holds the image");
        return;
    }
    const image = settings.image;
    const imageProblem = typeof image === "string" && image !== "" ? imageReferenceProblem(image) : "is required";
    if (imageProblem) report("module", name, "settings.image", imageProblem);

    for (const [key, chunk] of Object.entries(settings)) {
        if (key === "image") continue;
        if (!isCreateOptionsKey(key)) {
            report("module", name, `settings.${key}`, "is not a module setting: settings hold only image and createOptions chunks");
        } else if (typeof chunk === "string" && utf8Length(chunk) > TWIN_VALUE_MAX_BYTES) {
            report(
                "module",
                name,
                `settings.${key}`,
                `is ${utf8Length(chunk)} bytes; IoT Hub takes at most ${TWIN_VALUE_MAX_BYTES} per value (split it over createOptions01..)`,
            );
        }
    }
    try {
        const text = joinCreateOptions(settings);
        // edgeAgent reads blank create options as none.
        if (text.trim() !== "" && !record(parseJson(text))) {
            report("module", name, "settings.createOptions", "joined chunks must be a JSON object (Docker create options)");
        }
    } catch (error) {
        if (!(error instanceof CreateOptionsError)) throw error;
        report("module", name, "settings.createOptions", error.message);
    }
}

function parseJson(text: string): unknown {
    try {
        return JSON.parse(text);
    } catch {
        return undefined;
    }
}
