// edgeml:image: the scoring module's Docker image, tagged by a hash of its build context; for a model registered
// elsewhere, the context is staged with that model's file downloaded into it.
export { DOCKER_IMAGE_TYPE, imageTag, imageTagOf, ScoringImage } from "./scoringImage";
export type { ScoringImageArgs } from "./scoringImage";
export { hashBuildContext, listFiles, readDockerignore } from "./buildContext";
export { blobUrl, MODEL_FORMAT, modelShapeProblem, stageBuildContext } from "./stagedContext";
export type { StagedModel, StageOptions } from "./stagedContext";
export { parseModelUri } from "./modelUri";
export type { ModelLocation } from "./modelUri";
