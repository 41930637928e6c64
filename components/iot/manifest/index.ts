// The IoT Edge deployment manifest: pure functions from plain data to the JSON IoT Hub takes, plus the checks
// run before anything is sent and the redacted copy written for review.
export {
    buildManifest,
    EDGE_AGENT_SCHEMA_VERSION,
    EDGE_HUB_SCHEMA_VERSION,
    edgeAgentImage,
    LEAF_DEVICES_CONDITION,
    LEAF_DEVICES_ROUTE_NAME,
    SENSOR_ROUTE_NAME,
    UPSTREAM_ROUTE_NAME,
} from "./build";
export { parseRoute } from "./routes";
export { CREATE_OPTIONS_MAX_CHUNKS, createOptionsKey, joinCreateOptions, splitCreateOptions, TWIN_VALUE_MAX_BYTES } from "./createOptions";
export { imageReferenceProblem, isPinnedByDigest } from "./imageReference";
export { baseOnlyProblems, expandLayer, isLayered, layerOf, registryCredentialsOf } from "./layer";
export { formatProblem } from "./problems";
export type { ManifestProblem, ProblemKind } from "./problems";
export { redactManifest } from "./redact";
export { TWIN_DESIRED_MAX_BYTES, twinSize } from "./twinRules";
export { assertValidManifest, validateManifest } from "./validate";
export * from "./types";
