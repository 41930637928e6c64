// edgeml:registry: the container registry that the image is pushed to (admin user) and the devices pull from (a
// pull-only token whose password the dynamic providers behind TokenPassword generate and revoke).
export { ContainerRegistry } from "./containerRegistry";
export type { ContainerRegistryArgs } from "./containerRegistry";
export { pullActions, RegistryPullToken } from "./pullToken";
export type { RegistryPullTokenArgs } from "./pullToken";
export {
    PASSWORD_NAMES,
    TOKEN_PASSWORD_REVOCATION_TYPE,
    TOKEN_PASSWORD_TYPE,
    TokenPasswordProvider,
    TokenPasswordRevocationProvider,
} from "./tokenPasswordProvider";
export type {
    PasswordName,
    TokenPasswordInputs,
    TokenPasswordOutputs,
    TokenPasswordRevocationInputs,
    TokenPasswordRevocationOutputs,
} from "./tokenPasswordProvider";
export { ARM_ENDPOINT, ARM_RETRY_RULES, ArmError, TOKENS_API_VERSION } from "./armRequest";
export type { ArmFetch } from "./armRequest";
