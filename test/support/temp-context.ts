// A throwaway Docker build context for tests that change files and watch the image tag.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export function makeContext(files: Record<string, string>): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "edgeml-context-"));
    for (const [name, content] of Object.entries(files)) writeFile(dir, name, content);
    return dir;
}

export function writeFile(dir: string, name: string, content: string): void {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), content);
}
