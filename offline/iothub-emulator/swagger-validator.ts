/**
 * Checks requests against a service swagger (Swagger 2.0) read in place from the reference data
 * (offline/reference-data.ts): path template, method, declared path/query/header parameters, content type and body
 * schema. IoT Hub's by default; the DPS emulator (../dps-emulator) checks its service API against DPS's with its own
 * api-versions and case-insensitive paths (SwaggerOptions).
 *
 * The spec is taken literally except where the real service is known to accept more, because the SDK relies on it:
 *  - api-version: IoT Hub's spec says 2020-09-30, and the azure-iothub SDK sends 2021-04-12 on the same paths
 *    (each emulator says which versions it accepts);
 *  - `{"type": "object"}` with nothing else is AutoRest's "any value" (C# `object`): twin tags and desired
 *    properties hold strings and numbers although the spec says object;
 *  - string enums compare case-insensitively, as the service deserializes them (the SDK sends importMode
 *    `UpdateIfMatchETag` where the spec lists `updateIfMatchETag`);
 *  - optional properties may be null: the service returns nulls for unset fields and the SDK sends them back;
 *  - date-time values may omit the UTC offset, as the service's own timestamps do.
 */
import { readFileSync } from "fs";
import { IncomingHttpHeaders } from "http";
import Ajv, { ErrorObject, ValidateFunction } from "ajv-draft-04";
import { IOTHUB_SWAGGER, referencePath } from "../reference-data";

export const SPEC_API_VERSION = "2020-09-30";
export const SDK_API_VERSION = "2021-04-12";
const SPEC_SCHEMA_KEY = "service-swagger";

/** How a service departs from its swagger in what it accepts; the default is IoT Hub's. */
export interface SwaggerOptions {
    /** The api-version values accepted (the spec's and what the SDK sends). */
    apiVersions: readonly string[];
    /** Literal path segments match whatever their case (the service routes them so, and an SDK relies on it). */
    caseInsensitivePaths?: boolean;
}

const IOTHUB_OPTIONS: SwaggerOptions = { apiVersions: [SPEC_API_VERSION, SDK_API_VERSION] };

export function defaultSwaggerPath(): string {
    return referencePath(IOTHUB_SWAGGER);
}

interface SwaggerParameter {
    name: string;
    in: "path" | "query" | "header" | "body";
    required?: boolean;
    type?: string;
    schema?: unknown;
}

interface SwaggerOperation {
    operationId: string;
    consumes?: string[];
    parameters?: (SwaggerParameter | { $ref: string })[];
}

interface SwaggerDocument {
    paths: Record<string, Record<string, SwaggerOperation>>;
    definitions: Record<string, unknown>;
    parameters: Record<string, SwaggerParameter>;
}

interface Route {
    template: string;
    segments: ({ literal: string } | { parameter: string })[];
    literalCount: number;
    operations: Map<string, SwaggerOperation>;
}

export interface IncomingRequest {
    method: string;
    pathname: string;
    query: URLSearchParams;
    headers: IncomingHttpHeaders;
    body: string;
}

export interface MatchedRequest {
    operationId: string;
    pathParameters: Record<string, string>;
    /** The parsed JSON body, already checked against the operation's body schema; undefined when there is none. */
    body: unknown;
}

/** What the server asks of each request: its operation, path parameters and parsed body (or a violation). */
export interface RequestMatcher {
    /** Whether requests are checked against the swagger (false: routed only, see route-table.ts). */
    readonly validates: boolean;
    validate(request: IncomingRequest): MatchedRequest;
}

/** A request the spec does not allow; `operationId` is set when the route matched but a parameter or the body did not. */
export class SpecViolation extends Error {
    constructor(
        message: string,
        readonly operationId?: string,
    ) {
        super(message);
    }
}

const validatorsByFile = new Map<string, SwaggerValidator>();

/** Splits a path template or a request path into segments; `{name}` segments are parameters. */
export function templateSegments(template: string): ({ literal: string } | { parameter: string })[] {
    return template
        .split("/")
        .filter(Boolean)
        .map((segment) => {
            const parameter = /^\{(.+)\}$/.exec(segment);
            return parameter ? { parameter: parameter[1] } : { literal: segment };
        });
}

/** Path parameters of `segments` (a request path, split) under a template's segments, or undefined when it does not match. */
export function matchTemplate(
    template: ({ literal: string } | { parameter: string })[],
    segments: string[],
    caseInsensitive = false,
): Record<string, string> | undefined {
    if (template.length !== segments.length) return undefined;
    const parameters: Record<string, string> = {};
    for (const [index, expected] of template.entries()) {
        const actual = segments[index];
        if ("literal" in expected) {
            const same = caseInsensitive ? expected.literal.toLowerCase() === actual.toLowerCase() : expected.literal === actual;
            if (!same) return undefined;
            continue;
        }
        try {
            parameters[expected.parameter] = decodeURIComponent(actual);
        } catch {
            return undefined;
        }
    }
    return parameters;
}

export class SwaggerValidator implements RequestMatcher {
    readonly validates = true;
    private readonly ajv = createAjv();
    private readonly routes: Route[];
    private readonly bodyValidators = new Map<string, ValidateFunction>();

    /**
     * One validator per spec file (and options) per process: compiling schemas is the expensive part and the spec
     * does not change.
     */
    static forFile(file: string = defaultSwaggerPath(), options: SwaggerOptions = IOTHUB_OPTIONS): SwaggerValidator {
        const key = JSON.stringify([file, options]);
        let validator = validatorsByFile.get(key);
        if (!validator) {
            validator = new SwaggerValidator(JSON.parse(readFileSync(file, "utf8")) as SwaggerDocument, options);
            validatorsByFile.set(key, validator);
        }
        return validator;
    }

    private constructor(
        private readonly spec: SwaggerDocument,
        private readonly options: SwaggerOptions,
    ) {
        this.ajv.addSchema({ definitions: relaxSchema(spec.definitions, "map") }, SPEC_SCHEMA_KEY);
        this.routes = Object.entries(spec.paths).map(([template, operations]) => {
            const segments = templateSegments(template);
            return {
                template,
                segments,
                literalCount: segments.filter((segment) => "literal" in segment).length,
                operations: new Map(Object.entries(operations).map(([method, operation]) => [method.toUpperCase(), operation])),
            };
        });
    }

    /** Returns the matched operation with its parameters and parsed body, or throws a SpecViolation naming what is wrong. */
    validate(request: IncomingRequest): MatchedRequest {
        const { route, pathParameters } = this.matchRoute(request);
        const operation = route.operations.get(request.method);
        if (!operation) throw new Error("unreachable: matchRoute only returns routes defining the method");
        const violation = (message: string): SpecViolation =>
            new SpecViolation(`${operation.operationId} (${request.method} ${route.template}): ${message}`, operation.operationId);

        let bodyParameter: SwaggerParameter | undefined;
        const declaredQuery = new Set<string>();
        for (const parameter of this.parametersOf(operation)) {
            if (parameter.in === "body") bodyParameter = parameter;
            if (parameter.in === "query") declaredQuery.add(parameter.name);
            if (parameter.in === "query" || parameter.in === "header") {
                const raw = parameter.in === "query" ? request.query.get(parameter.name) : headerValue(request.headers, parameter.name);
                const problem = checkSimpleParameter(parameter, raw ?? undefined, this.options.apiVersions);
                if (problem) throw violation(problem);
            }
        }
        for (const name of request.query.keys()) {
            if (!declaredQuery.has(name)) throw violation(`unknown query parameter '${name}'`);
        }
        return { operationId: operation.operationId, pathParameters, body: this.checkBody(operation, bodyParameter, request, violation) };
    }

    private matchRoute(request: IncomingRequest): { route: Route; pathParameters: Record<string, string> } {
        const segments = request.pathname.split("/").filter(Boolean);
        const matching = this.routes
            .map((route) => ({ route, pathParameters: matchTemplate(route.segments, segments, this.options.caseInsensitivePaths) }))
            .filter((candidate): candidate is { route: Route; pathParameters: Record<string, string> } => !!candidate.pathParameters);
        if (matching.length === 0) throw new SpecViolation(`no operation in the spec matches path ${request.pathname}`);
        const withMethod = matching.filter((candidate) => candidate.route.operations.has(request.method));
        if (withMethod.length === 0) {
            const templates = matching.map((candidate) => candidate.route.template).join(", ");
            throw new SpecViolation(`method ${request.method} is not defined for ${templates}`);
        }
        // /devices/query must win over /devices/{id}: prefer the template with the most literal segments.
        return withMethod.reduce((best, candidate) => (candidate.route.literalCount > best.route.literalCount ? candidate : best));
    }

    private parametersOf(operation: SwaggerOperation): SwaggerParameter[] {
        return (operation.parameters ?? []).map((parameter) => {
            if (!("$ref" in parameter)) return parameter;
            const name = parameter.$ref.replace(/^#\/parameters\//, "");
            const resolved = this.spec.parameters[name];
            if (!resolved) throw new Error(`spec references unknown parameter ${parameter.$ref}`);
            return resolved;
        });
    }

    private checkBody(
        operation: SwaggerOperation,
        parameter: SwaggerParameter | undefined,
        request: IncomingRequest,
        violation: (message: string) => SpecViolation,
    ): unknown {
        if (!parameter) {
            if (request.body.length > 0) throw violation("the operation takes no body but one was sent");
            return undefined;
        }
        if (request.body.length === 0) {
            if (parameter.required) throw violation(`missing required body '${parameter.name}'`);
            return undefined;
        }
        const contentType = headerValue(request.headers, "content-type") ?? "";
        const consumes = operation.consumes ?? [];
        if (consumes.length > 0 && !consumes.some((type) => contentType.toLowerCase().startsWith(type))) {
            throw violation(`content-type '${contentType}' is not one of ${consumes.join(", ")}`);
        }
        let body: unknown;
        try {
            body = JSON.parse(request.body);
        } catch {
            throw violation(`body '${parameter.name}' is not valid JSON`);
        }
        const validate = this.bodyValidator(operation.operationId, parameter);
        if (!validate(body)) throw violation(`body '${parameter.name}': ${describeErrors(validate.errors ?? [])}`);
        return body;
    }

    private bodyValidator(operationId: string, parameter: SwaggerParameter): ValidateFunction {
        let validate = this.bodyValidators.get(operationId);
        if (!validate) {
            validate = this.ajv.compile(relaxSchema(parameter.schema, "schema") as object);
            this.bodyValidators.set(operationId, validate);
        }
        return validate;
    }
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
    const value = headers[name.toLowerCase()];
    return Array.isArray(value) ? value.join(",") : value;
}

function checkSimpleParameter(parameter: SwaggerParameter, value: string | undefined, apiVersions: readonly string[]): string | undefined {
    const label = `${parameter.in} parameter '${parameter.name}'`;
    if (value === undefined) return parameter.required ? `missing required ${label}` : undefined;
    if (parameter.name === "api-version" && !apiVersions.includes(value)) {
        return `${label} '${value}' is not one of ${apiVersions.join(", ")}`;
    }
    if (parameter.type === "integer" && !/^-?\d+$/.test(value)) return `${label} '${value}' is not an integer`;
    if (parameter.type === "boolean" && !/^(true|false)$/i.test(value)) return `${label} '${value}' is not a boolean`;
    return undefined;
}

/** Readable errors, without the noise of the null alternative `nullable` added ("must be null", "must match anyOf"). */
function describeErrors(errors: ErrorObject[]): string {
    return errors
        .filter((error) => error.keyword !== "anyOf" && !(error.keyword === "type" && error.params.type === "null"))
        .slice(0, 5)
        .map((error) => {
            const where = error.instancePath || "(root)";
            const message =
                error.keyword === "enumIgnoringCase"
                    ? `must be one of ${(error.schema as string[]).join(", ")}`
                    : (error.message ?? error.keyword).replace(/,null$/, "");
            return `${where} ${message}`;
        })
        .join("; ");
}

function createAjv(): Ajv {
    // validateSchema off: checking the (fixed) spec's schemas against the draft-04 meta-schema cost ~45 ms per
    // process, paid by every offline plan; a schema Ajv cannot use still fails to compile.
    const ajv = new Ajv({ strict: false, allErrors: true, verbose: true, validateSchema: false });
    ajv.addFormat("int32", { type: "number", validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
    ajv.addFormat("int64", { type: "number", validate: (n: number) => Number.isInteger(n) });
    ajv.addFormat("date-time", /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/i);
    ajv.addKeyword({
        keyword: "enumIgnoringCase",
        type: "string",
        schemaType: "array",
        validate: (allowed: string[], value: string) => allowed.some((option) => option.toLowerCase() === value.toLowerCase()),
    });
    return ajv;
}

type SchemaNode = Record<string, unknown>;

const isSchemaNode = (value: unknown): value is SchemaNode => typeof value === "object" && value !== null && !Array.isArray(value);

/** AutoRest's `object`: `{"type": "object"}` with at most a description, i.e. any JSON value. */
function isAnyValue(node: SchemaNode): boolean {
    return node.type === "object" && Object.keys(node).every((key) => key === "type" || key === "description");
}

/**
 * Rewrites a spec schema for validation: `#/definitions/X` refs point into the registered spec, and the relaxations
 * listed in the file comment apply. `kind` says whether `value` is a schema or a map of name → schema.
 */
function relaxSchema(value: unknown, kind: "schema" | "map"): unknown {
    if (!isSchemaNode(value)) return value;
    if (kind === "map") {
        return Object.fromEntries(Object.entries(value).map(([name, schema]) => [name, relaxSchema(schema, "schema")]));
    }
    if (isAnyValue(value)) return {};
    const result: SchemaNode = {};
    for (const [key, child] of Object.entries(value)) {
        if (key === "$ref" && typeof child === "string") {
            result.$ref = `${SPEC_SCHEMA_KEY}${child}`;
        } else if (key === "enum" && Array.isArray(child) && child.every((option) => typeof option === "string")) {
            result.enumIgnoringCase = child;
        } else if (key === "properties") {
            result.properties = Object.fromEntries(
                Object.entries(child as SchemaNode).map(([name, schema]) => [name, nullable(relaxSchema(schema, "schema"))]),
            );
        } else if (key === "items" || key === "additionalProperties") {
            result[key] = relaxSchema(child, "schema");
        } else {
            result[key] = child;
        }
    }
    return result;
}

function nullable(schema: unknown): unknown {
    if (!isSchemaNode(schema) || Object.keys(schema).length === 0) return schema;
    if (typeof schema.type === "string") return { ...schema, type: [schema.type, "null"] };
    return { anyOf: [schema, { type: "null" }] };
}
