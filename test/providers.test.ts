// The dynamic providers are serialized into Pulumi state and run by the CLI in another process: prove their
// code survives that trip (no reference to anything that cannot be serialized, modules required lazily).
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as path from "path";
import { REPO_ROOT } from "../offline/engine";
import { IOTHUB_SWAGGER } from "../offline/reference-data";
import { requireReference } from "./support/references";

describe("dynamic providers as Pulumi serializes them", function () {
    this.timeout(60_000);

    it("serialize, load in a fresh module scope, and still check and diff", function () {
        // The script drives the providers against the IoT Hub emulator, which checks every request against the swagger.
        requireReference(this, IOTHUB_SWAGGER);
        const script = path.join(REPO_ROOT, "test", "support", "serialize-providers.ts");
        const result = spawnSync(process.execPath, ["--import", require.resolve("tsx"), script], { cwd: REPO_ROOT, encoding: "utf8" });
        assert.strictEqual(result.status, 0, result.stderr);
        const report = JSON.parse(result.stdout.trim().split("\n").pop()!);
        assert.strictEqual(report.deviceCheck[0].property, "deviceId");
        assert.deepStrictEqual(report.deploymentDiff, { changes: true, replaces: ["content"], deleteBeforeReplace: false });
        assert.deepStrictEqual(report.versions, ["1", "2"], "the model version numbering, as serialized");
        assert.deepStrictEqual(report.tokenDiffs, [false, true], "a new ARM token alone changes nothing; a new rotation does");
        assert.strictEqual(report.revocationCheck[0].property, "keep");
        assert.strictEqual(report.groupCheck[0].property, "enrollmentGroupId");
        assert.deepStrictEqual(
            report.groupDiffs,
            [false, true, ["enrollmentGroupId"]],
            "the enrollment group: unchanged, a rotation, a new id",
        );
        assert.ok(
            report.sizes.every((size: number) => size < 200_000),
            `serialized sizes ${report.sizes}`,
        );
    });
});
