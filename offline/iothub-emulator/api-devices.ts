/** Device identity routes: /devices, /devices/{id}, bulk POST /devices and /devices/{id}/applyConfigurationContent. */
import { DeviceInput } from "./device-store";
import { HubError, badRequest } from "./hub-errors";
import { JsonObject } from "./json";
import { HubStores, OperationTable, ifMatchHeader, topParameter } from "./operations";
import { deviceJson } from "./twin-views";

type ExportImportDevice = DeviceInput & { id?: string; importMode?: string; eTag?: string | null };

const BULK_MODES = ["create", "update", "updateifmatchetag", "delete", "deleteifmatchetag"];

export function deviceOperations({ devices }: HubStores): OperationTable {
    return {
        Devices_GetIdentity: {
            mutates: false,
            handle: ({ pathParameters }) => ({ status: 200, body: deviceJson(devices.get(pathParameters.id)) }),
        },
        Devices_GetDevices: {
            mutates: false,
            handle: (request) => ({ status: 200, body: devices.all().slice(0, topParameter(request)).map(deviceJson) }),
        },
        // Without If-Match a PUT creates (409 if the id is taken); with it, it updates (404 if missing, 412 if stale).
        Devices_CreateOrUpdateIdentity: {
            mutates: true,
            handle: (request) => {
                const id = request.pathParameters.id;
                const input = request.body as DeviceInput & { deviceId?: string };
                if (input.deviceId !== undefined && input.deviceId !== id) {
                    throw badRequest("ArgumentInvalid", `body deviceId '${input.deviceId}' differs from '${id}'`);
                }
                const ifMatch = ifMatchHeader(request);
                const device = ifMatch === undefined ? devices.create(id, input) : devices.replace(id, input, ifMatch);
                return { status: 200, body: deviceJson(device) };
            },
        },
        Devices_DeleteIdentity: {
            mutates: true,
            handle: (request) => {
                devices.delete(request.pathParameters.id, ifMatchHeader(request));
                return { status: 204 };
            },
        },
        // Each entry succeeds or fails on its own, like the service; any failure makes the response a 400 listing them.
        BulkRegistry_UpdateRegistry: {
            mutates: true,
            handle: (request) => {
                const entries = request.body as ExportImportDevice[];
                const ids = entries.map((entry) => entry.id);
                if (ids.some((id) => !id)) throw badRequest("ArgumentNull", "every device needs an id");
                const duplicate = ids.find((id, index) => ids.indexOf(id) !== index);
                if (duplicate) throw badRequest("DeviceDefinedMultipleTimes", `device '${duplicate}' appears more than once`);
                const unsupported = entries.find((entry) => !BULK_MODES.includes((entry.importMode ?? "").toLowerCase()));
                if (unsupported) {
                    throw new HubError(501, "FeatureNotSupported", `emulator does not support importMode '${unsupported.importMode}'`);
                }
                const errors: JsonObject[] = [];
                for (const entry of entries) {
                    const id = entry.id as string;
                    try {
                        applyBulkEntry(entry, id);
                    } catch (error) {
                        if (!(error instanceof HubError)) throw error;
                        errors.push({ deviceId: id, errorCode: error.code, errorStatus: error.message });
                    }
                }
                return { status: errors.length > 0 ? 400 : 200, body: { isSuccessful: errors.length === 0, errors, warnings: [] } };
            },
        },
        Configuration_ApplyOnEdgeDevice: {
            mutates: true,
            handle: ({ pathParameters, body }) => {
                const device = devices.get(pathParameters.id);
                const { modulesContent } = body as { modulesContent?: JsonObject | null };
                if (!modulesContent)
                    throw badRequest("InvalidConfigurationContent", "only modulesContent can be applied to an edge device");
                devices.applyModulesContent(device, modulesContent);
                return { status: 204 };
            },
        },
    };

    function applyBulkEntry(entry: ExportImportDevice, id: string): void {
        switch ((entry.importMode ?? "").toLowerCase()) {
            case "create":
                devices.create(id, entry);
                return;
            case "update":
                devices.replace(id, entry, "*");
                return;
            case "updateifmatchetag":
                devices.replace(id, entry, entry.eTag ?? "");
                return;
            case "delete":
                devices.delete(id, "*");
                return;
            case "deleteifmatchetag":
                devices.delete(id, entry.eTag ?? "");
                return;
        }
    }
}
