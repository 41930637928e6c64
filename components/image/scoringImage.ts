import { createHash } from "crypto";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import { hashBuildContext } from "./buildContext";
import { MODEL_FILE_IN_CONTEXT } from "../config";
import { componentType } from "../shared";
import { ModelBlobArgs, registeredModelBlob } from "./registeredModelBlob";
import { stageBuildContext } from "./stagedContext";

export interface ScoringImageArgs {
    /** The scoring module folder (score.py, myenv.yml, Dockerfile, the model), relative to projectDir. */
    context: string;
    /** Where `pulumi` runs; relative paths keep the resource's inputs identical on every checkout. */
    projectDir: string;
    /** Registry host, from ContainerRegistry, so nothing is typed by hand. */
    loginServer: pulumi.Input<string>;
    /** Registry admin user, from ContainerRegistry. */
    registryUsername: pulumi.Input<string>;
    /** Registry admin password (secret), from ContainerRegistry. */
    registryPassword: pulumi.Input<string>;
    /** Repository inside the registry. */
    repository: string;
    /** Platform of the edge devices (linux/amd64, linux/arm64, ...). */
    platform: string;
    /** Base image, overridable for mirrors and pinned digests. */
    baseImage: string;
    /** Registered model the image carries, recorded as a label and an environment variable. */
    modelName: pulumi.Input<string>;
    /** Registered version the image carries (known only after reading `name@latest`); part of the tag. */
    modelVersion: pulumi.Input<string>;
    /** sha256 of the model file, recorded as the label edgeml.model.sha256 beside name and version. */
    modelSha256: pulumi.Input<string>;
    /**
     * A model registered elsewhere (a training run's) to carry instead of the context's own model file: the
     * context is staged into `stagingDir` (relative to projectDir) with that model's file downloaded into it.
     */
    registeredModel?: ModelBlobArgs & { stagingDir: string };
}

/**
 * The scoring module's Docker image, built from scoring/ and pushed to the stack's registry. The tag is a hash
 * of the build context (which holds the model), the platform and the build arguments, so an unchanged context
 * neither rebuilds nor redeploys; `imageRef` pins the pushed image by digest.
 */
export class ScoringImage extends pulumi.ComponentResource {
    public readonly imageName: pulumi.Output<string>;
    public readonly imageRef: pulumi.Output<string>;
    public readonly tag: pulumi.Output<string>;

    constructor(name: string, args: ScoringImageArgs, opts?: pulumi.ComponentResourceOptions) {
        super(componentType("image", "ScoringImage"), name, {}, opts);

        const buildArgs = pulumi.output({
            BASE_IMAGE: args.baseImage,
            MODEL_NAME: args.modelName,
            MODEL_VERSION: args.modelVersion,
            MODEL_SHA256: args.modelSha256,
        });
        const { context, contextHash } = args.registeredModel ? this.stage(args, args.registeredModel) : localContext(args);
        this.tag = pulumi
            .all([contextHash, buildArgs])
            .apply(([hash, shaping]) => tagFromHash(hash, { platform: args.platform, ...shaping }));
        this.imageName = pulumi.interpolate`${args.loginServer}/${args.repository}:${this.tag}`;
        const image = new docker.Image(
            `${name}-image`,
            {
                imageName: this.imageName,
                build: {
                    context,
                    dockerfile: pulumi.output(context).apply((folder) => path.posix.join(folder, "Dockerfile")),
                    platform: args.platform,
                    args: buildArgs,
                },
                registry: { server: args.loginServer, username: args.registryUsername, password: args.registryPassword },
            },
            { parent: this },
        );
        this.imageRef = image.repoDigest;
        this.registerOutputs({ imageName: this.imageName, imageRef: this.imageRef });
    }

    /** Copies the context with the registered model's file in it; the build waits for the copy. */
    private stage(args: ScoringImageArgs, registered: ModelBlobArgs & { stagingDir: string }): BuildContext {
        const blob = registeredModelBlob(registered, this);
        const staged = pulumi.all([blob, args.modelName, args.modelVersion]).apply(([source, modelName, version]) =>
            stageBuildContext({
                context: path.resolve(args.projectDir, args.context),
                destination: path.resolve(args.projectDir, registered.stagingDir),
                modelFile: MODEL_FILE_IN_CONTEXT,
                model: { ...source, name: modelName, version },
            }),
        );
        // The SAS made the staging result secret; its hash and folder are not, and the tag must stay readable.
        return {
            context: pulumi.unsecret(staged.apply(() => registered.stagingDir.split(path.sep).join("/"))),
            contextHash: pulumi.unsecret(staged.apply((result) => result.sha256)),
        };
    }
}

interface BuildContext {
    /** Relative to the project folder, so the image's inputs are the same on every checkout. */
    context: pulumi.Input<string>;
    contextHash: pulumi.Input<string>;
}

function localContext(args: ScoringImageArgs): BuildContext {
    return { context: args.context, contextHash: hashBuildContext(path.resolve(args.projectDir, args.context)) };
}

/** 16 hex digits of the context hash mixed with what else shapes the image. */
export function imageTag(context: string, shaping: Record<string, string>): string {
    return tagFromHash(hashBuildContext(context), shaping);
}

/** The tag of repository:tag (a colon after the last slash; a registry's :port comes before it), as plans record it. */
export function imageTagOf(imageName: unknown): string | undefined {
    if (typeof imageName !== "string") return undefined;
    const last = imageName.slice(imageName.lastIndexOf("/") + 1);
    return last.includes(":") ? last.slice(last.indexOf(":") + 1) : undefined;
}

/** The docker provider's Image type token, as in URNs and plans. */
export const DOCKER_IMAGE_TYPE = "docker:index/image:Image";

function tagFromHash(contextHash: string, shaping: Record<string, string>): string {
    return createHash("sha256").update(contextHash).update(JSON.stringify(shaping)).digest("hex").slice(0, 16);
}
