// `docker build` of a scoring context with either builder, and the staged bring-your-own context: scoring/ with a
// registered model's file downloaded into it from a blob service (Azurite, as the offline engine runs it), as
// `pulumi up` stages it for `existingModel`.
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { stageBuildContext } from "../../components/image";
import { MODEL_FILE_IN_CONTEXT } from "../../components/config";
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

/**
 * scoring/ staged into `destination` with a registered model's model.json (a valid tree with other bytes than the
 * local file) downloaded with a read-only SAS from Azurite; returns the model's sha256.
 */
export async function stageRegisteredModelContext(
    scoringDir: string,
    destination: string,
    version: string,
): Promise<{ modelSha256: string }> {
    const local = fs.readFileSync(path.join(scoringDir, MODEL_FILE_IN_CONTEXT), "utf8");
    const registered = Buffer.from(local.replace(/"trainingRows": \d+/, '"trainingRows": 4242'));
    const blobName = `edgeml/models/temperature-anomaly/${version}/model.json`;
    const storage = await startAzurite();
    try {
        await storage.putBlob("azureml-blobstore-image-test", blobName, registered);
        const sasToken = storage.containerSas("azureml-blobstore-image-test", {
            permissions: "r",
            expiry: new Date(Date.now() + 3600_000),
        });
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
