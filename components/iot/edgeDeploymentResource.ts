import * as pulumi from "@pulumi/pulumi";
import { EdgeDeploymentInputs, EdgeDeploymentProvider } from "./edgeDeploymentProvider";
import type { ResourceInputs } from "../shared/project";

/** The provider's inputs, each of which may still be an output of another resource. */
export type EdgeDeploymentResourceArgs = Omit<ResourceInputs<EdgeDeploymentInputs>, "content"> & {
    content: pulumi.Input<EdgeDeploymentInputs["content"]>;
};

// One provider instance per program run, so Pulumi serializes its code once.
const provider = new EdgeDeploymentProvider();

/** The deployment as IoT Hub holds it: per-device content or an at-scale configuration. */
export class EdgeDeploymentResource extends pulumi.dynamic.Resource {
    declare public readonly configurationId: pulumi.Output<string>;
    declare public readonly contentHash: pulumi.Output<string>;
    /** Fleet mode with a canary stage: the canary configuration's id, else "". */
    declare public readonly canaryConfigurationId: pulumi.Output<string>;
    declare public readonly appliedVersions: pulumi.Output<Record<string, number>>;

    constructor(name: string, args: EdgeDeploymentResourceArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            provider,
            name,
            {
                ...args,
                hostName: undefined,
                configurationId: undefined,
                canaryConfigurationId: undefined,
                contentHash: undefined,
                appliedVersions: undefined,
            },
            { ...opts, additionalSecretOutputs: ["registryPassword", "serviceConnectionString"] },
            "iot",
            "EdgeDeployment",
        );
    }
}
