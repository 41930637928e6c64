/**
 * Routing without the swagger: the method and path template of every operation the emulator implements, as the
 * service swagger declares them (test/offline-engine.test.ts checks this table against the swagger). Used when
 * the emulator runs with `swagger: "if-present"` and the swagger file is absent, e.g. the offline plan in a clone
 * of the repository without the shared reference data: requests are routed and their JSON bodies parsed, nothing
 * is validated, and no violation is ever recorded.
 */
import { HubError, badRequest } from "./hub-errors";
import { IncomingRequest, MatchedRequest, RequestMatcher, matchTemplate, templateSegments } from "./swagger-validator";

/** [method, path template, operationId], in the swagger's spelling. */
export const EMULATED_ROUTES: readonly EmulatedRoute[] = [
    ["GET", "/devices", "Devices_GetDevices"],
    ["POST", "/devices", "BulkRegistry_UpdateRegistry"],
    ["POST", "/devices/query", "Query_GetTwins"],
    ["GET", "/devices/{id}", "Devices_GetIdentity"],
    ["PUT", "/devices/{id}", "Devices_CreateOrUpdateIdentity"],
    ["DELETE", "/devices/{id}", "Devices_DeleteIdentity"],
    ["POST", "/devices/{id}/applyConfigurationContent", "Configuration_ApplyOnEdgeDevice"],
    ["GET", "/twins/{id}", "Devices_GetTwin"],
    ["PATCH", "/twins/{id}", "Devices_UpdateTwin"],
    ["GET", "/twins/{id}/modules/{mid}", "Modules_GetTwin"],
    ["PATCH", "/twins/{id}/modules/{mid}", "Modules_UpdateTwin"],
    ["GET", "/configurations", "Configuration_GetConfigurations"],
    ["GET", "/configurations/{id}", "Configuration_Get"],
    ["PUT", "/configurations/{id}", "Configuration_CreateOrUpdate"],
    ["DELETE", "/configurations/{id}", "Configuration_Delete"],
];

/** [method, path template, operationId]: a route an emulator implements. */
export type EmulatedRoute = readonly [string, string, string];

interface Route {
    method: string;
    segments: ReturnType<typeof templateSegments>;
    literalCount: number;
    operationId: string;
}

/**
 * Routes by a table (default EMULATED_ROUTES, IoT Hub's) and parses JSON bodies; checks nothing else. The DPS
 * emulator routes its device API this way (no swagger of it is published) and its service API without the swagger.
 */
export class RoutingOnlyMatcher implements RequestMatcher {
    readonly validates = false;
    private readonly routes: Route[];

    constructor(
        table: readonly EmulatedRoute[] = EMULATED_ROUTES,
        private readonly caseInsensitivePaths = false,
    ) {
        this.routes = table.map(([method, template, operationId]) => {
            const segments = templateSegments(template);
            return { method, segments, literalCount: segments.filter((segment) => "literal" in segment).length, operationId };
        });
    }

    validate(request: IncomingRequest): MatchedRequest {
        const segments = request.pathname.split("/").filter(Boolean);
        let best: { route: Route; pathParameters: Record<string, string> } | undefined;
        for (const route of this.routes) {
            if (route.method !== request.method) continue;
            const pathParameters = matchTemplate(route.segments, segments, this.caseInsensitivePaths);
            // /devices/query must win over /devices/{id}: prefer the template with the most literal segments.
            if (pathParameters && (!best || route.literalCount > best.route.literalCount)) best = { route, pathParameters };
        }
        if (!best) throw new HubError(501, "FeatureNotSupported", `emulator does not implement ${request.method} ${request.pathname}`);
        let body: unknown;
        if (request.body.length > 0) {
            try {
                body = JSON.parse(request.body);
            } catch {
                throw badRequest("ArgumentInvalid", "the request body is not valid JSON");
            }
        }
        return { operationId: best.route.operationId, pathParameters: best.pathParameters, body };
    }
}
