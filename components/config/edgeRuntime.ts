// Which IoT Edge versions a stack may deploy. The deployment's system modules (edgeAgent, edgeHub) and the
// simulated sensor use edgeRuntimeVersion as their image tag, and each device's config.toml starts that edgeAgent,
// so an out-of-support version would put unpatched images on every device.

/** Microsoft's end-of-support dates of the IoT Edge LTS releases (the "IoT Edge supported systems" page). */
export const EDGE_RUNTIME_END_OF_SUPPORT: Readonly<Record<string, string>> = {
    "1.1": "2022-12-13",
    "1.4": "2024-11-12",
    "1.5": "2026-11-10",
    "1.6": "2028-11-10",
};

/** The current LTS, Pulumi.yaml's default. */
export const CURRENT_EDGE_RUNTIME = "1.6";

export type EdgeRuntimeVerdict = { ok: true; warning?: string } | { ok: false; rule: string };

/**
 * 1.4 and older (and the short-lived 1.2 and 1.3) are refused: their images get no fixes and 1.2+ manifests
 * need at least 1.2 anyway. 1.5 is accepted with a warning, so a fleet still on it can deploy while it upgrades.
 */
export function checkEdgeRuntimeVersion(version: string): EdgeRuntimeVerdict {
    const match = /^(\d+)\.(\d+)(\.\d+)?$/.exec(version);
    if (!match) return { ok: false, rule: `must be an IoT Edge version tag such as ${CURRENT_EDGE_RUNTIME}` };
    const [major, minor] = [Number(match[1]), Number(match[2])];
    const line = `${major}.${minor}`;
    if (major === 1 && minor < 5) {
        const ended = EDGE_RUNTIME_END_OF_SUPPORT[line] ?? EDGE_RUNTIME_END_OF_SUPPORT["1.4"];
        const when = EDGE_RUNTIME_END_OF_SUPPORT[line]
            ? `IoT Edge ${line} support ended on ${ended}`
            : `IoT Edge ${line} is out of support (1.4 LTS, the last before 1.5, ended on ${ended})`;
        return { ok: false, rule: `${when}; use ${CURRENT_EDGE_RUNTIME} (LTS)` };
    }
    if (line === "1.5") {
        return {
            ok: true,
            warning: `IoT Edge 1.5 is out of support since ${EDGE_RUNTIME_END_OF_SUPPORT["1.5"]}: move the fleet to ${CURRENT_EDGE_RUNTIME} (upgrade aziot-edge on the devices, then set edgeRuntimeVersion to "${CURRENT_EDGE_RUNTIME}")`,
        };
    }
    return { ok: true };
}
