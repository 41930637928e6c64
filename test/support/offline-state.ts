// The offline Azure's module-level state that tests change (existingAzureState, offlineBlobs): a snapshot to put
// back afterwards, so no test's changes reach another's runs.
import { existingAzureState, offlineBlobs } from "../../offline/azure-answers";

/** Remembers the offline Azure's state now; the returned function puts it back exactly. */
export function snapshotOfflineAzure(): () => void {
    const state = new Map(existingAzureState);
    const blobs = new Map(offlineBlobs);
    return () => {
        existingAzureState.clear();
        for (const [id, value] of state) existingAzureState.set(id, value);
        offlineBlobs.clear();
        for (const [name, bytes] of blobs) offlineBlobs.set(name, bytes);
    };
}

/** Registers mocha hooks that restore the offline Azure's state after each test of the enclosing suite. */
export function restoreOfflineAzureAfterEach(): void {
    let restore: (() => void) | undefined;
    beforeEach(() => {
        restore = snapshotOfflineAzure();
    });
    afterEach(() => {
        restore?.();
        restore = undefined;
    });
}
