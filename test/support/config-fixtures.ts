// Builds configuration sources for loader tests from the real project defaults plus a stack's own values.
import type { ConfigSource } from "../../components/config/loader";
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
