// What every area uses: the project's names and type tokens, the error types, Azure ids and type tables, the
// redaction marker, the retry and its clock, atomic files, and the stack's resource group.
export * from "./errors";
export * from "./project";
export * from "./redact";
export * from "./azure";
export * from "./retry";
export * from "./unknown";
export { writeFileAtomically } from "./atomicFile";
export { stackResourceGroup } from "./resourceGroup";
export type { StackResourceGroup } from "./resourceGroup";
