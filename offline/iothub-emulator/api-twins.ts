/** Twin routes: device and module twins (GET/PATCH) and POST /devices/query. */
import { TwinPatch } from "./device-store";
import { badRequest } from "./hub-errors";
import { HubStores, OperationRequest, OperationTable, ifMatchHeader } from "./operations";
import { QuerySyntaxError, parseQuery, runQuery } from "./query-language";
import { deviceTwinJson, moduleTwinJson, twinsFor } from "./twin-views";

const DEFAULT_PAGE_SIZE = 100;

export function twinOperations({ devices }: HubStores): OperationTable {
    return {
        Devices_GetTwin: {
            mutates: false,
            handle: ({ pathParameters }) => ({ status: 200, body: deviceTwinJson(devices.get(pathParameters.id)) }),
        },
        Devices_UpdateTwin: {
            mutates: true,
            handle: (request) => {
                const device = devices.get(request.pathParameters.id);
                devices.patchTwin(device.twin, request.body as TwinPatch, ifMatchHeader(request) ?? "*", `twin ${device.deviceId}`);
                return { status: 200, body: deviceTwinJson(device) };
            },
        },
        Modules_GetTwin: {
            mutates: false,
            handle: ({ pathParameters: { id, mid } }) => ({ status: 200, body: moduleTwinJson(devices.get(id), devices.module(id, mid)) }),
        },
        Modules_UpdateTwin: {
            mutates: true,
            handle: (request) => {
                const { id, mid } = request.pathParameters;
                const module = devices.module(id, mid);
                devices.patchTwin(module.twin, request.body as TwinPatch, ifMatchHeader(request) ?? "*", `module twin ${id}/${mid}`);
                return { status: 200, body: moduleTwinJson(devices.get(id), module) };
            },
        },
        // Pages are cut with x-ms-max-item-count; the continuation token is the offset of the next page.
        Query_GetTwins: {
            mutates: false,
            handle: (request) => {
                const { query } = request.body as { query?: string | null };
                let parsed;
                try {
                    parsed = parseQuery(query ?? "");
                } catch (error) {
                    if (error instanceof QuerySyntaxError) throw badRequest("ArgumentInvalid", `query not understood: ${error.message}`);
                    throw error;
                }
                const rows = runQuery(parsed, twinsFor(parsed.source, devices.all()));
                const offset = continuationOffset(request);
                const pageSize = Number(request.headers["x-ms-max-item-count"] ?? DEFAULT_PAGE_SIZE);
                if (!Number.isInteger(pageSize) || pageSize < 1)
                    throw badRequest("ArgumentInvalid", "x-ms-max-item-count must be a positive integer");
                const next = offset + pageSize;
                const headers: Record<string, string> = next < rows.length ? { "x-ms-continuation": String(next) } : {};
                return { status: 200, body: rows.slice(offset, next), headers };
            },
        },
    };
}

function continuationOffset(request: OperationRequest): number {
    const token = request.headers["x-ms-continuation"];
    if (token === undefined) return 0;
    const offset = Number(token);
    if (!Number.isInteger(offset) || offset < 0) throw badRequest("ArgumentInvalid", `bad continuation token '${token}'`);
    return offset;
}
