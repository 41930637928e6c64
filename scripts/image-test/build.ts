// `docker build` of a scoring context with either builder, and the staged bring-your-own context: scoring/ with a
// registered model's file downloaded into it from a blob service (the offline blob emulator), as `pulumi up` stages
// it for `existingModel`.
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { stageBuildContext } from "../../components/image";
import { MODEL_FILE_IN_CONTEXT } from "../../components/config";
import { startBlobEmulator } from "../../offline/blob-emulator";
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

/**
 * scoring/ staged into `destination` with a registered model's model.json (a valid tree with other bytes than the
 * local file) downloaded over a SAS from the blob emulator; returns the model's sha256.
 */
export async function stageRegisteredModelContext(
    scoringDir: string,
    destination: string,
    version: string,
): Promise<{ modelSha256: string }> {
    const local = fs.readFileSync(path.join(scoringDir, MODEL_FILE_IN_CONTEXT), "utf8");
    const registered = Buffer.from(local.replace(/"trainingRows": \d+/, '"trainingRows": 4242'));
    const sasToken = "sv=2022-11-02&sr=c&sp=r&se=2030-01-01T00%3A00%3A00Z&spr=https&sig=image-test";
    const blobName = `edgeml/models/temperature-anomaly/${version}/model.json`;
    const storage = await startBlobEmulator({ blobs: { [`azureml-blobstore-image-test/${blobName}`]: registered }, sasToken });
    try {
        await stageBuildContext({
            context: scoringDir,
            destination,
            modelFile: MODEL_FILE_IN_CONTEXT,
            model: {
                name: "temperature-anomaly",
                version,
                blobEndpoint: storage.endpoint,
                containerName: "azureml-blobstore-image-test",
                path: blobName,
                sasToken,
            },
        });
    } finally {
        await storage.stop();
    }
    return { modelSha256: createHash("sha256").update(registered).digest("hex") };
}
