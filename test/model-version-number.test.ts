// The model version numbering, through its provider's own methods as the engine calls them: a new model is version 1,
// the same file keeps its number, a changed file gets the next one, a new model name starts again (replacement).
import * as assert from "assert";
import { ModelVersionNumberProvider, type ModelVersionNumberOutputs } from "../components/ml";
import { UNKNOWN_VALUE } from "../components/shared";

const SHA_A = "a".repeat(64);
const SHA_B = "b".repeat(64);
const provider = new ModelVersionNumberProvider();

describe("model version numbers", () => {
    it("numbers a new model 1, keeps the number for the same file and takes the next for a new one", async () => {
        const created = await provider.create({ modelName: "anomaly", sha256: SHA_A });
        let state = created.outs as ModelVersionNumberOutputs;
        assert.strictEqual(state.version, "1");
        assert.deepStrictEqual(await provider.diff(created.id, state, { modelName: "anomaly", sha256: SHA_A }), {
            changes: false,
            replaces: [],
            deleteBeforeReplace: false,
        });
        for (const [sha, expected] of [
            [SHA_B, "2"],
            [SHA_A, "3"],
        ]) {
            const diff = await provider.diff(created.id, state, { modelName: "anomaly", sha256: sha });
            assert.deepStrictEqual([diff.changes, diff.replaces], [true, []], "new content is an update, never a replacement");
            state = (await provider.update(created.id, state, { modelName: "anomaly", sha256: sha })).outs as ModelVersionNumberOutputs;
            assert.strictEqual(state.version, expected);
        }
    });

    it("starts again at 1 for another model name, and decides nothing from unknown inputs", async () => {
        const state: ModelVersionNumberOutputs = { modelName: "anomaly", sha256: SHA_A, version: "4" };
        assert.deepStrictEqual((await provider.diff("anomaly:1", state, { modelName: "other", sha256: SHA_A })).replaces, ["modelName"]);
        const unknownName = await provider.diff("anomaly:1", state, { modelName: UNKNOWN_VALUE, sha256: SHA_A });
        assert.deepStrictEqual([unknownName.changes, unknownName.replaces], [true, []]);
        const unknownSha = await provider.diff("anomaly:1", state, { modelName: "anomaly", sha256: UNKNOWN_VALUE });
        assert.deepStrictEqual([unknownSha.changes, unknownSha.replaces], [true, []]);
        for (const news of [
            { modelName: UNKNOWN_VALUE, sha256: SHA_A },
            { modelName: "anomaly", sha256: UNKNOWN_VALUE },
        ]) {
            assert.deepStrictEqual((await provider.check(undefined, news)).failures, []);
        }
        assert.strictEqual(
            (await provider.check(undefined, { modelName: "anomaly", sha256: "not-a-hash" })).failures?.[0].property,
            "sha256",
        );
    });
});
