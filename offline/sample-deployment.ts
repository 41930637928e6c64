// Deployment inputs for provider tests and the rollout benchmark: a real manifest from the manifest builder, with the password placeholder.
import type { EdgeDeploymentInputs } from "../components/iot";
import { buildManifest, type DeploymentManifest } from "../components/iot/manifest";
import { SECRET_MARKER } from "../components/shared";

export const IMAGE_A = `testacr.azurecr.io/edgeml/scoring@sha256:${"a".repeat(64)}`;
export const IMAGE_B = `testacr.azurecr.io/edgeml/scoring@sha256:${"b".repeat(64)}`;

export function manifestFor(image: string, env: Record<string, string> = {}): DeploymentManifest {
    return buildManifest({
        edgeRuntimeVersion: "1.6",
        registry: { name: "testacr", loginServer: "testacr.azurecr.io", username: "testacr-pull", password: SECRET_MARKER },
        scoring: {
            name: "scoring",
            image,
            status: "running",
            restartPolicy: "always",
            env,
            inputName: "amlInput",
            outputName: "amlOutput",
        },
        sensor: { name: "SimulatedTemperatureSensor", version: "1.6", env: { MessageCount: 500 } },
        storeAndForwardTimeToLiveSecs: 7200,
    });
}

export function deploymentInputs(connectionString: string, overrides: Partial<EdgeDeploymentInputs> = {}): EdgeDeploymentInputs {
    return {
        serviceConnectionString: connectionString,
        registryPassword: "test-registry-password",
        mode: "device",
        name: "edgeml-test",
        content: manifestFor(IMAGE_A),
        deviceIds: ["edge-1", "edge-2", "edge-3"],
        targetCondition: "tags.environment='test'",
        priority: 10,
        labels: { app: "edgeml" },
        metrics: {},
        verify: { enabled: false, timeoutSeconds: 5, pollSeconds: 1, moduleName: "scoring", image: IMAGE_A },
        concurrency: 4,
        rollbackOnFailure: true,
        ...overrides,
    };
}
