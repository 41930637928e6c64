/**
 * Simulated IoT Edge agents (opt-in, `edgeAgents: "report-applied"`): devices that act on every deployment at
 * once. Whenever an edge device's `$edgeAgent` desired properties change (applyConfigurationContent, a fleet
 * deployment reaching the device, a module twin PATCH), its agent reports what a healthy edgeAgent reports once it
 * has applied them: `lastDesiredVersion` = the new desired `$version`, `lastDesiredStatus` 200, and each module of
 * the manifest with the image it runs (`runtimeStatus` as the manifest asks: running unless it says stopped).
 * Modules no longer in the manifest are removed from the report. Without the option nobody reports, and tests act
 * as the device with `hub.reportEdgeAgent(...)`.
 */
import { DeviceStore } from "./device-store";
import { JsonObject, isJsonObject } from "./json";

/** `silent`: no device reports anything by itself (the default); `report-applied`: see the file comment. */
export type EdgeAgentBehaviour = "silent" | "report-applied";

export const EDGE_AGENT_BEHAVIOURS: readonly EdgeAgentBehaviour[] = ["silent", "report-applied"];

/** Lets every edge device's agent catch up with its desired properties; devices already caught up are left alone. */
export function reportAppliedDeployments(devices: DeviceStore): void {
  for (const device of devices.all()) {
    const agent = device.iotEdge ? device.modules.get("$edgeAgent") : undefined;
    // A desired-properties document without content is a device that never received a deployment.
    if (!agent || Object.keys(agent.twin.desired).length === 0) continue;
    if (agent.twin.reported.lastDesiredVersion === agent.twin.desiredVersion) continue;
    devices.setReported(device.deviceId, "$edgeAgent", appliedReport(agent.twin.desired, agent.twin.desiredVersion, agent.twin.reported));
  }
}

/** The reported-properties patch of an agent that applied `desired` (desired `$version` = `version`). */
function appliedReport(desired: JsonObject, version: number, reported: JsonObject): JsonObject {
  const modules = modulesReport(desired.modules);
  // A merge patch: modules reported before and no longer deployed are removed with null.
  const previous = isJsonObject(reported.modules) ? Object.keys(reported.modules) : [];
  for (const name of previous) if (!(name in modules)) modules[name] = null;
  return {
    lastDesiredVersion: version,
    lastDesiredStatus: { code: 200 },
    systemModules: modulesReport(desired.systemModules),
    modules,
  };
}

function modulesReport(modules: unknown): JsonObject {
  if (!isJsonObject(modules)) return {};
  const result: JsonObject = {};
  for (const [name, module] of Object.entries(modules)) {
    const wanted = isJsonObject(module) ? module : {};
    const image = isJsonObject(wanted.settings) ? wanted.settings.image : undefined;
    // settings null: an image reported before is removed, as the report is merged into the previous one.
    result[name] = { runtimeStatus: wanted.status === "stopped" ? "stopped" : "running", settings: typeof image === "string" ? { image } : null };
  }
  return result;
}
