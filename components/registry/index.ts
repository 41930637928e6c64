// edgeml:registry: the container registry that the image is pushed to and the devices pull from.
export { ContainerRegistry } from "./containerRegistry";
export type { ContainerRegistryArgs } from "./containerRegistry";
