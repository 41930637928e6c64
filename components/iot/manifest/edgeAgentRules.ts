// Rules for edgeAgent's desired properties: runtime and registry credentials, the system modules and the user
// modules (each checked by moduleRules).
import { Json, record } from "./json";
import { checkEnums, checkModule, checkModuleName, checkSettings } from "./moduleRules";
import type { Report } from "./problems";

// The schema's pattern for registry credential names (a twin key, plus '#').
const REGISTRY_NAME = /^[^.$# ]+$/;

/** Returns the names of the user modules the manifest deploys, which routes may deliver to. */
export function checkEdgeAgent(agent: Json, report: Report): Set<string> {
    const runtime = record(agent.runtime);
    if (!runtime) report("twin", "$edgeAgent", "runtime", "is required: edgeAgent needs the Docker runtime settings");
    const credentials = record(record(runtime?.settings)?.registryCredentials) ?? {};
    for (const [name, value] of Object.entries(credentials)) checkRegistry(name, record(value), report);

    const system = record(agent.systemModules);
    if (!system) report("twin", "$edgeAgent", "systemModules", "is required: edgeAgent and edgeHub are deployed by the manifest too");
    const systemAgent = record(system?.edgeAgent);
    if (systemAgent) checkSettings("edgeAgent", systemAgent.settings, report);
    const systemHub = record(system?.edgeHub);
    if (systemHub) {
        checkEnums("edgeHub", systemHub, report);
        checkSettings("edgeHub", systemHub.settings, report);
    }

    const modules = record(agent.modules) ?? {};
    if (!record(agent.modules)) report("twin", "$edgeAgent", "modules", "is required (an empty object deploys no modules)");
    for (const [name, value] of Object.entries(modules)) {
        checkModuleName(name, report);
        checkModule(name, record(value), report);
    }
    return new Set(Object.keys(modules));
}

export function checkRegistry(name: string, credential: Json | undefined, report: Report): void {
    if (!REGISTRY_NAME.test(name)) report("registry", name, undefined, "names may not contain '.', '$', '#' or spaces");
    for (const field of ["username", "password", "address"]) {
        const value = credential?.[field];
        if (typeof value !== "string" || value.trim() === "") report("registry", name, field, "must be a non-empty string");
    }
    if (typeof credential?.address === "string" && /\s/.test(credential.address)) {
        report("registry", name, "address", "may not contain whitespace");
    }
}
