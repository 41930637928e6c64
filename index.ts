// Reads the stack configuration, composes the components and exports the stack outputs; nothing else.
import * as pulumi from "@pulumi/pulumi";
import { loadConfig } from "./components/config";
import { DpsInstance } from "./components/dps";
import { ScoringImage } from "./components/image";
import { EdgeDeployment, IotHub } from "./components/iot";
import { edgeAgentImage as agentImageOf } from "./components/iot/manifest";
import { MlWorkspace, ModelRegistration } from "./components/ml";
import { ContainerRegistry, RegistryPullToken } from "./components/registry";
import { deployingClient, stackResourceGroup } from "./components/shared";

const config = loadConfig();
// What the configuration chose on the user's behalf (a dropped conda entry, the base image's Python) and what it could
// not check, as `pulumi preview` diagnostics. The offline engine has no engine to log to (the SDK would print to
// stdout, into `npm start -- --json`): the offline plan takes them from loadConfig itself.
if (pulumi.runtime.hasEngine()) {
    for (const note of config.notes) void pulumi.log.info(note);
    for (const warning of config.warnings) void pulumi.log.warn(warning);
}
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
// deviceProvisioning dps: devices carrying a key derived from the enrollment group's register themselves into the hub
// at their first boot, with the group's initial twin tags (deviceTags), which the fleet deployment targets; devices
// listed in edgeDevices are registered by the hub as well.
const provisioning = config.provisioning;
const dps =
    provisioning.mode === "dps"
        ? new DpsInstance(
              "dps",
              {
                  ...placement,
                  dps: provisioning.dps,
                  subscriptionId: client.subscriptionId,
                  iotHub: {
                      connectionString: hub.serviceConnectionString,
                      hostName: hub.hostName,
                      location: config.location,
                      existing: config.iotHub.existing ? config.iotHub : undefined,
                  },
                  enrollment: {
                      enrollmentGroupId: provisioning.enrollmentGroupId,
                      tags: config.deviceTags,
                      keyRotation: provisioning.keyRotation,
                      iotEdge: true,
                  },
              },
              stateful,
          )
        : undefined;
const ml = new MlWorkspace("ml", { ...placement, workspace: config.workspace, containerRegistryId: registry.registryId, client }, stateful);

const model = new ModelRegistration(
    "model",
    { subscriptionId: ml.subscriptionId, resourceGroupName: ml.resourceGroupName, workspaceName: ml.workspaceName, model: config.model },
    stateful,
);
const image = new ScoringImage("scoring", {
    module: config.scoring,
    modelPath: config.model.existing ? undefined : config.model.path,
    // The build context: edgeml's runtime, the user's folder, their requirements and the model, staged here.
    stagingDir: `out/${config.stack}/scoring-context`,
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
    // A model a training run registered is downloaded into the staged context.
    registeredModel: config.model.existing
        ? { modelUri: model.modelUri, resourceGroupName: ml.resourceGroupName, workspaceName: ml.workspaceName }
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
// What `npm run devices` writes a device's config.toml from (components/dps/deviceFiles.ts: DPS_OUTPUTS); the DPS ones
// only with deviceProvisioning dps (a stack output left undefined is not exported).
export const edgeAgentImage = agentImageOf(config.deployment.manifest.edgeRuntimeVersion);
export const dpsIdScope = dps?.idScope;
export const dpsGlobalEndpoint = dps?.globalEndpointUrl;
export const dpsEnrollmentGroupKeys = dps?.enrollmentGroupKeys;
