// Dynamic provider that numbers a model's registered versions. Azure ML takes only positive whole numbers as model
// versions and never changes a version's content, so a changed model file needs the next number, and an unchanged
// one must keep its number on every `pulumi up`. That number has to live somewhere between runs: Pulumi state is
// that place. (Reading the model container's latestVersion at preview instead fails on the first preview, when the
// container does not exist yet, and goes stale when state is not refreshed.) No Azure call is made here.
import type * as pulumi from "@pulumi/pulumi";
import { dynamicResourceType } from "../shared/project";
import { UNKNOWN_VALUE as UNKNOWN } from "../shared/unknown";

/** The URN type of the version number (registered by ModelVersionNumber as module "ml"). */
export const MODEL_VERSION_NUMBER_TYPE = dynamicResourceType("ml", "ModelVersionNumber");

export interface ModelVersionNumberInputs {
    /** The registered model's name: a new name is a new model, whose versions start again at 1. */
    modelName: string;
    /** sha256 of the model file: a new value is the next version. */
    sha256: string;
}

export interface ModelVersionNumberOutputs extends ModelVersionNumberInputs {
    /** The version, "1", "2", ...: a string, as Azure ML's ModelVersion takes it. */
    version: string;
}

export class ModelVersionNumberProvider implements pulumi.dynamic.ResourceProvider {
    async check(_olds: unknown, news: ModelVersionNumberInputs): Promise<pulumi.dynamic.CheckResult> {
        const failures: pulumi.dynamic.CheckFailure[] = [];
        if (news.sha256 !== UNKNOWN && !/^[0-9a-f]{64}$/.test(String(news.sha256)))
            failures.push({ property: "sha256", reason: "must be a sha256 in hex" });
        if (news.modelName !== UNKNOWN && !news.modelName) failures.push({ property: "modelName", reason: "must not be empty" });
        return { inputs: news, failures };
    }

    async create(inputs: ModelVersionNumberInputs): Promise<pulumi.dynamic.CreateResult> {
        return { id: `${inputs.modelName}:1`, outs: { ...inputs, version: "1" } satisfies ModelVersionNumberOutputs };
    }

    async diff(_id: string, olds: ModelVersionNumberOutputs, news: ModelVersionNumberInputs): Promise<pulumi.dynamic.DiffResult> {
        // Only a known new name replaces; an unknown one may still turn out the same.
        const replaces = news.modelName !== UNKNOWN && news.modelName !== olds.modelName ? ["modelName"] : [];
        const changes = replaces.length > 0 || news.sha256 !== olds.sha256 || news.modelName !== olds.modelName;
        return { changes, replaces, deleteBeforeReplace: false };
    }

    async update(_id: string, olds: ModelVersionNumberOutputs, news: ModelVersionNumberInputs): Promise<pulumi.dynamic.UpdateResult> {
        // diff reports a change only for new content (or a name, which replaces instead): the next number.
        return { outs: { ...news, version: String(Number(olds.version) + 1) } satisfies ModelVersionNumberOutputs };
    }
}
