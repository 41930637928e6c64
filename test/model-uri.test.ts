import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { parseModelUri } from "../components/image/modelUri";
import { ModelUriError } from "../components/shared";
import { blobUrl } from "../components/image/stagedContext";

const SUB = "00000000-1111-2222-3333-444444444444";

describe("parseModelUri", () => {
    it("reads the long azureml:// form our registrations write, with the workspace", () => {
        assert.deepStrictEqual(
            parseModelUri(
                `azureml://subscriptions/${SUB}/resourcegroups/rg-ml/workspaces/mlw-edge/datastores/workspaceblobstore/paths/edgeml/models/temperature-anomaly/0123456789ab/model.json`,
            ),
            {
                kind: "datastore",
                datastore: "workspaceblobstore",
                path: "edgeml/models/temperature-anomaly/0123456789ab/model.json",
                workspace: { subscriptionId: SUB, resourceGroup: "rg-ml", workspaceName: "mlw-edge" },
            },
        );
    });

    it("accepts resourceGroups in any case, the ARM provider segment, and a trailing slash", () => {
        const expected = {
            kind: "datastore",
            datastore: "ds",
            path: "models/tree",
            workspace: { subscriptionId: SUB, resourceGroup: "RG", workspaceName: "ws" },
        };
        assert.deepStrictEqual(
            parseModelUri(`azureml://subscriptions/${SUB}/resourceGroups/RG/workspaces/ws/datastores/ds/paths/models/tree/`),
            expected,
        );
        assert.deepStrictEqual(
            parseModelUri(`AzureML://Subscriptions/${SUB}/RESOURCEGROUPS/RG/Workspaces/ws/Datastores/ds/Paths/models/tree//`),
            expected,
        );
        assert.deepStrictEqual(
            parseModelUri(
                `azureml://subscriptions/${SUB}/resourceGroups/RG/providers/Microsoft.MachineLearningServices/workspaces/ws/datastores/ds/paths/models/tree`,
            ),
            expected,
        );
    });

    it("reads the short datastore form without a workspace", () => {
        assert.deepStrictEqual(parseModelUri("azureml://datastores/workspaceblobstore/paths/LocalUpload/abc/model.json"), {
            kind: "datastore",
            datastore: "workspaceblobstore",
            path: "LocalUpload/abc/model.json",
        });
    });

    it("decodes percent-encoded path segments", () => {
        const location = parseModelUri("azureml://datastores/ds/paths/my%20models/caf%C3%A9/model.json");
        assert.strictEqual(location.kind === "datastore" && location.path, "my models/café/model.json");
    });

    it("reads https blob URLs of the public and other clouds, dropping any SAS query", () => {
        assert.deepStrictEqual(
            parseModelUri("https://mlstore01.blob.core.windows.net/azureml-blobstore-1234/models/a%20b/model.json?sv=2022&sig=abc"),
            {
                kind: "blob",
                blobEndpoint: "https://mlstore01.blob.core.windows.net/",
                accountName: "mlstore01",
                containerName: "azureml-blobstore-1234",
                path: "models/a b/model.json",
            },
        );
        const china = parseModelUri("https://MLSTORE02.blob.core.chinacloudapi.cn/c/folder/");
        assert.deepStrictEqual(china, {
            kind: "blob",
            blobEndpoint: "https://mlstore02.blob.core.chinacloudapi.cn/",
            accountName: "mlstore02",
            containerName: "c",
            path: "folder",
        });
        const gov = parseModelUri("https://acct.blob.core.usgovcloudapi.net/c/m.json");
        assert.strictEqual(gov.kind === "blob" && gov.blobEndpoint, "https://acct.blob.core.usgovcloudapi.net/");
    });

    it("reads a path-style emulator URL over http, keeping the port and account in the endpoint", () => {
        assert.deepStrictEqual(parseModelUri("http://127.0.0.1:10000/devstoreaccount1/models/m/model.json"), {
            kind: "blob",
            blobEndpoint: "http://127.0.0.1:10000/devstoreaccount1/",
            accountName: "devstoreaccount1",
            containerName: "models",
            path: "m/model.json",
        });
    });

    it("round-trips through blobUrl", () => {
        const location = parseModelUri("https://acct.blob.core.windows.net/c/dir%20x/%23hash%3Fq/model.json");
        assert.ok(location.kind === "blob");
        assert.strictEqual(location.path, "dir x/#hash?q/model.json");
        assert.strictEqual(
            blobUrl(location.blobEndpoint, location.containerName, location.path, "?sv=1&sig=s"),
            "https://acct.blob.core.windows.net/c/dir%20x/%23hash%3Fq/model.json?sv=1&sig=s",
        );
    });

    const rejected: Array<[string, RegExp]> = [
        ["azureml://jobs/abc-123/outputs/artifacts/paths/model/", /job output.*job service/],
        ["runs:/abc-123/model", /MLflow job output/],
        [`azureml://subscriptions/${SUB}/resourcegroups/rg/workspaces/ws/jobs/abc/outputs/artifacts/paths/model`, /job output/],
        ["azureml://datastores/ds/paths/", /path is empty/],
        ["azureml://datastores/ds/model.json", /expected datastores\/<datastore>\/paths\/<path>/],
        [`azureml://subscriptions/${SUB}/workspaces/ws/datastores/ds/paths/m`, /expected subscriptions\/<sub>\/resourcegroups/],
        ["azureml://datastores/ds/paths/a/../b", /\.\. segments/],
        ["azureml://datastores/ds/paths/a%ZZ", /malformed percent-encoding/],
        ["azureml://registries/azureml/models/m/versions/1", /expected datastores/],
        ["https://example.com/c/model.json", /not an Azure Blob Storage endpoint/],
        ["http://acct.blob.core.windows.net/c/model.json", /plain http is only accepted for a local storage emulator/],
        ["https://acct.blob.core.windows.net/container-only", /expected https:\/\/<account>\.blob/],
        ["s3://bucket/model.json", /unsupported scheme s3:/],
        ["model.json", /not a URI/],
    ];
    for (const [uri, reason] of rejected) {
        it(`rejects ${uri} with a message naming it and the accepted forms`, () => {
            assert.throws(
                () => parseModelUri(uri),
                (error: unknown) => {
                    assert.ok(error instanceof ModelUriError);
                    assert.ok(pulumi.RunError.isInstance(error), "printed by Pulumi without a stack trace");
                    assert.ok(error.message.includes(uri), error.message);
                    assert.match(error.message, reason);
                    assert.match(error.message, /accepted forms: azureml:\/\/subscriptions\/.*azureml:\/\/datastores\/.*https:\/\//);
                    return true;
                },
            );
        });
    }

    it("never repeats a SAS query in its message", () => {
        assert.throws(
            () => parseModelUri("https://example.com/c/model.json?sv=2022&sig=TOPSECRET"),
            (error: Error) => !error.message.includes("TOPSECRET") && error.message.includes("https://example.com/c/model.json?[redacted]"),
        );
    });
});
