import * as pulumi from "@pulumi/pulumi";
import type { DeploymentConfig } from "../config";
import { componentType, SECRET_MARKER } from "../shared";
import { type DeploymentContent, assertValidManifest, buildManifest, layerOf } from "./manifest";
import { EdgeDeploymentResource } from "./edgeDeploymentResource";

export interface EdgeDeploymentArgs {
    /** Hub service connection string (secret), from IotHub. */
    serviceConnectionString: pulumi.Input<string>;
    /** Registry the devices pull from (ContainerRegistry) and its pull-only credential (RegistryPullToken); the password is a secret. */
    registry: {
        name: pulumi.Input<string>;
        loginServer: pulumi.Input<string>;
        username: pulumi.Input<string>;
        password: pulumi.Input<string>;
    };
    /** The scoring image pinned by digest, from ScoringImage. */
    imageRef: pulumi.Input<string>;
    /** Devices to apply to in device mode (their ids, and the identities must exist first). */
    deviceIds: pulumi.Input<string>[];
    /** Mode, manifest settings, fleet targeting and rollout verification, from the config loader. */
    deployment: DeploymentConfig;
    /** Base of the fleet configuration id; unique per stack. */
    deploymentName: string;
}

/**
 * The IoT Edge deployment of the scoring image: the manifest ($edgeAgent 1.1, $edgeHub 1.2, scoring module,
 * optional simulated sensor, routes) built from the other components' outputs, then applied per device or as an
 * at-scale deployment (complete, or its layer on top of a base deployment), optionally waiting for the devices to
 * report it running.
 */
export class EdgeDeployment extends pulumi.ComponentResource {
    /** The manifest (or layer) as applied, registry password replaced by a redaction marker: safe to show and review. */
    public readonly manifest: pulumi.Output<DeploymentContent>;
    public readonly configurationId: pulumi.Output<string>;
    public readonly contentHash: pulumi.Output<string>;

    constructor(name: string, args: EdgeDeploymentArgs, opts?: pulumi.ComponentResourceOptions) {
        super(componentType("iot", "EdgeDeployment"), name, {}, opts);
        const settings = args.deployment;
        // The password never enters the manifest here: the provider adds it when sending, from a secret input.
        this.manifest = pulumi
            .all([args.registry.name, args.registry.loginServer, args.registry.username, args.imageRef])
            .apply(([registryName, loginServer, username, image]) => {
                const input = {
                    ...settings.manifest,
                    registry: { name: registryName, loginServer, username, password: SECRET_MARKER },
                    scoring: { ...settings.manifest.scoring, image },
                };
                assertValidManifest(input);
                const manifest = buildManifest(input);
                return input.layered ? layerOf(manifest) : manifest;
            });
        const rollout = new EdgeDeploymentResource(
            `${name}-rollout`,
            {
                serviceConnectionString: args.serviceConnectionString,
                registryPassword: args.registry.password,
                mode: settings.mode,
                name: args.deploymentName,
                content: this.manifest,
                deviceIds: settings.mode === "device" ? args.deviceIds : [],
                targetCondition: settings.mode === "fleet" ? settings.targetCondition : "",
                priority: settings.priority,
                labels: settings.labels,
                metrics: settings.metrics,
                verify: pulumi
                    .output(args.imageRef)
                    .apply((image) => ({ ...settings.verify, moduleName: settings.manifest.scoring.name, image })),
                concurrency: settings.concurrency,
                rollbackOnFailure: settings.rollbackOnFailure,
                canary: settings.canary,
                deploymentLayer: settings.layer,
                basePriority: settings.basePriority,
                hubDeploymentLimit: settings.hubDeploymentLimit,
            },
            { parent: this },
        );
        this.configurationId = rollout.configurationId;
        this.contentHash = rollout.contentHash;
        this.registerOutputs({ manifest: this.manifest, configurationId: this.configurationId, contentHash: this.contentHash });
    }
}
