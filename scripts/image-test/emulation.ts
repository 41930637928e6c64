// linux/arm64 on an amd64 machine: QEMU user emulation through binfmt_misc (Debian's qemu-user-static registers
// its handlers with the F flag, so the interpreter is found inside containers too). Only `--arm64` asks for it; the
// handler stays registered afterwards, as any installed qemu-user-static leaves it.
import * as fs from "fs";
import { aptInstall, hasCommand, mustRun } from "./host";

const BINFMT = "/proc/sys/fs/binfmt_misc";

export async function ensureArm64Emulation(logFile: string): Promise<string> {
    if (process.arch === "arm64") return "not needed: this machine is arm64";
    const missing = !hasCommand("qemu-aarch64-static") || !hasCommand("update-binfmts");
    if (missing) await aptInstall(["qemu-user-static", "binfmt-support"], logFile);
    if (!fs.existsSync(`${BINFMT}/register`)) await mustRun("mount", ["-t", "binfmt_misc", "binfmt_misc", BINFMT]);
    const entry = `${BINFMT}/qemu-aarch64`;
    if (!fs.existsSync(entry) || !/^enabled$/m.test(fs.readFileSync(entry, "utf8")))
        await mustRun("update-binfmts", ["--enable", "qemu-aarch64"]);
    const handler = fs.readFileSync(entry, "utf8");
    const flags = /^flags: (\S*)$/m.exec(handler)?.[1] ?? "";
    if (!/^enabled$/m.test(handler) || !flags.includes("F"))
        throw new Error(`${entry} is not enabled with the F flag (flags: ${flags || "none"}): containers could not find the interpreter`);
    return `${missing ? "installed qemu-user-static binfmt-support; " : ""}${entry} enabled, flags ${flags}`;
}
