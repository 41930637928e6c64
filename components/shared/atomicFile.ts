// Writes a file so that no reader ever sees it half-written or with wider permissions than asked: a temp file in
// the same folder, created with the mode and fchmod-ed to exactly it (the umask only narrows a create mode),
// flushed, then renamed over the target. An old file with other permissions is replaced by a new inode rather
// than written through. Used for device keys (0600) and for the staged build context.
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as path from "path";

export function writeFileAtomically(file: string, content: string | Buffer, mode: number): void {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const temp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString("hex")}.tmp`);
    const fd = fs.openSync(temp, "wx", mode);
    try {
        try {
            fs.fchmodSync(fd, mode);
            fs.writeFileSync(fd, content);
            fs.fsyncSync(fd);
        } finally {
            fs.closeSync(fd);
        }
        fs.renameSync(temp, file);
    } catch (error) {
        fs.rmSync(temp, { force: true });
        throw error;
    }
}
