// edgeHub's route syntax, from Azure/iotedge edge-hub/core/src/Microsoft.Azure.Devices.Routing.Core/grammar:
// Route.g4 `[SELECT *] FROM source [WHERE condition] INTO sink`, keywords in any case (GrammarLexer.g4); a source
// is a path of `/item` segments, an item being `*` or an ID; a sink is a system endpoint (`$upstream`) or
// `func("endpoint")`. Hub.Core/routing/EndpointFactory.cs accepts `$upstream` and `BrokeredEndpoint`, both
// ignoring case, and reads the endpoint as /modules/{mid}/inputs/{input}. Conditions are not parsed here: their
// grammar is IoT Hub's query language, and edgeHub reports a bad one in its own logs.

export type RouteSink = { kind: "upstream" } | { kind: "module"; module: string; input: string };

export interface ParsedRoute {
    source: string;
    condition?: string;
    sink: RouteSink;
}

const ROUTE = /^\s*(?:SELECT\s+\*\s+)?FROM\s+(\S+)(?:\s+WHERE\s+([\s\S]+))?\s+INTO\s+([\s\S]+?)\s*$/i;
// ID_CHARS of GrammarLexer.g4: anything but ()<>@,;:\"/[]?={} and whitespace.
const SOURCE = /^(?:\/(?:\*|[^()<>@,;:\\"/[\]?={}\s]+))+$/;
const UPSTREAM = /^\$upstream$/i;
const FUNCTION_SINK = /^BrokeredEndpoint\s*\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')\s*\)$/i;
const MODULE_ENDPOINT = /^\/?modules\/([^/\s]+)\/inputs\/([^/\s]+)\/?$/;

export type RouteParse = { route: ParsedRoute } | { problem: string };

export function parseRoute(text: string): RouteParse {
    const match = ROUTE.exec(text);
    if (!match) return { problem: "must read FROM <source> [WHERE <condition>] INTO <sink>" };
    const [, source, condition, sinkText] = match;
    if (!SOURCE.test(source)) {
        return { problem: `source "${source}" must be a path such as /messages/modules/<module>/outputs/<output> or /*` };
    }
    const sink = parseSink(sinkText);
    if (!sink) return { problem: `sink "${sinkText}" must be $upstream or BrokeredEndpoint("/modules/<module>/inputs/<input>")` };
    return { route: { source, ...(condition !== undefined && { condition: condition.trim() }), sink } };
}

function parseSink(text: string): RouteSink | undefined {
    if (UPSTREAM.test(text)) return { kind: "upstream" };
    const call = FUNCTION_SINK.exec(text);
    const endpoint = MODULE_ENDPOINT.exec((call?.[1] ?? call?.[2] ?? "").trim());
    return endpoint ? { kind: "module", module: endpoint[1], input: endpoint[2] } : undefined;
}
