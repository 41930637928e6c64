// The image test's verdict on /score: the module's answer against the framework's own predictions. It must be able
// to say no, or "equals the framework's predictions" in `npm run test:image` would prove nothing.
import * as assert from "assert";
import { sameAnswer } from "../scripts/image-test/scoring-client";

describe("the image test's comparison of /score with the framework's predictions", () => {
    it("accepts the same labels and probabilities within float tolerance", () => {
        assert.ok(sameAnswer([0, 1, 2], [0, 1, 2]));
        assert.ok(
            sameAnswer({ predictions: [1], probabilities: [[0.25, 0.75]] }, { predictions: [1], probabilities: [[0.2500000001, 0.75]] }),
        );
    });

    it("refuses another label, a probability off by more than 1e-6, a missing or extra field, or another length", () => {
        assert.ok(!sameAnswer([0, 1, 2], [0, 1, 1]));
        assert.ok(!sameAnswer({ p: [[0.25, 0.75]] }, { p: [[0.25, 0.7501]] }));
        assert.ok(!sameAnswer({ predictions: [1] }, { predictions: [1], probabilities: [[1]] }));
        assert.ok(!sameAnswer({ predictions: [1], extra: true }, { predictions: [1] }));
        assert.ok(!sameAnswer([0, 1], [0, 1, 2]));
        assert.ok(!sameAnswer("[0, 1]", [0, 1]), "JSON text is not the parsed answer");
        assert.ok(!sameAnswer({ anomaly: true, score: 1 }, { anomaly: false, score: 1 }));
    });
});
