import * as pulumi from "@pulumi/pulumi";
import type { ResourceInputs } from "../shared";
import {
    TokenPasswordInputs,
    TokenPasswordProvider,
    TokenPasswordRevocationInputs,
    TokenPasswordRevocationProvider,
    type PasswordName,
} from "./tokenPasswordProvider";

// One provider instance each per program run, so Pulumi serializes their code once.
const passwordProvider = new TokenPasswordProvider();
const revocationProvider = new TokenPasswordRevocationProvider();

/** A registry token's password, generated once per rotation and kept (secret) in Pulumi state. */
export class TokenPassword extends pulumi.dynamic.Resource {
    declare public readonly username: pulumi.Output<string>;
    declare public readonly passwordName: pulumi.Output<PasswordName>;
    declare public readonly password: pulumi.Output<string>;
    declare public readonly creationTime: pulumi.Output<string>;

    constructor(name: string, args: ResourceInputs<TokenPasswordInputs>, opts?: pulumi.CustomResourceOptions) {
        super(
            passwordProvider,
            name,
            { ...args, username: undefined, passwordName: undefined, password: undefined, creationTime: undefined },
            { ...opts, additionalSecretOutputs: ["password"] },
            "registry",
            "TokenPassword",
        );
    }
}

/** Drops a registry token's passwords other than `keep`: to run once the devices use `keep`. */
export class TokenPasswordRevocation extends pulumi.dynamic.Resource {
    declare public readonly revoked: pulumi.Output<string[]>;

    constructor(name: string, args: ResourceInputs<TokenPasswordRevocationInputs>, opts?: pulumi.CustomResourceOptions) {
        super(revocationProvider, name, { ...args, revoked: undefined }, opts, "registry", "TokenPasswordRevocation");
    }
}
