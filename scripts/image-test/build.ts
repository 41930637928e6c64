// `docker build` of a scoring context with either builder, and the staged bring-your-own context: the module's
// runtime, user folder and requirements with a registered model (a file or a folder) downloaded into it from a blob
// service (Azurite, as the offline engine runs it), as `pulumi up` stages it for `existingModel`.
import * as fs from "fs";
import * as path from "path";
import { describeModelPath } from "../../components/config";
import { localModelFiles, MODEL_DIR_IN_CONTEXT, ModuleSources, stageBuildContext } from "../../components/image";
import { startAzurite } from "../../offline/azurite";
import { mustRun } from "./host";

export type Builder = "buildkit" | "classic";

export async function dockerBuild(options: {
    cli: string;
    cliEnv: NodeJS.ProcessEnv;
    builder: Builder;
    context: string;
    tag: string;
    platform: string;
    buildArgs: Record<string, string>;
    logFile: string;
}): Promise<void> {
    const args = ["build", "--platform", options.platform, "--tag", options.tag, "--file", path.join(options.context, "Dockerfile")];
    for (const [name, value] of Object.entries(options.buildArgs)) args.push("--build-arg", `${name}=${value}`);
    if (options.builder === "buildkit") args.push("--progress=plain");
    args.push(options.context);
    const env = { ...options.cliEnv, DOCKER_BUILDKIT: options.builder === "buildkit" ? "1" : "0" };
    fs.appendFileSync(options.logFile, `\n$ DOCKER_BUILDKIT=${env.DOCKER_BUILDKIT} ${options.cli} ${args.join(" ")}\n`);
    await mustRun(options.cli, args, { env, logFile: options.logFile });
}

/** What stageRegisteredModelContext staged. */
export interface StagedRegisteredModel {
    /** sha256 of the model as uploaded, as its registration records it (describeModelPath: a file's or a folder's). */
    modelSha256: string;
    /** Where the model lies in the staged context: model/<file name> or model/<folder name>. */
    modelInContext: string;
    /** The staged folder, its content hash and files, as stageBuildContext returns them. */
    destination: string;
    sha256: string;
    files: string[];
}

/**
 * The module (`sources`: runtime, user folder, requirements) staged into `destination` with a registered model
 * downloaded from Azurite: every file of `model` (a file or a folder) is uploaded under
 * edgeml/models/<name>/<version>/<basename>[/...], registered by that path, and downloaded with a read-and-list
 * container SAS, as `pulumi up` stages it for `existingModel`.
 */
export async function stageRegisteredModelContext(
    sources: ModuleSources,
    model: string,
    destination: string,
    version: string,
    name: string,
): Promise<StagedRegisteredModel> {
    const container = "azureml-blobstore-image-test";
    const local = localModelFiles(path.resolve(model));
    const modelInContext = `${MODEL_DIR_IN_CONTEXT}/${path.basename(path.resolve(model))}`;
    const blobPath = `edgeml/models/${name}/${version}/${path.basename(path.resolve(model))}`;
    const storage = await startAzurite();
    let staged: { sha256: string; files: string[] };
    try {
        for (const [file, { content }] of local)
            await storage.putBlob(container, `${blobPath}${file.slice(modelInContext.length)}`, content);
        const sasToken = storage.containerSas(container, { permissions: "rl", expiry: new Date(Date.now() + 3600_000) });
        staged = await stageBuildContext({
            sources,
            destination,
            model: { name, version, blobEndpoint: storage.endpoint, containerName: container, path: blobPath, sasToken },
        });
    } finally {
        await storage.stop();
    }
    // The staged model must be what was uploaded, file for file.
    const stagedModel = staged.files.filter((f) => f === modelInContext || f.startsWith(`${modelInContext}/`));
    const mismatch = [...new Set([...local.keys(), ...stagedModel])].find(
        (f) => !local.has(f) || !stagedModel.includes(f) || !fs.readFileSync(path.join(destination, f)).equals(local.get(f)!.content),
    );
    if (mismatch) throw new Error(`staged ${destination}/${mismatch} is not the uploaded model's file`);

    return { modelSha256: describeModelPath(path.resolve(model)).sha256, modelInContext, destination, ...staged };
}
