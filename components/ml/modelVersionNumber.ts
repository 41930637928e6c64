import * as pulumi from "@pulumi/pulumi";
import type { ResourceInputs } from "../shared";
import { ModelVersionNumberInputs, ModelVersionNumberProvider } from "./modelVersionNumberProvider";

// One provider instance per program run, so Pulumi serializes its code once.
const provider = new ModelVersionNumberProvider();

/** The next whole-number version of a model when its file changes, and the same one while it does not. */
export class ModelVersionNumber extends pulumi.dynamic.Resource {
    declare public readonly version: pulumi.Output<string>;

    constructor(name: string, args: ResourceInputs<ModelVersionNumberInputs>, opts?: pulumi.CustomResourceOptions) {
        super(provider, name, { ...args, version: undefined }, opts, "ml", "ModelVersionNumber");
    }
}
