import * as pulumi from "@pulumi/pulumi";
import type { DeploymentManifest } from "./manifest";
import { DeploymentMode, EdgeDeploymentProvider } from "./edgeDeploymentProvider";
import type { VerifySettings } from "./rollout";

export interface EdgeDeploymentResourceArgs {
    serviceConnectionString: pulumi.Input<string>;
    registryPassword: pulumi.Input<string>;
    mode: DeploymentMode;
    name: string;
    content: pulumi.Input<DeploymentManifest>;
    deviceIds: pulumi.Input<pulumi.Input<string>[]>;
    targetCondition: string;
    priority: number;
    labels: Record<string, string>;
    metrics: Record<string, string>;
    verify: pulumi.Input<VerifySettings>;
    concurrency: number;
}

// One provider instance per program run, so Pulumi serializes its code once.
const provider = new EdgeDeploymentProvider();

/** The deployment as IoT Hub holds it: per-device content or an at-scale configuration. */
export class EdgeDeploymentResource extends pulumi.dynamic.Resource {
    declare public readonly configurationId: pulumi.Output<string>;
    declare public readonly contentHash: pulumi.Output<string>;
    declare public readonly appliedVersions: pulumi.Output<Record<string, number>>;

    constructor(name: string, args: EdgeDeploymentResourceArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            provider,
            name,
            { ...args, hostName: undefined, configurationId: undefined, contentHash: undefined, appliedVersions: undefined },
            { ...opts, additionalSecretOutputs: ["registryPassword", "serviceConnectionString"] },
            "iot",
            "EdgeDeployment",
        );
    }
}
