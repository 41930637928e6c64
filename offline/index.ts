// The offline engine: the Pulumi program run in-process under Pulumi's mock runtime with Azure's answers, the
// stack's configuration read from its stack file as the CLI would hand it over. `npm start`, the benchmarks and
// the tests all use it; the IoT Hub emulator (./iothub-emulator) and Azurite's blob service (./azurite) are what it
// talks to.
export { findProjectDir, listStacks, outputValue, readStackConfig, redactWireValue, REPO_ROOT, runOffline, UNKNOWN_MARKER } from "./engine";
export type { OfflineOptions, OfflinePlan, OfflineRun, PlannedInvoke, PlannedResource } from "./engine";
export { existingAzureState, fakeKey, OFFLINE_SUBSCRIPTION_ID, OFFLINE_TENANT_ID, offlineBlobs, offlineHubs } from "./azure-answers";
export type { StandIn } from "./azure-answers";
export type { IotHubEmulator } from "./iothub-emulator";
