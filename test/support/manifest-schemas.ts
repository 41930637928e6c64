/**
 * Checks a deployment manifest against the official IoT Edge JSON schemas (SchemaStore), read in place from
 * `iotedge-schemas/` of the reference data (offline/reference-data.ts): the whole manifest against deployment 2.0,
 * then edgeAgent's and edgeHub's desired properties against the schema for the schemaVersion they declare, as the
 * device would read them. The schemas are draft-04 (`id`) except edgeAgent 1.0 and edgeHub 1.0, which are draft-07
 * (`$id`); each is compiled by the matching Ajv class, non-strict because they use annotations Ajv does not know
 * (`examples`, `contentMediaType`).
 */
import { readFileSync } from "fs";
import * as path from "path";
import Ajv07 from "ajv";
import Ajv04 from "ajv-draft-04";
import type { ErrorObject, ValidateFunction } from "ajv";
import { referencePath } from "../../offline/reference-data";

/** The reference data's folder of them; tests ask for it first with requireReference(this, SCHEMAS). */
export const SCHEMAS = "iotedge-schemas/";

const MANIFEST_SCHEMA = "azure-iot-edge-deployment-2.0.json";
const EDGE_AGENT_SCHEMAS: Record<string, string> = {
    "1.0": "azure-iot-edgeagent-deployment-1.0.json",
    "1.1": "azure-iot-edgeagent-deployment-1.1.json",
};
const EDGE_HUB_SCHEMAS: Record<string, string> = {
    "1.0": "azure-iot-edgehub-deployment-1.0.json",
    "1.1": "azure-iot-edgehub-deployment-1.1.json",
    "1.2": "azure-iot-edgehub-deployment-1.2.json",
};

const ajv04 = new Ajv04({ strict: false, allErrors: true });
const ajv07 = new Ajv07({ strict: false, allErrors: true });
const compiled = new Map<string, ValidateFunction>();

/** Every schema violation, as "<schema file> <instance path> <message>"; empty when the manifest is valid. */
export function officialSchemaErrors(manifest: unknown): string[] {
    const content = (manifest as { modulesContent?: Record<string, unknown> } | undefined)?.modulesContent;
    return [
        ...errorsAgainst(MANIFEST_SCHEMA, manifest),
        ...twinErrors("$edgeAgent", content, EDGE_AGENT_SCHEMAS),
        ...twinErrors("$edgeHub", content, EDGE_HUB_SCHEMAS),
    ];
}

function twinErrors(twin: string, content: Record<string, unknown> | undefined, schemas: Record<string, string>): string[] {
    const twinContent = content?.[twin] as { "properties.desired"?: { schemaVersion?: unknown } } | undefined;
    const version = twinContent?.["properties.desired"]?.schemaVersion;
    const schema = typeof version === "string" ? schemas[version] : undefined;
    if (!schema)
        return [`${twin}: no official schema for schemaVersion ${JSON.stringify(version)} (known: ${Object.keys(schemas).join(", ")})`];
    // The per-version schemas describe the twin under its own key: { "$edgeAgent": { "properties.desired": ... } }.
    return errorsAgainst(schema, { [twin]: twinContent });
}

function errorsAgainst(schemaFile: string, data: unknown): string[] {
    const validate = validator(schemaFile);
    return validate(data) ? [] : (validate.errors ?? []).map((error) => `${schemaFile} ${describe(error)}`);
}

function validator(schemaFile: string): ValidateFunction {
    let validate = compiled.get(schemaFile);
    if (!validate) {
        const schema = JSON.parse(readFileSync(referencePath(path.join(SCHEMAS, schemaFile)), "utf8")) as { $schema?: string };
        const ajv = schema.$schema?.includes("draft-04") ? ajv04 : ajv07;
        validate = ajv.compile(schema);
        compiled.set(schemaFile, validate);
    }
    return validate;
}

function describe(error: ErrorObject): string {
    const params = error.params as Record<string, unknown>;
    const detail = params.additionalProperty ?? params.missingProperty ?? params.allowedValues;
    return `${error.instancePath || "/"} ${error.message}${detail === undefined ? "" : ` (${JSON.stringify(detail)})`}`;
}
