// The shared-key signatures of offline/storage-auth.ts, checked by a real validator (Azurite), and the offline
// engine's storage answers built on them: Azurite's endpoint, and a SAS made from what the invoke asks for.
import * as assert from "assert";
import { blobUrl } from "../components/image/stagedContext";
import { azureMocks, offlineBlobs } from "../offline/azure-answers";
import { Azurite, startAzurite } from "../offline/azurite";
import {
    AZURITE_ACCOUNT,
    AZURITE_ACCOUNT_KEY,
    SAS_VERSION,
    serviceSas,
    ServiceSasOptions,
    sharedKeyAuthorization,
} from "../offline/storage-auth";
import { restoreOfflineAzureAfterEach } from "./support/offline-state";

const HOUR = 3600_000;
const CONTAINER = "models-under-test";
const BLOB = "dir/a b+c.json";
const CONTENT = '{"x":1}';

/** Status, error code and body of a Get Blob with the given SAS. */
async function getBlob(endpoint: string, sas: string, container = CONTAINER, blob = BLOB) {
    const response = await fetch(blobUrl(endpoint, container, blob, sas));
    return {
        status: response.status,
        code: response.headers.get("x-ms-error-code"),
        body: await response.text(),
        type: response.headers.get("content-type"),
    };
}

describe("service SAS and SharedKey signatures, validated by Azurite", function () {
    this.timeout(30_000);
    let azurite: Azurite;
    const sas = (options: Partial<ServiceSasOptions> = {}) =>
        serviceSas({
            accountName: AZURITE_ACCOUNT,
            accountKey: AZURITE_ACCOUNT_KEY,
            containerName: CONTAINER,
            permissions: "r",
            expiry: new Date(Date.now() + HOUR),
            protocols: "https,http",
            ...options,
        });
    before(async () => {
        azurite = await startAzurite();
        await azurite.putBlob(CONTAINER, BLOB, CONTENT);
        await azurite.putBlob("another-container", BLOB, CONTENT);
    });
    after(() => azurite?.stop());

    it("makes the standard query: sv, st, se, sr, sp, spr and sig, URL-encoded", () => {
        const token = sas({ start: "2030-01-01T00:00:00Z", expiry: new Date("2030-01-01T02:00:00.123Z") });
        const fields = new URLSearchParams(token);
        assert.deepStrictEqual([...fields.keys()], ["sv", "st", "se", "sr", "sp", "spr", "sig"]);
        assert.deepStrictEqual(
            [fields.get("sv"), fields.get("st"), fields.get("se"), fields.get("sr"), fields.get("sp"), fields.get("spr")],
            [SAS_VERSION, "2030-01-01T00:00:00Z", "2030-01-01T02:00:00Z", "c", "r", "https,http"],
        );
        assert.match(token, /&se=2030-01-01T02%3A00%3A00Z&/);
        assert.match(fields.get("sig")!, /^[A-Za-z0-9+/]{43}=$/);
        assert.strictEqual(new URLSearchParams(sas({ blobName: BLOB })).get("sr"), "b");
    });

    it("a container or blob SAS with read permission gets the blob", async () => {
        for (const token of [sas(), `?${sas()}`, sas({ blobName: BLOB }), sas({ permissions: "rl", start: new Date(Date.now() - HOUR) })]) {
            assert.deepStrictEqual(await getBlob(azurite.endpoint, token), {
                status: 200,
                code: null,
                body: CONTENT,
                type: "application/json",
            });
        }
        const missing = await getBlob(azurite.endpoint, sas(), CONTAINER, "dir/nope.json");
        assert.deepStrictEqual([missing.status, missing.code], [404, "BlobNotFound"]);
    });

    it("Azurite refuses a changed, expired, premature, write-only, https-only or other container's SAS with 403", async () => {
        const valid = sas();
        const refusals: Array<[string, string, string]> = [
            [
                "wrong signature",
                valid.replace(/sig=[^&]*/, `sig=${encodeURIComponent(Buffer.alloc(32).toString("base64"))}`),
                "AuthorizationFailure",
            ],
            ["permissions changed after signing", valid.replace("sp=r", "sp=rw"), "AuthorizationFailure"],
            ["signed with another key", sas({ accountKey: Buffer.alloc(64, 1).toString("base64") }), "AuthorizationFailure"],
            ["expired", sas({ start: new Date(Date.now() - 2 * HOUR), expiry: new Date(Date.now() - HOUR) }), "AuthorizationFailure"],
            ["not valid yet", sas({ start: new Date(Date.now() + HOUR), expiry: new Date(Date.now() + 2 * HOUR) }), "AuthorizationFailure"],
            ["no read permission", sas({ permissions: "w" }), "AuthorizationPermissionMismatch"],
            ["https only, over http", sas({ protocols: "https" }), "AuthorizationProtocolMismatch"],
            ["another container's", sas({ containerName: "another-container" }), "AuthorizationFailure"],
        ];
        for (const [what, token, code] of refusals) {
            const answer = await getBlob(azurite.endpoint, token);
            assert.deepStrictEqual([answer.status, answer.code], [403, code], what);
            assert.match(answer.body, new RegExp(`<Error>\\s*<Code>${code}</Code>`), what);
        }
    });

    it("Put Blob signed with SharedKey: the account key is accepted, another key refused", async () => {
        const put = async (accountKey: string) => {
            const url = `${azurite.endpoint}${CONTAINER}/${encodeURIComponent("put test.json")}`;
            const headers: Record<string, string> = {
                "x-ms-date": new Date().toUTCString(),
                "x-ms-version": "2024-11-04",
                "x-ms-blob-type": "BlockBlob",
                "content-type": "application/json",
                "content-length": "2",
            };
            headers.authorization = sharedKeyAuthorization({ accountName: AZURITE_ACCOUNT, accountKey, method: "PUT", url, headers });
            const response = await fetch(url, { method: "PUT", headers, body: "{}" });
            return [response.status, response.headers.get("x-ms-error-code")];
        };
        assert.deepStrictEqual(await put(AZURITE_ACCOUNT_KEY), [201, null]);
        assert.deepStrictEqual(await put(Buffer.alloc(64, 1).toString("base64")), [403, "AuthorizationFailure"]);
        assert.strictEqual((await getBlob(azurite.endpoint, sas(), CONTAINER, "put test.json")).body, "{}");
    });
});

describe("the offline engine's storage answers", function () {
    this.timeout(30_000);
    restoreOfflineAzureAfterEach();
    const call = (token: string, inputs: Record<string, unknown>) => Promise.resolve(azureMocks.call({ token, inputs }));
    const sasInputs = (inputs: Record<string, unknown> = {}) => ({
        accountName: "stoffline",
        resourceGroupName: "ml-rg",
        canonicalizedResource: `/blob/stoffline/${CONTAINER}`,
        resource: "c",
        permissions: "r",
        protocols: "https",
        sharedAccessExpiryTime: new Date(Date.now() + HOUR).toISOString().replace(/\.\d{3}Z$/, "Z"),
        ...inputs,
    });
    const endpoint = async () => {
        const account = await call("azure-native:storage:getStorageAccount", { accountName: "stoffline", resourceGroupName: "ml-rg" });
        return String(account.primaryEndpoints.blob);
    };
    const sasToken = async (inputs: Record<string, unknown> = {}) =>
        String((await call("azure-native:storage:listStorageAccountServiceSAS", sasInputs(inputs))).serviceSasToken);

    it("points every account's blob endpoint at Azurite, holding offlineBlobs", async () => {
        offlineBlobs.set(`${CONTAINER}/${BLOB}`, Buffer.from(CONTENT));
        const blobEndpoint = await endpoint();
        assert.match(blobEndpoint, /^http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1\/$/);
        assert.strictEqual((await getBlob(blobEndpoint, await sasToken())).body, CONTENT);
        // A blob replaced or removed in offlineBlobs is replaced or removed in Azurite at the next storage answer.
        offlineBlobs.set(`${CONTAINER}/${BLOB}`, Buffer.from('{"x":2}'));
        assert.strictEqual((await getBlob(await endpoint(), await sasToken())).body, '{"x":2}');
        offlineBlobs.delete(`${CONTAINER}/${BLOB}`);
        assert.strictEqual((await getBlob(await endpoint(), await sasToken())).status, 404);
    });

    it("signs the SAS the invoke asks for: its permissions, expiry and resource, which Azurite then enforces", async () => {
        offlineBlobs.set(`${CONTAINER}/${BLOB}`, Buffer.from(CONTENT));
        const blobEndpoint = await endpoint();
        const expiry = new Date(Date.now() + 2 * HOUR).toISOString().replace(/\.\d{3}Z$/, "Z");
        const token = new URLSearchParams(await sasToken({ sharedAccessExpiryTime: expiry }));
        assert.deepStrictEqual(Object.fromEntries([...token].filter(([key]) => key !== "sig")), {
            sv: SAS_VERSION,
            se: expiry,
            sr: "c",
            sp: "r",
            spr: "https,http",
        });
        assert.strictEqual((await getBlob(blobEndpoint, token.toString())).status, 200);

        const writeOnly = await getBlob(blobEndpoint, await sasToken({ permissions: "w" }));
        assert.deepStrictEqual([writeOnly.status, writeOnly.code], [403, "AuthorizationPermissionMismatch"]);
        const expired = await getBlob(blobEndpoint, await sasToken({ sharedAccessExpiryTime: new Date(Date.now() - HOUR).toISOString() }));
        assert.deepStrictEqual([expired.status, expired.code], [403, "AuthorizationFailure"]);
        const otherContainer = await getBlob(blobEndpoint, await sasToken({ canonicalizedResource: "/blob/stoffline/another-container" }));
        assert.deepStrictEqual([otherContainer.status, otherContainer.code], [403, "AuthorizationFailure"]);
        const blobSas = await sasToken({ resource: "b", canonicalizedResource: `/blob/stoffline/${CONTAINER}/${BLOB}` });
        assert.strictEqual((await getBlob(blobEndpoint, blobSas)).status, 200);
    });

    it("refuses to sign what it cannot: a stored access policy, a missing expiry, a resource that is not a blob's", async () => {
        await assert.rejects(sasToken({ identifier: "policy-1" }), /stored access policy/);
        await assert.rejects(sasToken({ sharedAccessExpiryTime: undefined }), /needs permissions and sharedAccessExpiryTime/);
        await assert.rejects(
            sasToken({ canonicalizedResource: "/file/stoffline/share" }),
            /signs container \(c\) or blob \(b\) SAS tokens/,
        );
    });
});
