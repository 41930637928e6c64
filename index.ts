// Reads the stack configuration, composes the components and exports the stack outputs; nothing else.
import { loadConfig } from "./components/config";
import { ContainerRegistry } from "./components/containerRegistry";
import { IotHub } from "./components/iotHub";
import { MlWorkspace } from "./components/mlWorkspace";
import { stackResourceGroup } from "./components/resourceGroup";

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
    { ...placement, hubName: config.iotHub.name, sku: config.iotHub.sku, units: config.iotHub.units, partitions: config.iotHub.partitions },
    stateful,
);
const ml = new MlWorkspace(
    "ml",
    { ...placement, ...config.workspace, workspaceName: config.workspace.name, containerRegistryId: registry.registryId },
    stateful,
);

export const resourceGroupName = group.name;
export const registryLoginServer = registry.loginServer;
export const registryAdminUsername = registry.adminUsername;
export const registryAdminPassword = registry.adminPassword;
export const iotHubName = hub.hubName;
export const iotHubHostName = hub.hostName;
export const iotHubServiceConnectionString = hub.serviceConnectionString;
export const workspaceName = ml.workspaceName;
export const workspaceStorageAccount = ml.storageAccountName;
