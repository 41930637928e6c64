/**
 * The subset of the IoT Hub query language the emulator understands: enough for deployment target conditions
 * (`tags.environment='prod' AND tags.site='x'`), custom/system metric queries and the twin queries a rollout
 * checker runs (`SELECT * FROM devices.modules WHERE moduleId='$edgeAgent' AND deviceId='d1'`).
 *
 *   query      := SELECT projection FROM (devices | devices.modules) [WHERE condition]
 *   projection := '*' | path [AS name] (',' path [AS name])*
 *   condition  := or;  or := and (OR and)*;  and := not (AND not)*;  not := NOT not | '(' condition ')' | comparison
 *   comparison := operand (= | != | <> | < | <= | > | >=) operand;  operand := path | 'string' | number | true | false | null
 *   path       := name ('.' (name | [[any text]]))*
 *
 * Anything else (functions, IN, arithmetic, GROUP BY) is rejected with a QuerySyntaxError rather than guessed at,
 * so a test that needs more fails loudly instead of silently matching nothing.
 *
 * Comparisons follow the service's (Cosmos DB) semantics: a missing property or a comparison between different
 * types is "undefined", which filters the row out under both `=` and `!=`, and NOT undefined stays undefined.
 */
import { Json, isJsonObject } from "./json";

export class QuerySyntaxError extends Error {}

type Literal = string | number | boolean | null;
type Operand = { kind: "path"; path: string[] } | { kind: "literal"; value: Literal };
type ComparisonOperator = "=" | "!=" | "<" | "<=" | ">" | ">=";

export type Condition =
    | { kind: "and" | "or"; left: Condition; right: Condition }
    | { kind: "not"; operand: Condition }
    | { kind: "compare"; operator: ComparisonOperator; left: Operand; right: Operand }
    | { kind: "everything" };

export type QuerySource = "devices" | "devices.modules";

export interface ParsedQuery {
    projection: "*" | { path: string[]; name: string }[];
    source: QuerySource;
    where: Condition;
}

type Token =
    | { kind: "name"; text: string }
    | { kind: "bracketName"; text: string }
    | { kind: "string"; text: string }
    | { kind: "number"; value: number }
    | { kind: "symbol"; text: string };

const SYMBOLS = ["<=", ">=", "!=", "<>", "=", "<", ">", "(", ")", ",", ".", "*"];

function tokenize(text: string): Token[] {
    const tokens: Token[] = [];
    let i = 0;
    while (i < text.length) {
        const rest = text.slice(i);
        const whitespace = /^\s+/.exec(rest);
        if (whitespace) {
            i += whitespace[0].length;
            continue;
        }
        if (rest.startsWith("[[")) {
            const end = rest.indexOf("]]");
            if (end < 0) throw new QuerySyntaxError(`unterminated [[ at offset ${i}`);
            tokens.push({ kind: "bracketName", text: rest.slice(2, end) });
            i += end + 2;
            continue;
        }
        if (rest[0] === "'" || rest[0] === '"') {
            const quote = rest[0];
            let value = "";
            let j = 1;
            for (;;) {
                if (j >= rest.length) throw new QuerySyntaxError(`unterminated string at offset ${i}`);
                if (rest[j] === quote && rest[j + 1] === quote) {
                    value += quote;
                    j += 2;
                } else if (rest[j] === quote) {
                    break;
                } else {
                    value += rest[j];
                    j += 1;
                }
            }
            tokens.push({ kind: "string", text: value });
            i += j + 1;
            continue;
        }
        const numberMatch = /^-?\d+(\.\d+)?/.exec(rest);
        if (numberMatch) {
            tokens.push({ kind: "number", value: Number(numberMatch[0]) });
            i += numberMatch[0].length;
            continue;
        }
        const nameMatch = /^[A-Za-z_$][A-Za-z0-9_$]*/.exec(rest);
        if (nameMatch) {
            tokens.push({ kind: "name", text: nameMatch[0] });
            i += nameMatch[0].length;
            continue;
        }
        const symbol = SYMBOLS.find((s) => rest.startsWith(s));
        if (!symbol) throw new QuerySyntaxError(`unexpected character '${rest[0]}' at offset ${i}`);
        tokens.push({ kind: "symbol", text: symbol });
        i += symbol.length;
    }
    return tokens;
}

class Parser {
    private position = 0;

    constructor(private readonly tokens: Token[]) {}

    parseQuery(): ParsedQuery {
        this.expectKeyword("SELECT");
        const projection = this.parseProjection();
        this.expectKeyword("FROM");
        const source = this.parseSource();
        const where = this.acceptKeyword("WHERE") ? this.parseCondition() : { kind: "everything" as const };
        this.expectEnd();
        return { projection, source, where };
    }

    parseStandaloneCondition(): Condition {
        const condition = this.parseCondition();
        this.expectEnd();
        return condition;
    }

    private parseProjection(): ParsedQuery["projection"] {
        if (this.acceptSymbol("*")) return "*";
        const fields: { path: string[]; name: string }[] = [];
        do {
            const path = this.parsePath();
            const name = this.acceptKeyword("AS") ? this.expectName() : path[path.length - 1];
            fields.push({ path, name });
        } while (this.acceptSymbol(","));
        return fields;
    }

    private parseSource(): QuerySource {
        const path = this.parsePath().join(".").toLowerCase();
        if (path === "devices" || path === "devices.modules") return path;
        throw new QuerySyntaxError(`unsupported FROM '${path}' (supported: devices, devices.modules)`);
    }

    private parseCondition(): Condition {
        let left = this.parseAnd();
        while (this.acceptKeyword("OR")) left = { kind: "or", left, right: this.parseAnd() };
        return left;
    }

    private parseAnd(): Condition {
        let left = this.parseNot();
        while (this.acceptKeyword("AND")) left = { kind: "and", left, right: this.parseNot() };
        return left;
    }

    private parseNot(): Condition {
        if (this.acceptKeyword("NOT")) return { kind: "not", operand: this.parseNot() };
        if (this.acceptSymbol("(")) {
            const inner = this.parseCondition();
            this.expectSymbol(")");
            return inner;
        }
        const left = this.parseOperand();
        const operator = this.parseOperator();
        return { kind: "compare", operator, left, right: this.parseOperand() };
    }

    private parseOperator(): ComparisonOperator {
        const token = this.next();
        if (token?.kind === "symbol") {
            if (token.text === "<>") return "!=";
            if (["=", "!=", "<", "<=", ">", ">="].includes(token.text)) return token.text as ComparisonOperator;
        }
        throw new QuerySyntaxError(`expected a comparison operator, got ${describe(token)}`);
    }

    private parseOperand(): Operand {
        const token = this.peek();
        if (token?.kind === "string") {
            this.position += 1;
            return { kind: "literal", value: token.text };
        }
        if (token?.kind === "number") {
            this.position += 1;
            return { kind: "literal", value: token.value };
        }
        if (token?.kind === "name") {
            const lower = token.text.toLowerCase();
            if (lower === "true" || lower === "false" || lower === "null") {
                this.position += 1;
                return { kind: "literal", value: lower === "null" ? null : lower === "true" };
            }
        }
        return { kind: "path", path: this.parsePath() };
    }

    private parsePath(): string[] {
        const path = [this.expectName()];
        while (this.acceptSymbol(".")) {
            const token = this.next();
            if (token?.kind !== "name" && token?.kind !== "bracketName") {
                throw new QuerySyntaxError(`expected a property name after '.', got ${describe(token)}`);
            }
            path.push(token.text);
        }
        return path;
    }

    private expectName(): string {
        const token = this.next();
        if (token?.kind === "name" || token?.kind === "bracketName") return token.text;
        throw new QuerySyntaxError(`expected a property name, got ${describe(token)}`);
    }

    private acceptKeyword(keyword: string): boolean {
        const token = this.peek();
        if (token?.kind === "name" && token.text.toUpperCase() === keyword) {
            this.position += 1;
            return true;
        }
        return false;
    }

    private expectKeyword(keyword: string): void {
        if (!this.acceptKeyword(keyword)) throw new QuerySyntaxError(`expected ${keyword}, got ${describe(this.peek())}`);
    }

    private acceptSymbol(symbol: string): boolean {
        const token = this.peek();
        if (token?.kind === "symbol" && token.text === symbol) {
            this.position += 1;
            return true;
        }
        return false;
    }

    private expectSymbol(symbol: string): void {
        if (!this.acceptSymbol(symbol)) throw new QuerySyntaxError(`expected '${symbol}', got ${describe(this.peek())}`);
    }

    private expectEnd(): void {
        if (this.peek()) throw new QuerySyntaxError(`unexpected ${describe(this.peek())}`);
    }

    private peek(): Token | undefined {
        return this.tokens[this.position];
    }

    private next(): Token | undefined {
        const token = this.tokens[this.position];
        this.position += 1;
        return token;
    }
}

function describe(token: Token | undefined): string {
    if (!token) return "end of query";
    if (token.kind === "number") return `${token.value}`;
    if (token.kind === "string") return `'${token.text}'`;
    return `'${token.text}'`;
}

export function parseQuery(text: string): ParsedQuery {
    return new Parser(tokenize(text)).parseQuery();
}

/** Parses a configuration's targetCondition; `*` targets every device, as on the service. */
export function parseTargetCondition(text: string): Condition {
    if (text.trim() === "*") return { kind: "everything" };
    return new Parser(tokenize(text)).parseStandaloneCondition();
}

function resolve(document: Json, operand: Operand): Json | undefined {
    if (operand.kind === "literal") return operand.value;
    let current: Json | undefined = document;
    for (const key of operand.path) {
        if (!isJsonObject(current)) return undefined;
        current = current[key];
    }
    return current;
}

function compare(operator: ComparisonOperator, left: Json | undefined, right: Json | undefined): boolean | undefined {
    if (left === undefined || right === undefined) return undefined;
    if (left === null || right === null) {
        if (operator === "=") return left === right;
        if (operator === "!=") return left !== right;
        return undefined;
    }
    if (typeof left !== typeof right || typeof left === "object") return undefined;
    switch (operator) {
        case "=":
            return left === right;
        case "!=":
            return left !== right;
        case "<":
            return left < right;
        case "<=":
            return left <= right;
        case ">":
            return left > right;
        case ">=":
            return left >= right;
    }
}

function evaluate(condition: Condition, document: Json): boolean | undefined {
    switch (condition.kind) {
        case "everything":
            return true;
        case "compare":
            return compare(condition.operator, resolve(document, condition.left), resolve(document, condition.right));
        case "not": {
            const inner = evaluate(condition.operand, document);
            return inner === undefined ? undefined : !inner;
        }
        case "and": {
            const left = evaluate(condition.left, document);
            const right = evaluate(condition.right, document);
            if (left === false || right === false) return false;
            return left === undefined || right === undefined ? undefined : true;
        }
        case "or": {
            const left = evaluate(condition.left, document);
            const right = evaluate(condition.right, document);
            if (left === true || right === true) return true;
            return left === undefined || right === undefined ? undefined : false;
        }
    }
}

export function matches(condition: Condition, document: Json): boolean {
    return evaluate(condition, document) === true;
}

/** Rows of `query` over the twins of its source (the caller picks device or module twins by `query.source`). */
export function runQuery(query: ParsedQuery, twins: readonly Json[]): Json[] {
    const selected = twins.filter((twin) => matches(query.where, twin));
    const { projection } = query;
    if (projection === "*") return selected;
    return selected.map((twin) => {
        const row: Record<string, Json> = {};
        for (const field of projection) {
            const value = resolve(twin, { kind: "path", path: field.path });
            if (value !== undefined) row[field.name] = value;
        }
        return row;
    });
}
