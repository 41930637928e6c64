// Fleet mode's IoT Hub configurations: their ids (the deployment's name and the content hash), and the operations a
// rollout makes on them (add, retarget, remove, list this deployment's, remove those a failed rollback left behind).
// Configurations under verification carry the label edgemlRollout=verifying until they pass. Part of the serialized
// provider (single-file imports only).
import type { HubSession } from "./edgeDeploymentTypes";
import { describeHubError, statusOf, withHubRetry } from "./hubRetry";
import type { DeploymentContent } from "./manifest";

/** The label a configuration carries while it is verified (removed once it passes). */
export const ROLLOUT_LABEL = "edgemlRollout";
export const VERIFYING = "verifying";

/** A configuration's mutable fields. */
export interface Targeting {
    targetCondition: string;
    priority: number;
    labels: Record<string, string>;
    metrics: Record<string, string>;
}

/** A configuration as the hub returns it. */
export interface HubConfiguration {
    id: string;
    priority: number;
    targetCondition: string;
    labels?: Record<string, string>;
    content?: { modulesContent?: DeploymentContent["modulesContent"] };
    metrics?: { queries?: Record<string, string> };
}

/** IoT Hub configuration ids: lowercase letters, digits and - : + % _ # * ? ! ( ) , = @ ; $ ', at most 128. */
export function fleetConfigurationId(name: string, hash: string): string {
    return `${configurationBase(name)}-${hash.slice(0, 12)}`;
}

/** The canary stage's configuration: the fleet's id with -canary, so both carry the content hash. */
export function canaryConfigurationId(name: string, hash: string): string {
    return `${fleetConfigurationId(name, hash)}-canary`;
}

export function configurationBase(name: string): string {
    return name
        .toLowerCase()
        .replace(/[^a-z0-9-]+/g, "-")
        .slice(0, 100);
}

function ownConfigurationPattern(name: string): RegExp {
    return new RegExp(`^${configurationBase(name)}-[0-9a-f]{12}(-canary)?$`);
}

export function withoutRolloutLabel(labels: Record<string, string> | undefined): Record<string, string> {
    const { [ROLLOUT_LABEL]: _rollout, ...rest } = labels ?? {};
    return rest;
}

export async function addConfiguration(
    session: HubSession,
    id: string,
    content: DeploymentContent,
    targeting: Targeting,
    verifying: boolean,
): Promise<void> {
    const { registry, retry } = session;
    const labels = verifying ? { ...targeting.labels, [ROLLOUT_LABEL]: VERIFYING } : targeting.labels;
    const configuration = {
        id,
        schemaVersion: "1.0",
        content: { modulesContent: content.modulesContent },
        targetCondition: targeting.targetCondition,
        priority: targeting.priority,
        labels,
        metrics: { queries: targeting.metrics },
    };
    try {
        await withHubRetry(`create deployment ${id}`, () => registry.addConfiguration(configuration as never), retry);
    } catch (error) {
        // 409: a retried create that had succeeded, or a re-run after a partial failure. The id is a content
        // hash, so an existing configuration with this id already carries this content; its targeting may not.
        if (statusOf(error) !== 409) throw new Error(`creating deployment ${id} failed: ${describeHubError(error)}`);
        await retarget(session, id, targeting, labels);
    }
}

/** Sets a configuration's mutable fields (targeting and/or labels), keeping its content. */
export async function retarget(
    session: HubSession,
    id: string,
    targeting: Targeting | undefined,
    labels = targeting?.labels,
): Promise<void> {
    const { registry, retry } = session;
    await withHubRetry(
        `update deployment ${id}`,
        async () => {
            const current = (await registry.getConfiguration(id)).responseBody as unknown as Record<string, unknown>;
            const changed = {
                ...current,
                ...(targeting
                    ? {
                          targetCondition: targeting.targetCondition,
                          priority: targeting.priority,
                          metrics: { queries: targeting.metrics },
                      }
                    : {}),
                labels,
            };
            return registry.updateConfiguration(changed as never);
        },
        retry,
    );
}

/** Removes a configuration; one already gone is fine (a retried delete that had succeeded). */
export async function removeConfiguration(session: HubSession, id: string): Promise<void> {
    const { registry, retry } = session;
    try {
        await withHubRetry(`delete deployment ${id}`, () => registry.removeConfiguration(id), retry);
    } catch (error) {
        if (statusOf(error) !== 404) throw error;
    }
}

/** This deployment's configurations in the hub, highest priority first (a canary before the fleet's). */
export async function ownConfigurations(session: HubSession, name: string, exclude: string[]): Promise<HubConfiguration[]> {
    const { registry, retry } = session;
    const all = (await withHubRetry("list deployments", () => registry.getConfigurations(), retry))
        .responseBody as unknown as HubConfiguration[];
    const pattern = ownConfigurationPattern(name);
    const own = all.filter((c) => pattern.test(c.id) && !exclude.includes(c.id) && c.labels?.[ROLLOUT_LABEL] !== VERIFYING);
    const full = [];
    for (const configuration of own) {
        // The list may leave the content out; the configuration itself has it.
        full.push(
            configuration.content?.modulesContent
                ? configuration
                : ((await withHubRetry(`read deployment ${configuration.id}`, () => registry.getConfiguration(configuration.id), retry))
                      .responseBody as unknown as HubConfiguration),
        );
    }
    return full.sort((a, b) => b.priority - a.priority);
}

/**
 * Removes configurations of this deployment left under verification by a rollout whose rollback could not remove
 * them; returns the ids of every configuration the hub holds then (anyone's).
 */
export async function removeLeftovers(session: HubSession, name: string, keep: string[]): Promise<string[]> {
    const { registry, retry } = session;
    const all = (await withHubRetry("list deployments", () => registry.getConfigurations(), retry))
        .responseBody as unknown as HubConfiguration[];
    const pattern = ownConfigurationPattern(name);
    const held: string[] = [];
    for (const configuration of all) {
        if (!pattern.test(configuration.id) || keep.includes(configuration.id) || configuration.labels?.[ROLLOUT_LABEL] !== VERIFYING) {
            held.push(configuration.id);
            continue;
        }
        try {
            await removeConfiguration(session, configuration.id);
        } catch (error) {
            throw new Error(
                `removing deployment ${configuration.id}, left over by a rollout that failed, failed: ${describeHubError(error)}`,
            );
        }
    }
    return held;
}
