import * as assert from "assert";
describe("smoke", () => { it("runs", () => assert.strictEqual(1 + 1, 2)); });
