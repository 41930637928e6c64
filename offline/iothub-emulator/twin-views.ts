/**
 * The JSON the service returns for devices, device twins and module twins. Queries run over the same twin JSON,
 * so a target condition or metric query sees exactly what GET /twins returns.
 * Unset fields are `null` and "never" timestamps are 0001-01-01, as on the service: the SDK copies them back into
 * update bodies, which is why the swagger validator accepts nulls.
 */
import { DeviceState, ModuleState, TwinState } from "./device-store";
import { JsonObject } from "./json";
import { QuerySource } from "./query-language";

const NEVER = "0001-01-01T00:00:00Z";

function edgeScope(device: DeviceState): JsonObject {
    return device.iotEdge ? { deviceScope: `ms-azure-iot-edge://${device.deviceId}-${device.generationId}` } : {};
}

export function deviceJson(device: DeviceState): JsonObject {
    return {
        deviceId: device.deviceId,
        generationId: device.generationId,
        etag: device.etag,
        connectionState: "Disconnected",
        status: device.status,
        statusReason: device.statusReason,
        connectionStateUpdatedTime: NEVER,
        statusUpdatedTime: device.statusUpdatedTime,
        lastActivityTime: NEVER,
        cloudToDeviceMessageCount: 0,
        authentication: {
            symmetricKey: { ...device.authentication.symmetricKey },
            x509Thumbprint: { ...device.authentication.x509Thumbprint },
            type: device.authentication.type,
        },
        capabilities: { iotEdge: device.iotEdge },
        ...edgeScope(device),
        parentScopes: [],
    };
}

function propertiesJson(twin: TwinState): JsonObject {
    return {
        desired: { ...structuredClone(twin.desired), $version: twin.desiredVersion },
        reported: { ...structuredClone(twin.reported), $version: twin.reportedVersion },
    };
}

function connectionJson(device: DeviceState): JsonObject {
    return {
        status: device.status,
        statusUpdateTime: device.statusUpdatedTime,
        connectionState: "Disconnected",
        lastActivityTime: NEVER,
        cloudToDeviceMessageCount: 0,
        authenticationType: device.authentication.type,
        x509Thumbprint: { ...device.authentication.x509Thumbprint },
        modelId: "",
    };
}

export function deviceTwinJson(device: DeviceState): JsonObject {
    return {
        deviceId: device.deviceId,
        etag: device.twin.etag,
        deviceEtag: device.etag,
        ...connectionJson(device),
        version: device.twin.version,
        tags: structuredClone(device.twin.tags),
        properties: propertiesJson(device.twin),
        capabilities: { iotEdge: device.iotEdge },
        ...edgeScope(device),
        parentScopes: [],
    };
}

export function moduleTwinJson(device: DeviceState, module: ModuleState): JsonObject {
    const configurations = Object.entries(module.configurations);
    return {
        deviceId: device.deviceId,
        moduleId: module.moduleId,
        etag: module.twin.etag,
        deviceEtag: device.etag,
        ...connectionJson(device),
        version: module.twin.version,
        ...(Object.keys(module.twin.tags).length > 0 ? { tags: structuredClone(module.twin.tags) } : {}),
        properties: propertiesJson(module.twin),
        ...(configurations.length > 0
            ? { configurations: Object.fromEntries(configurations.map(([id, status]) => [id, { status }])) }
            : {}),
    };
}

/** The documents a query FROM `source` runs over. */
export function twinsFor(source: QuerySource, devices: readonly DeviceState[]): JsonObject[] {
    if (source === "devices") return devices.map(deviceTwinJson);
    return devices.flatMap((device) => [...device.modules.values()].map((module) => moduleTwinJson(device, module)));
}
