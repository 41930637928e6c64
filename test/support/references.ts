// Tests whose oracle is reference data (offline/reference-data.ts) ask for it here first. Missing, the test - or,
// from a `before` hook, its whole suite - is skipped, the missing file named in each skipped test's title so the
// report says why; never passed, never crashed on ENOENT. With EDGEML_REQUIRE_REFERENCES=1 (CI) a missing oracle
// is a failure instead, saying which file, where it was looked for, and to run `npm run fetch-references`.
import { missingReferenceMessage, missingReferences, referencePath, referencesRequired } from "../../offline/reference-data";

/** What scripts/test.sh looks for in the report to name the skipped oracles; pytest's skips say the same. */
export const SKIP_MARK = "oracle missing:";

let announced = false;

/**
 * Skips (or, when references are required, fails) the calling test or hook unless every named reference file is
 * there: a file ("iothub-service-swagger.json") or, ending with "/", every listed file of a folder ("azure-types/").
 * Returns the path of the first. Use `function () {}`, not an arrow, to have mocha's `this`.
 */
export function requireReference(context: Mocha.Context, name: string, ...more: string[]): string {
    const missing = missingReferences([name, ...more]);
    if (missing.length === 0) return referencePath(name);
    const message = missingReferenceMessage(missing);
    if (referencesRequired()) throw new Error(message);
    const mark = ` [${SKIP_MARK} ${missing.join(", ")}]`;
    const runnable = context.test;
    // A hook skips every test below its suite; a test only itself. (Runnable's type does not declare `type`.)
    const inHook = (runnable as { type?: string } | undefined)?.type === "hook";
    const skipped = inHook ? testsOf(runnable?.parent) : runnable ? [runnable] : [];
    for (const test of skipped) if (!test.title.endsWith(mark)) test.title += mark;
    // Where it looked and what to do, once: the skipped tests' titles name the files.
    if (!announced) {
        announced = true;
        console.log(`      (skipped: ${message})`);
    }
    return context.skip();
}

/** In a describe body: the suite's tests need these reference files (see requireReference). */
export function needsReference(name: string, ...more: string[]): void {
    before(function () {
        requireReference(this, name, ...more);
    });
}

function testsOf(suite: Mocha.Suite | undefined): Mocha.Runnable[] {
    return suite ? [...suite.tests, ...suite.suites.flatMap(testsOf)] : [];
}
