// Builds configuration sources for loader tests from the real project defaults plus a stack's own values.
import * as assert from "assert";
import { loadConfig, type ConfigSource } from "../../components/config/loader";
import { ConfigError } from "../../components/shared";
import { REPO_ROOT, readStackConfig } from "../../offline/engine";

/** The dev stack's effective configuration with some project keys replaced (undefined removes one). */
export function devConfigWith(overrides: Record<string, unknown>, stack = "dev"): ConfigSource {
    return { stack, values: readStackConfig("dev", undefined, overrides).values, projectDir: REPO_ROOT };
}

/** The created-resource side of a config section, failing the test if the stack names an existing one. */
export function created<T extends { existing: boolean }>(section: T): Extract<T, { existing: false }> {
    if (section.existing) throw new Error(`expected a resource the stack creates, got an existing one: ${JSON.stringify(section)}`);
    return section as Extract<T, { existing: false }>;
}

/** The ConfigError loading the dev stack with `overrides` raises, failing the test if it loads. */
export function configRejection(overrides: Record<string, unknown>, stack?: string): ConfigError {
    try {
        loadConfig(devConfigWith(overrides, stack));
    } catch (error) {
        if (error instanceof ConfigError) return error;
        throw error;
    }
    assert.fail(`expected ${JSON.stringify(overrides)} to be rejected`);
}
