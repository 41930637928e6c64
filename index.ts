// Reads the stack configuration, composes the components and exports the stack outputs; nothing else.
import { loadConfig } from "./components/config";
import { ScoringImage } from "./components/image";
import { EdgeDeployment, IotHub } from "./components/iot";
import { MlWorkspace, ModelRegistration } from "./components/ml";
import { ContainerRegistry, RegistryPullToken } from "./components/registry";
import { deployingClient, stackResourceGroup } from "./components/shared";

const config = loadConfig();
const stateful = { protect: config.protect };
const client = deployingClient();
const group = stackResourceGroup(config, client.subscriptionId, stateful);
const placement = { resourceGroupName: group.name, location: config.location, tags: config.tags };

// Each of registry, hub and workspace is created, or read when the stack names an existing one; either way
// they expose the same outputs, so nothing below depends on which.
const registry = new ContainerRegistry(
    "registry",
    { ...placement, registry: config.registry, subscriptionId: client.subscriptionId },
    stateful,
);
// Devices pull with a token that may only read the scoring repository; the admin user is for the image's push.
const pullToken = new RegistryPullToken("registry-pull", {
    registryName: registry.registryName,
    resourceGroupName: registry.resourceGroupName,
    repository: config.image.repository,
    token: config.pullToken,
});
const hub = new IotHub(
    "hub",
    {
        ...placement,
        hub: config.iotHub,
        subscriptionId: client.subscriptionId,
        edgeDevices: config.edgeDevices,
        deviceTags: config.deviceTags,
        edgeRuntimeVersion: config.deployment.manifest.edgeRuntimeVersion,
    },
    stateful,
);
const ml = new MlWorkspace("ml", { ...placement, workspace: config.workspace, containerRegistryId: registry.registryId, client }, stateful);

const model = new ModelRegistration(
    "model",
    { subscriptionId: ml.subscriptionId, resourceGroupName: ml.resourceGroupName, workspaceName: ml.workspaceName, model: config.model },
    stateful,
);
const image = new ScoringImage("scoring", {
    context: config.image.context,
    projectDir: config.projectDir,
    loginServer: registry.loginServer,
    registryUsername: registry.adminUsername,
    registryPassword: registry.adminPassword,
    repository: config.image.repository,
    platform: config.image.platform,
    baseImage: config.image.baseImage,
    modelName: model.modelName,
    modelVersion: model.modelVersion,
    modelSha256: model.modelSha256,
    // A model a training run registered is downloaded into a staged copy of the context under out/<stack>/.
    registeredModel: config.model.existing
        ? {
              modelUri: model.modelUri,
              resourceGroupName: ml.resourceGroupName,
              workspaceName: ml.workspaceName,
              stagingDir: `out/${config.stack}/scoring-context`,
          }
        : undefined,
});

const deployment = new EdgeDeployment("edge", {
    serviceConnectionString: hub.serviceConnectionString,
    registry: {
        name: registry.registryName,
        loginServer: registry.loginServer,
        username: pullToken.username,
        password: pullToken.password,
    },
    imageRef: image.imageRef,
    deviceIds: hub.devices.map((device) => device.deviceId),
    deployment: config.deployment,
    deploymentName: `${config.project}-${config.stack}`,
});
// A rotated password's predecessor is revoked once the devices report the manifest carrying the new one; without
// rollout verification it stays valid until the next rotation replaces it (README: "Registry credentials").
if (config.deployment.verify.enabled) pullToken.revokeOldPasswordAfter(deployment);

export const resourceGroupName = group.name;
export const registryLoginServer = registry.loginServer;
export const registryAdminUsername = registry.adminUsername;
export const registryAdminPassword = registry.adminPassword;
export const registryPullTokenName = pullToken.username;
export const iotHubName = hub.hubName;
export const iotHubHostName = hub.hostName;
export const iotHubServiceConnectionString = hub.serviceConnectionString;
export const edgeDeviceConnectionStrings = hub.deviceConnectionStrings;
export const edgeDeviceConfigTomls = hub.deviceConfigTomls;
export const workspaceName = ml.workspaceName;
export const workspaceStorageAccount = ml.storageAccountName;
export const modelName = model.modelName;
export const modelVersion = model.modelVersion;
export const modelUri = model.modelUri;
export const scoringImageRef = image.imageRef;
export const deploymentManifest = deployment.manifest;
export const deploymentConfigurationId = deployment.configurationId;
