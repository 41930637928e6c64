// edgeml:ml: the Azure Machine Learning workspace and the model's registration in it.
export { MlWorkspace } from "./mlWorkspace";
export type { MlWorkspaceArgs } from "./mlWorkspace";
export { DEFAULT_DATASTORE, LATEST, ModelRegistration } from "./modelRegistration";
export type { ModelRegistrationArgs } from "./modelRegistration";
export { blobDatastore } from "./datastore";
export type { BlobDatastore } from "./datastore";
