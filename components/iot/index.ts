// edgeml:iot: the IoT Hub, its IoT Edge device identities and the deployment of the scoring module to them; the
// dynamic providers over azure-iothub behind the last two, and the deployment manifest (./manifest).
export { IotHub } from "./iotHub";
export type { IotHubArgs } from "./iotHub";
export { EdgeDevice } from "./edgeDevice";
export type { EdgeDeviceArgs } from "./edgeDevice";
export { configToml, EDGE_DEVICE_TYPE, EdgeDeviceProvider } from "./edgeDeviceProvider";
export type { EdgeDeviceInputs, EdgeDeviceOutputs } from "./edgeDeviceProvider";
export { EdgeDeployment } from "./edgeDeployment";
export type { EdgeDeploymentArgs } from "./edgeDeployment";
export { EDGE_DEPLOYMENT_TYPE, EdgeDeploymentProvider } from "./edgeDeploymentProvider";
export { DEPLOYMENT_LAYERS, DEPLOYMENT_MODES, HUB_DEPLOYMENT_LIMITS } from "./edgeDeploymentTypes";
export type { CanarySettings, DeploymentLayer, DeploymentMode, EdgeDeploymentInputs, EdgeDeploymentOutputs } from "./edgeDeploymentTypes";
export { canaryConfigurationId, fleetConfigurationId, ROLLOUT_LABEL } from "./hubConfigurations";
export { describeDeploymentChanges, describeRolloutStages } from "./deploymentDescription";
export { contentHash, describeContentChanges, modulesOf, routesOf } from "./deploymentContent";
export { connectWithSdk, hostNameOf } from "./hubClient";
export type { RegistryFactory } from "./hubClient";
export { describeHubError, HUB_RETRY_RULES, statusOf, withHubRetry } from "./hubRetry";
export type { VerifySettings } from "./rollout";
