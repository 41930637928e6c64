// Rules for edgeHub's desired properties: route names, syntax, priority and time to live, sinks that name a
// deployed module, and the store-and-forward time to live.
import { isIntegerBetween, Json, record, UINT32_MAX } from "./json";
import type { Report } from "./problems";
import { parseRoute } from "./routes";

// The schema's pattern for route names (a twin key, plus '#').
const ROUTE_NAME = /^[^.$# ]+$/;

/** `moduleNames` undefined (a layer): a route may deliver to any module, the base deployment's included. */
export function checkEdgeHub(hub: Json, moduleNames: Set<string> | undefined, report: Report): void {
    const routes = record(hub.routes);
    if (!routes) report("twin", "$edgeHub", "routes", "is required (an empty object routes nothing)");
    for (const [name, spec] of Object.entries(routes ?? {})) checkRoute(name, spec, moduleNames, report);

    const storeAndForward = hub.storeAndForwardConfiguration;
    if (storeAndForward !== undefined && !isIntegerBetween(record(storeAndForward)?.timeToLiveSecs, 0, UINT32_MAX)) {
        report("twin", "$edgeHub", "storeAndForwardConfiguration.timeToLiveSecs", "must be a whole number of seconds, 0 or more");
    }
}

function checkRoute(name: string, spec: unknown, moduleNames: Set<string> | undefined, report: Report): void {
    if (!ROUTE_NAME.test(name)) report("route", name, undefined, "names may not contain '.', '$', '#' or spaces");
    const options = record(spec);
    const text = typeof spec === "string" ? spec : options?.route;
    if (typeof text !== "string") {
        report("route", name, undefined, "must be a route string or { route, priority, timeToLiveSecs }");
        return;
    }
    if (options?.priority !== undefined && !isIntegerBetween(options.priority, 0, 9)) {
        report("route", name, "priority", "must be a whole number from 0 to 9");
    }
    if (options?.timeToLiveSecs !== undefined && !isIntegerBetween(options.timeToLiveSecs, 0, UINT32_MAX)) {
        report("route", name, "timeToLiveSecs", `must be a whole number from 0 to ${UINT32_MAX}`);
    }
    const parsed = parseRoute(text);
    if ("problem" in parsed) {
        report("route", name, undefined, parsed.problem);
    } else if (parsed.route.sink.kind === "module" && moduleNames && !moduleNames.has(parsed.route.sink.module)) {
        // Sources may name modules deployed elsewhere (a layered deployment); a sink must exist to receive.
        report("route", name, undefined, `sink module "${parsed.route.sink.module}" is not a module of this deployment`);
    }
}
