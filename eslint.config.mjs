// ESLint (flat config): @eslint/js's and typescript-eslint's recommended rules on the TypeScript sources. Style is
// Prettier's alone (.prettierrc.json): eslint-config-prettier, last, turns off every rule that would fight it.
// Run with `npm run lint`; `npm test` counts it as one step.
import js from "@eslint/js";
import { defineConfig, globalIgnores } from "eslint/config";
import prettier from "eslint-config-prettier";
import tseslint from "typescript-eslint";

export default defineConfig([
    globalIgnores(["node_modules/", "bin/", "out/", "scoring/", ".benchmarks/", "docs/"]),
    {
        files: ["index.ts", "components/**/*.ts", "offline/**/*.ts", "scripts/**/*.ts", "test/**/*.ts"],
        extends: [js.configs.recommended, tseslint.configs.recommended],
        rules: {
            // As tsc's noUnusedLocals/noUnusedParameters: `const { omitted: _omitted, ...rest } = x` and `_`-prefixed
            // names are deliberate.
            "@typescript-eslint/no-unused-vars": [
                "error",
                { ignoreRestSiblings: true, argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrorsIgnorePattern: "^_" },
            ],
            // `import X = require("m")` is TypeScript's own, type-checked CommonJS import.
            "@typescript-eslint/no-require-imports": ["error", { allowAsImport: true }],
        },
    },
    {
        // The offline engine, the emulators and the tests handle SDK internals and untyped wire payloads.
        files: ["offline/**/*.ts", "test/**/*.ts"],
        rules: { "@typescript-eslint/no-explicit-any": "off" },
    },
    {
        // hubClient.ts, dpsClient.ts: dynamic providers are serialized into state, so the SDK is required inside the
        // function. engine.ts: loads index.ts afresh through require.cache and patches @pulumi/pulumi's runtime internals.
        files: ["components/iot/hubClient.ts", "components/dps/dpsClient.ts", "offline/engine.ts"],
        rules: { "@typescript-eslint/no-require-imports": "off" },
    },
    {
        // The providers rethrow hub and DPS errors with a redacted message (describeHubError, describeDpsError);
        // attaching the SDK error as `cause` would carry its unredacted message, request and response (keys) along.
        files: ["components/iot/**/*.ts", "components/dps/**/*.ts"],
        rules: { "preserve-caught-error": "off" },
    },
    {
        // IoT Hub's twin rules forbid control characters: the regular expressions match them on purpose.
        files: ["components/iot/manifest/twinRules.ts"],
        rules: { "no-control-regex": "off" },
    },
    prettier,
]);
