// The EdgeDeployment provider's inputs and outputs, and what its rollout modules share (the hub session, the canary
// stage of the inputs). Its own module so that the provider, the rollouts and the descriptions import it without a
// cycle; part of the serialized provider (single-file imports only).
import type { Registry } from "azure-iothub";
import type { Clock, RetryPolicy } from "../shared/retry";
import type { DeploymentContent } from "./manifest";
import type { VerifySettings } from "./rollout";

/** device: the manifest applied to each listed device; fleet: an at-scale configuration with a target condition. */
export const DEPLOYMENT_MODES = ["device", "fleet"] as const;
export type DeploymentMode = (typeof DEPLOYMENT_MODES)[number];

/** Fleet mode: base, a complete deployment; layered, modules and routes on top of a base deployment (manifest/layer.ts). */
export const DEPLOYMENT_LAYERS = ["base", "layered"] as const;
export type DeploymentLayer = (typeof DEPLOYMENT_LAYERS)[number];

/** IoT Edge deployments (layered ones included) a hub holds: 10 on the free tier, 100 on the paid ones (IoT Hub quotas). */
export const HUB_DEPLOYMENT_LIMITS = { free: 10, paid: 100 } as const;

/** Fleet mode: a ring of devices that gets new content first, verified before the fleet's configuration moves. */
export interface CanarySettings {
    /** Target condition of the ring, e.g. tags.ring='canary'. */
    condition: string;
    /** Priority of the canary configuration: above the fleet's, so the ring's devices take it. */
    priority: number;
    /** How long the ring has to confirm the new content. */
    timeoutSeconds: number;
    /** Devices of the ring that must report success (and none failure) before the fleet moves. */
    minSuccessCount: number;
}

export interface EdgeDeploymentInputs {
    serviceConnectionString: string;
    /** Registry password (secret), put into the content only when it is sent. */
    registryPassword: string;
    mode: DeploymentMode;
    /** Base of the fleet configuration id. */
    name: string;
    /** The manifest (a layer when layered) with the registry password as a placeholder: reviewable, diffable. */
    content: DeploymentContent;
    /** Device mode: the devices to apply to. */
    deviceIds: string[];
    /** Fleet mode. */
    targetCondition: string;
    priority: number;
    labels: Record<string, string>;
    metrics: Record<string, string>;
    verify: VerifySettings;
    /** Device mode: how many devices are sent the manifest at once. */
    concurrency: number;
    /**
     * When verification fails: re-apply the previous manifest (device mode) or remove the new configurations
     * (fleet mode), wait for the devices to report it, then fail. Off: the new manifest stays. Absent in state
     * written before the key existed, which means on.
     */
    rollbackOnFailure: boolean;
    /** Fleet mode: the canary stage; absent, or an empty condition, for none. */
    canary?: CanarySettings;
    /** Fleet mode: a complete deployment (base; absent in state written before the key existed) or a layer. */
    deploymentLayer?: DeploymentLayer;
    /** Layered: the priority of the base deployment the layer lands on; the layer's (and the ring's) must be above it. */
    basePriority?: number;
    /** Fleet mode: how many deployments the hub's tier allows; a rollout that would exceed it is refused before it creates any. */
    hubDeploymentLimit?: number;
}

export interface EdgeDeploymentOutputs extends EdgeDeploymentInputs {
    hostName: string;
    contentHash: string;
    /** Fleet mode: the IoT Hub configuration id. */
    configurationId: string;
    /** Fleet mode with a canary stage: the canary configuration's id ("" or absent without one). */
    canaryConfigurationId?: string;
    /** Device mode: the $edgeAgent desired version each device was given. */
    appliedVersions: Record<string, number>;
}

/** What every hub operation of a rollout works with: the hub's registry, the provider's retry policy and clock. */
export interface HubSession {
    registry: Registry;
    retry: RetryPolicy;
    clock: Clock;
}

/** A layered deployment (fleet mode). */
export function isLayer(inputs: Partial<EdgeDeploymentInputs> | undefined): boolean {
    return inputs?.mode === "fleet" && inputs.deploymentLayer === "layered";
}

/** The canary stage, if the inputs ask for one (fleet mode, a condition). */
export function canaryOf(inputs: Partial<EdgeDeploymentInputs> | undefined): CanarySettings | undefined {
    return inputs?.mode === "fleet" && inputs.canary?.condition ? inputs.canary : undefined;
}
