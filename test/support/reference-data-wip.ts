import * as fs from "fs";
import * as path from "path";
export function referencePath(relative: string): string | undefined {
    const file = path.resolve(__dirname, "..", "..", "..", "shared", "reference", relative);
    return fs.existsSync(file) ? file : undefined;
}
