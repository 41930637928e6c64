import { createHash } from "crypto";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import { hashBuildContext } from "./buildContext";

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
        super("edgeml:image:ScoringImage", name, {}, opts);

        const buildArgs = pulumi.output({ BASE_IMAGE: args.baseImage, MODEL_NAME: args.modelName, MODEL_VERSION: args.modelVersion });
        const context = path.resolve(args.projectDir, args.context);
        this.tag = buildArgs.apply((shaping) => imageTag(context, { platform: args.platform, ...shaping }));
        this.imageName = pulumi.interpolate`${args.loginServer}/${args.repository}:${this.tag}`;
        const image = new docker.Image(
            `${name}-image`,
            {
                imageName: this.imageName,
                build: {
                    context: args.context,
                    dockerfile: path.posix.join(args.context, "Dockerfile"),
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
}

/** 16 hex digits of the context hash mixed with what else shapes the image. */
export function imageTag(context: string, shaping: Record<string, string>): string {
    return createHash("sha256").update(hashBuildContext(context)).update(JSON.stringify(shaping)).digest("hex").slice(0, 16);
}
