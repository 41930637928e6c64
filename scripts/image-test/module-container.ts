// What edgeAgent does with a module of the deployment manifest, against a Docker Engine: pull its image with the
// registryCredentials entry whose address the image is on, then create the container from the module's
// createOptions (chunks createOptions, createOptions01, ... joined: the Engine API's container-create body) merged
// with the image, the module's env and its name, and start it. edgeAgent also adds its labels, the IOTEDGE_*
// variables and the azure-iot-edge network; the image test leaves those out (no edgeHub runs), so the module's
// container is on the engine's default bridge and its IoT Edge client is not started.
import { DeploymentManifest, EdgeModule, joinCreateOptions } from "../../components/iot/manifest";
import { Engine, EngineError } from "./engine";

export interface ContainerCreateRequest {
    name: string;
    body: Record<string, unknown> & { Image: string; Env: string[] };
}

function moduleOf(manifest: DeploymentManifest, moduleName: string): EdgeModule {
    const module = manifest.modulesContent.$edgeAgent["properties.desired"].modules[moduleName];
    if (!module) throw new Error(`the manifest has no module ${moduleName}`);
    return module;
}

/** The container-create request edgeAgent makes for `moduleName`: createOptions + Image + Env, named after the module. */
export function containerCreateRequest(manifest: DeploymentManifest, moduleName: string): ContainerCreateRequest {
    const module = moduleOf(manifest, moduleName);
    const text = joinCreateOptions(module.settings);
    const options = text ? (JSON.parse(text) as unknown) : {};
    if (typeof options !== "object" || options === null || Array.isArray(options))
        throw new Error(`module ${moduleName}: createOptions is not a JSON object`);
    const createOptions = options as Record<string, unknown>;
    const moduleEnv = Object.entries(module.env ?? {}).map(([name, { value }]) => `${name}=${String(value)}`);
    const names = new Set(Object.keys(module.env ?? {}));
    // The module's env wins over a variable of the same name in createOptions.Env.
    const optionsEnv = Array.isArray(createOptions.Env)
        ? (createOptions.Env as string[]).filter((entry) => !names.has(String(entry).split("=")[0]))
        : [];
    return { name: moduleName, body: { ...createOptions, Image: module.settings.image, Env: [...optionsEnv, ...moduleEnv] } };
}

/** The registryCredentials entry for an image: the one whose address is the image's registry host. */
export function registryAuthFor(
    manifest: DeploymentManifest,
    image: string,
): { username: string; password: string; serveraddress: string } | undefined {
    const credentials = manifest.modulesContent.$edgeAgent["properties.desired"].runtime.settings.registryCredentials ?? {};
    const host = image.split("/")[0];
    const match = Object.values(credentials).find((credential) => credential.address === host);
    return match && { username: match.username, password: match.password, serveraddress: match.address };
}

/** Docker's X-Registry-Auth header: the auth config JSON in base64 with the URL alphabet, padded (Go's base64.URLEncoding). */
export function registryAuthHeader(auth: { username: string; password: string; serveraddress: string }): string {
    return Buffer.from(JSON.stringify(auth)).toString("base64").replace(/\+/g, "-").replace(/\//g, "_");
}

/** Pulls the module's image by its digest with the manifest's credentials for its registry. */
export async function pullModuleImage(engine: Engine, manifest: DeploymentManifest, moduleName: string): Promise<string> {
    const image = moduleOf(manifest, moduleName).settings.image;
    const at = image.indexOf("@");
    if (at < 0) throw new Error(`module ${moduleName}: image ${image} is not pinned by digest`);
    const auth = registryAuthFor(manifest, image);
    if (!auth) throw new Error(`module ${moduleName}: no registryCredentials entry for ${image.split("/")[0]}`);
    const query = `fromImage=${encodeURIComponent(image.slice(0, at))}&tag=${encodeURIComponent(image.slice(at + 1))}`;
    const messages = await engine.stream("POST", `/images/create?${query}`, { "X-Registry-Auth": registryAuthHeader(auth) });
    const status = messages.map((message) => message.status).filter(Boolean);
    return String(status[status.length - 1] ?? "pulled");
}

/** Creates (not starts) the module's container; Docker's refusal of the createOptions is thrown with Docker's message. */
export async function createModuleContainer(engine: Engine, manifest: DeploymentManifest, moduleName: string): Promise<string> {
    const request = containerCreateRequest(manifest, moduleName);
    try {
        const created = await engine.json<{ Id: string }>(
            "POST",
            `/containers/create?name=${encodeURIComponent(request.name)}`,
            request.body,
        );
        return created.Id;
    } catch (error) {
        if (error instanceof EngineError)
            throw new Error(`Docker refused module ${moduleName}'s createOptions (${error.status}): ${error.dockerMessage}`, {
                cause: error,
            });
        throw error;
    }
}
