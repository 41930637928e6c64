// Reads the stack configuration, composes the components and exports the stack outputs; nothing else.
import { loadConfig } from "./components/config";
import { ContainerRegistry } from "./components/containerRegistry";
import { EdgeDeployment } from "./components/edgeDeployment";
import { IotHub } from "./components/iotHub";
import { MlWorkspace } from "./components/mlWorkspace";
import { ModelRegistration } from "./components/modelRegistration";
import { stackResourceGroup } from "./components/resourceGroup";
import { ScoringImage } from "./components/scoringImage";

const config = loadConfig();
const stateful = { protect: config.protect };
const group = stackResourceGroup(config, stateful);
const placement = { resourceGroupName: group.name, location: config.location, tags: config.tags };

const registry = new ContainerRegistry(
    "registry",
    { ...placement, registryName: config.registry.name, sku: config.registry.sku },
    stateful,
);
const hub = new IotHub(
    "hub",
    {
        ...placement,
        hubName: config.iotHub.name,
        sku: config.iotHub.sku,
        units: config.iotHub.units,
        partitions: config.iotHub.partitions,
        edgeDevices: config.edgeDevices,
        deviceTags: config.deviceTags,
    },
    stateful,
);
const ml = new MlWorkspace(
    "ml",
    { ...placement, ...config.workspace, workspaceName: config.workspace.name, containerRegistryId: registry.registryId },
    stateful,
);

const model = new ModelRegistration("model", {
    subscriptionId: ml.subscriptionId,
    resourceGroupName: ml.resourceGroupName,
    workspaceName: ml.workspaceName,
    modelPath: config.model.path,
    file: config.model.file,
    modelName: config.model.name,
    version: config.model.version,
    description: config.model.description,
    tags: config.model.tags,
});
const image = new ScoringImage("scoring", {
    context: config.image.context,
    projectDir: config.projectDir,
    loginServer: registry.loginServer,
    registryUsername: registry.adminUsername,
    registryPassword: registry.adminPassword,
    repository: config.image.repository,
    platform: config.image.platform,
    baseImage: config.image.baseImage,
    modelName: config.model.name,
    modelVersion: config.model.version,
});

const deployment = new EdgeDeployment("edge", {
    serviceConnectionString: hub.serviceConnectionString,
    registry: {
        name: registry.registryName,
        loginServer: registry.loginServer,
        adminUsername: registry.adminUsername,
        adminPassword: registry.adminPassword,
    },
    imageRef: image.imageRef,
    deviceIds: hub.devices.map((device) => device.deviceId),
    deployment: config.deployment,
    deploymentName: `${config.project}-${config.stack}`,
});

export const resourceGroupName = group.name;
export const registryLoginServer = registry.loginServer;
export const registryAdminUsername = registry.adminUsername;
export const registryAdminPassword = registry.adminPassword;
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
