import * as pulumi from "@pulumi/pulumi";
import type { ResourceInputs } from "../shared/project";
import { EnrollmentGroupInputs, EnrollmentGroupProvider } from "./enrollmentGroupProvider";

/** The provider's inputs (service connection string, group id, hub, tags, IoT Edge, key rotation, optional keys), each possibly another's output. */
export type EnrollmentGroupArgs = ResourceInputs<EnrollmentGroupInputs>;

// One provider instance per program run, so Pulumi serializes its code once.
const provider = new EnrollmentGroupProvider();

/** A symmetric-key enrollment group of the Device Provisioning Service: devices deriving their key from it register themselves. */
export class EnrollmentGroup extends pulumi.dynamic.Resource {
    declare public readonly enrollmentGroupId: pulumi.Output<string>;
    declare public readonly dpsHostName: pulumi.Output<string>;
    declare public readonly iotHubHostName: pulumi.Output<string>;
    declare public readonly tags: pulumi.Output<Record<string, string>>;
    /** The key devices derive theirs from; secret (the engine encrypts it in state and in outputs). */
    declare public readonly primaryKey: pulumi.Output<string>;
    /** The spare slot's key, which no device is given; secret. */
    declare public readonly secondaryKey: pulumi.Output<string>;
    declare public readonly keyRotation: pulumi.Output<number>;
    declare public readonly etag: pulumi.Output<string>;

    constructor(name: string, args: EnrollmentGroupArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            provider,
            name,
            {
                ...args,
                // Outputs unless given.
                primaryKey: args.primaryKey,
                secondaryKey: args.secondaryKey,
                dpsHostName: undefined,
                keysGiven: undefined,
                etag: undefined,
                provisioningStatus: undefined,
            },
            { ...opts, additionalSecretOutputs: ["primaryKey", "secondaryKey", "serviceConnectionString"] },
            "dps",
            "EnrollmentGroup",
        );
    }
}
