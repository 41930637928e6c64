// edgeml:image: the scoring module's Docker image, tagged by a hash of its build context; for a model registered
// elsewhere, the context is staged with that model's file downloaded into it.
export { DOCKER_IMAGE_TYPE, imageTag, imageTagOf, SCORING_RUNTIME_DIR, ScoringImage } from "./scoringImage";
export type { ScoringImageArgs } from "./scoringImage";
export { hashBuildContext, listFiles, readDockerignore } from "./buildContext";
export { blobUrl, stageBuildContext } from "./stagedContext";
export { localModelFiles, MODEL_DIR_IN_CONTEXT, moduleContextFiles, writeStagedContext } from "./moduleContext";
export type { ModuleSources, StagedFiles } from "./moduleContext";
export type { StagedModel, StageOptions } from "./stagedContext";
export { parseModelUri } from "./modelUri";
export type { ModelLocation } from "./modelUri";
