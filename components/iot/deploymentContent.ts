// Pure helpers over deployment content: the registry password travels separately (a secret input) and is put
// into the manifest only when it is sent, so the content itself stays reviewable in plans and diffs.
import { SECRET_MARKER } from "../shared/redact";
import { createHash } from "crypto";
// Single files of ./manifest, not its face: the serialized provider carries only what it uses.
import { joinCreateOptions } from "./manifest/createOptions";
import { expandLayer, isLayered, registryCredentialsOf } from "./manifest/layer";
import type { DeploymentContent, DeploymentManifest } from "./manifest/types";

/** The manifest (or layer) with every registry password placeholder replaced by the real password. */
export function withRegistryPassword<T extends DeploymentContent>(content: T, password: string): T {
    const copy = JSON.parse(JSON.stringify(content)) as T;
    for (const credential of registryCredentialsOf(copy)) {
        if (credential.password !== SECRET_MARKER) throw new Error("deployment content must carry the registry password as a placeholder");
        credential.password = password;
    }
    return copy;
}

/**
 * Identifies what a rollout delivers: the content and the password (hashed, never stored) since a rotated
 * password must reach the devices too. Fleet configurations take their id from it.
 */
export function contentHash(content: DeploymentContent, registryPassword: string): string {
    const passwordHash = createHash("sha256").update(registryPassword).digest("hex");
    return createHash("sha256").update(JSON.stringify(content)).update(passwordHash).digest("hex");
}

interface ModuleView {
    image?: string;
    status?: string;
    restartPolicy?: string;
    env?: Record<string, { value: unknown }>;
    createOptions?: string;
}

/** Modules of a manifest (system and user) or a layer, keyed by name, with createOptions chunks joined. */
export function modulesOf(content: DeploymentContent | undefined): Record<string, ModuleView> {
    const desired = expandLayer(content)?.modulesContent?.$edgeAgent?.["properties.desired"];
    const result: Record<string, ModuleView> = {};
    for (const [name, module] of Object.entries({ ...(desired?.systemModules ?? {}), ...(desired?.modules ?? {}) })) {
        const settings = (module as { settings?: Record<string, unknown> }).settings ?? {};
        result[name] = {
            image: settings.image as string | undefined,
            status: (module as ModuleView).status,
            restartPolicy: (module as ModuleView).restartPolicy,
            env: (module as ModuleView).env,
            createOptions: joinCreateOptions(settings),
        };
    }
    return result;
}

/** Routes of a manifest or a layer, each as its text (a route object as JSON). */
export function routesOf(content: DeploymentContent | undefined): Record<string, string> {
    const routes = expandLayer(content)?.modulesContent?.$edgeHub?.["properties.desired"]?.routes ?? {};
    return Object.fromEntries(Object.entries(routes).map(([name, spec]) => [name, typeof spec === "string" ? spec : JSON.stringify(spec)]));
}

/**
 * What a new manifest changes, in module terms: one line per module added, removed, or changed (image, status,
 * restart policy, env, createOptions), per route, and for the other desired properties. Empty when identical.
 */
export function describeContentChanges(before: DeploymentContent | undefined, after: DeploymentContent | undefined): string[] {
    const changes: string[] = [];
    const [oldModules, newModules] = [modulesOf(before), modulesOf(after)];
    // A complete manifest becoming a layer (or back): the runtime passes to the base deployment, not off the devices.
    const flip = before && after && isLayered(before) !== isLayered(after);
    if (flip) {
        const complete = expandLayer(isLayered(after) ? before : after)?.modulesContent.$edgeAgent["properties.desired"];
        for (const system of Object.keys(complete?.systemModules ?? {})) {
            delete oldModules[system];
            delete newModules[system];
        }
        changes.push(
            `runtime (system modules, edgeHub settings): ${isLayered(after) ? "left to the base deployment" : "deployed by this stack"}`,
        );
    }
    for (const name of union(Object.keys(oldModules), Object.keys(newModules))) {
        const [was, now] = [oldModules[name], newModules[name]];
        if (!was) changes.push(`module ${name}: added (image ${now.image})`);
        else if (!now) changes.push(`module ${name}: removed`);
        else {
            for (const field of ["image", "status", "restartPolicy", "createOptions"] as const) {
                if (was[field] !== now[field]) changes.push(`module ${name}: ${field} ${show(was[field])} -> ${show(now[field])}`);
            }
            for (const key of union(Object.keys(was.env ?? {}), Object.keys(now.env ?? {}))) {
                const [a, b] = [was.env?.[key]?.value, now.env?.[key]?.value];
                if (JSON.stringify(a) !== JSON.stringify(b)) changes.push(`module ${name}: env ${key} ${show(a)} -> ${show(b)}`);
            }
        }
    }
    const [oldRoutes, newRoutes] = [routesOf(before), routesOf(after)];
    for (const name of union(Object.keys(oldRoutes), Object.keys(newRoutes))) {
        if (oldRoutes[name] !== newRoutes[name]) changes.push(`route ${name}: ${show(oldRoutes[name])} -> ${show(newRoutes[name])}`);
    }
    const rest = (content: DeploymentContent | undefined) => JSON.stringify(withoutModulesAndRoutes(expandLayer(content)));
    if (!flip && rest(before) !== rest(after))
        changes.push("other desired properties (runtime, registry credentials, store and forward, module twins)");
    return changes;
}

function withoutModulesAndRoutes(content: DeploymentManifest | undefined): unknown {
    if (!content) return undefined;
    const copy = JSON.parse(JSON.stringify(content));
    const agent = copy.modulesContent?.$edgeAgent?.["properties.desired"];
    if (agent) {
        delete agent.modules;
        delete agent.systemModules;
    }
    delete copy.modulesContent?.$edgeHub?.["properties.desired"]?.routes;
    return copy;
}

function union(a: string[], b: string[]): string[] {
    return [...new Set([...a, ...b])].sort();
}

function show(value: unknown): string {
    if (value === undefined) return "(none)";
    const text = typeof value === "string" ? value : JSON.stringify(value);
    return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/** The image a manifest (or a hub configuration's content) runs in `moduleName`, if it has that module. */
export function moduleImage(content: DeploymentContent | undefined, moduleName: string): string | undefined {
    return modulesOf(content)[moduleName]?.image;
}
