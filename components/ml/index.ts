// edgeml:ml: the Azure Machine Learning workspace and the model's registration in it.
export { MlWorkspace } from "./mlWorkspace";
export type { MlWorkspaceArgs } from "./mlWorkspace";
export { DEFAULT_DATASTORE, LATEST, ModelRegistration } from "./modelRegistration";
export type { ModelRegistrationArgs } from "./modelRegistration";
export { blobDatastore } from "./datastore";
export { MODEL_VERSION_NUMBER_TYPE, ModelVersionNumberProvider } from "./modelVersionNumberProvider";
export type { ModelVersionNumberInputs, ModelVersionNumberOutputs } from "./modelVersionNumberProvider";
export type { BlobDatastore } from "./datastore";
