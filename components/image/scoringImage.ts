import { createHash } from "crypto";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import type { ScoringModule } from "../config";
import { hashBuildContext } from "./buildContext";
import { componentType } from "../shared";
import { localModelFiles, moduleContextFiles, ModuleSources, writeStagedContext } from "./moduleContext";
import { ModelBlobArgs, registeredModelBlob } from "./registeredModelBlob";
import { stageBuildContext } from "./stagedContext";

/** edgeml's serving runtime, relative to the project folder: its Dockerfile builds every module edgeml stages. */
export const SCORING_RUNTIME_DIR = "scoring/runtime";

export interface ScoringImageArgs {
    /** The user's module (folder, entry script, converted requirements, own Dockerfile or not), from the config. */
    module: ScoringModule;
    /** The local model file or folder (relative to projectDir); unused when `registeredModel` is given. */
    modelPath?: string;
    /** Where the build context is staged, relative to projectDir (out/<stack>/scoring-context). */
    stagingDir: string;
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
    /** sha256 of the model, recorded as the label edgeml.model.sha256 beside name and version. */
    modelSha256: pulumi.Input<string>;
    /** A model registered elsewhere (a training run's) to carry instead of a local one, downloaded into the staging. */
    registeredModel?: ModelBlobArgs;
}

/**
 * The scoring module's Docker image: edgeml's runtime, the user's folder, their requirements and the model, staged
 * into one build context and pushed to the stack's registry. The tag is a hash of that context (all three), the
 * platform and the build arguments, so an unchanged module neither rebuilds nor redeploys; `imageRef` pins the
 * pushed image by digest.
 */
export class ScoringImage extends pulumi.ComponentResource {
    public readonly imageName: pulumi.Output<string>;
    public readonly imageRef: pulumi.Output<string>;
    public readonly tag: pulumi.Output<string>;

    constructor(name: string, args: ScoringImageArgs, opts?: pulumi.ComponentResourceOptions) {
        super(componentType("image", "ScoringImage"), name, {}, opts);

        const buildArgs = pulumi.output({
            // Empty only for a folder with its own Dockerfile and no scoringBaseImage: passed empty, the argument
            // would override the Dockerfile's own ARG default and leave FROM nothing.
            ...(args.baseImage ? { BASE_IMAGE: args.baseImage } : {}),
            MODEL_NAME: args.modelName,
            MODEL_VERSION: args.modelVersion,
            MODEL_SHA256: args.modelSha256,
            ENTRY_SCRIPT: args.module.entryScript,
        });
        const { context, contextHash } = args.module.ownDockerfile
            ? ownContext(args)
            : args.registeredModel
              ? this.stageRegistered(args, args.registeredModel)
              : stageLocal(args);
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

    /** Stages the module with the registered model's files downloaded into it; the build waits for the staging. */
    private stageRegistered(args: ScoringImageArgs, registered: ModelBlobArgs): BuildContext {
        const blob = registeredModelBlob(registered, this);
        const staged = pulumi.all([blob, args.modelName, args.modelVersion]).apply(([source, modelName, version]) =>
            stageBuildContext({
                sources: moduleSources(args),
                destination: path.resolve(args.projectDir, args.stagingDir),
                model: { ...source, name: modelName, version },
            }),
        );
        // The SAS made the staging result secret; its hash and folder are not, and the tag must stay readable.
        return {
            context: pulumi.unsecret(staged.apply(() => posix(args.stagingDir))),
            contextHash: pulumi.unsecret(staged.apply((result) => result.sha256)),
        };
    }
}

interface BuildContext {
    /** Relative to the project folder, so the image's inputs are the same on every checkout. */
    context: pulumi.Input<string>;
    contextHash: pulumi.Input<string>;
}

function moduleSources(args: ScoringImageArgs): ModuleSources {
    const absolute = (p: string) => path.resolve(args.projectDir, p);
    return {
        runtimeDir: absolute(SCORING_RUNTIME_DIR),
        appDir: absolute(args.module.dir),
        modelPath: args.modelPath === undefined ? undefined : absolute(args.modelPath),
        requirements: args.module.environment.requirements,
    };
}

/** The local model is staged now, at preview too: copying runs no user code, and the tag needs the hash. */
function stageLocal(args: ScoringImageArgs): BuildContext {
    if (args.modelPath === undefined) throw new pulumi.RunError("ScoringImage: a local model needs modelPath");
    const sources = moduleSources(args);
    const files = moduleContextFiles(sources, localModelFiles(sources.modelPath!));
    const staged = writeStagedContext(path.resolve(args.projectDir, args.stagingDir), files, [
        sources.runtimeDir,
        sources.appDir,
        sources.modelPath!,
    ]);
    return { context: posix(args.stagingDir), contextHash: staged.sha256 };
}

/** The user's own Dockerfile builds their folder as it is (iotedgedev users keep theirs). */
function ownContext(args: ScoringImageArgs): BuildContext {
    return { context: posix(args.module.dir), contextHash: hashBuildContext(path.resolve(args.projectDir, args.module.dir)) };
}

function posix(relative: string): string {
    return relative.split(path.sep).join("/");
}

/** 16 hex digits of the (staged) context's hash mixed with what else shapes the image, as ScoringImage tags it. */
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
