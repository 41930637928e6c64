// Docker create options travel in edgeAgent's twin as JSON text split over several properties, because IoT Hub
// refuses longer twin values ("ErrorCode:ArgumentInvalid;Property or Tag value should be maximum 512 bytes",
// Azure/iot-edge-opc-publisher-v1#143). edgeAgent (since 1.0.4, Azure/iotedge#396) joins them again. In
// Azure/iotedge, edge-agent/src/Microsoft.Azure.Devices.Edge.Agent.Docker/DockerConfig.cs writes chunk 0 as
// "createOptions" and chunk i as "createOptions" + i.ToString("D2"), and reads them back through
// edge-util/src/Microsoft.Azure.Devices.Edge.Util/JsonEx.cs ChunkedValue, which sorts the keys (ignoring case)
// and requires "createOptions", "createOptions01", "createOptions02", ... with no gaps; Docker/Constants.cs sets
// TwinValueMaxSize = 512 and TwinValueMaxChunks = 100 ("the chunks sequence number is two bytes, which allows
// 100 chunks [0, 100)"). A 101st chunk, "createOptions100", would sort between ...10 and ...11 and break that
// sequence on the device, so more than 100 chunks is an error here. edgeAgent's own writer counts 512 UTF-16
// characters; IoT Hub counts bytes, so chunks here are cut at 512 UTF-8 bytes, on character boundaries.
// (Azure/iotedgedev caps templates at 8 chunks, "4K"; edgeAgent itself reads 100.)
import { CreateOptionsError } from "../../shared/errors";
import { codePointUtf8Length, sortKeysDeep } from "./canonical";
import type { CreateOptions } from "./types";

export const TWIN_VALUE_MAX_BYTES = 512;
export const CREATE_OPTIONS_MAX_CHUNKS = 100;

const CHUNK_KEY = /^createoptions\d*$/i;

export { CreateOptionsError };

/** Whether a module settings key holds a create options chunk (the schema's `^(createoptions|createOptions)[0-9]*$`). */
export function isCreateOptionsKey(key: string): boolean {
    return CHUNK_KEY.test(key);
}

/** "createOptions" for chunk 0, then "createOptions01" .. "createOptions99", as edgeAgent writes them. */
export function createOptionsKey(index: number): string {
    return index === 0 ? "createOptions" : `createOptions${String(index).padStart(2, "0")}`;
}

/** Objects become JSON with sorted keys (same options, same bytes); strings are taken as written. */
function serializeCreateOptions(options: CreateOptions): string {
    return typeof options === "string" ? options : JSON.stringify(sortKeysDeep(options));
}

/** Cuts text into pieces of at most `maxBytes` UTF-8 bytes without splitting a character. */
function chunkUtf8(text: string, maxBytes: number): string[] {
    const chunks: string[] = [];
    let current = "";
    let currentBytes = 0;
    for (const char of text) {
        const bytes = codePointUtf8Length(char.codePointAt(0) ?? 0);
        if (currentBytes + bytes > maxBytes) {
            chunks.push(current);
            current = "";
            currentBytes = 0;
        }
        current += char;
        currentBytes += bytes;
    }
    chunks.push(current);
    return chunks;
}

export function splitCreateOptions(options: CreateOptions): Record<string, string> {
    const text = serializeCreateOptions(options);
    const chunks = chunkUtf8(text, TWIN_VALUE_MAX_BYTES);
    if (chunks.length > CREATE_OPTIONS_MAX_CHUNKS) {
        throw new CreateOptionsError(
            `${Buffer.byteLength(text, "utf8")} bytes of JSON need ${chunks.length} chunks of ${TWIN_VALUE_MAX_BYTES} ` +
                `bytes; edgeAgent reads at most ${CREATE_OPTIONS_MAX_CHUNKS} (createOptions..createOptions99)`,
        );
    }
    const settings: Record<string, string> = {};
    chunks.forEach((chunk, index) => (settings[createOptionsKey(index)] = chunk));
    return settings;
}

/** The create options text edgeAgent would read from module settings ("" when there are none). */
export function joinCreateOptions(settings: Record<string, unknown>): string {
    const keys = Object.keys(settings).filter(isCreateOptionsKey).sort(byOrdinalIgnoringCase);
    if (keys.length > CREATE_OPTIONS_MAX_CHUNKS) {
        throw new CreateOptionsError(`${keys.length} chunks; edgeAgent reads at most ${CREATE_OPTIONS_MAX_CHUNKS} and drops the rest`);
    }
    keys.forEach((key, index) => {
        // edgeAgent matches the names ignoring case, as the schema's (createoptions|createOptions) does.
        if (key.toLowerCase() !== createOptionsKey(index).toLowerCase()) {
            throw new CreateOptionsError(
                `chunk ${index} is "${key}"; edgeAgent expects "${createOptionsKey(index)}" (no gaps, two-digit numbers)`,
            );
        }
    });
    return keys
        .map((key) => {
            const chunk = settings[key];
            if (typeof chunk !== "string") throw new CreateOptionsError(`"${key}" must be a string`);
            return chunk;
        })
        .join("");
}

function byOrdinalIgnoringCase(a: string, b: string): number {
    const [x, y] = [a.toLowerCase(), b.toLowerCase()];
    return x < y ? -1 : x > y ? 1 : 0;
}
