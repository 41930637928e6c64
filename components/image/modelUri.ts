// Where a registered Azure ML model version keeps its file, read from its modelUri, so a stack can ship a model
// that was registered elsewhere. Only references that resolve to a blob without the job service are accepted.
import { ModelUriError } from "../shared";

export interface WorkspaceRef {
    subscriptionId: string;
    resourceGroup: string;
    workspaceName: string;
}

export type ModelLocation =
    /** A path in a workspace datastore; the datastore names the storage account and container. */
    | { kind: "datastore"; datastore: string; path: string; workspace?: WorkspaceRef }
    /** A blob addressed directly; blobEndpoint ends with "/" (https://acct.blob.core.windows.net/, or path-style). */
    | { kind: "blob"; blobEndpoint: string; accountName: string; containerName: string; path: string };

const ACCEPTED =
    "accepted forms: azureml://subscriptions/<sub>/resourcegroups/<rg>/workspaces/<ws>/datastores/<datastore>/paths/<path>, " +
    "azureml://datastores/<datastore>/paths/<path>, https://<account>.blob.<cloud suffix>/<container>/<path>";

export function parseModelUri(uri: string): ModelLocation {
    const trimmed = uri.trim();
    // The query of an https URI may be a SAS token: never repeat it in a message.
    const shown = trimmed.replace(/[?#].*$/s, (rest) => (rest.startsWith("?") ? "?[redacted]" : ""));
    const fail = (reason: string): never => {
        throw new ModelUriError(shown, reason, ACCEPTED);
    };
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(trimmed)?.[1].toLowerCase();
    if (scheme === "runs")
        fail(
            "runs:/ refers to an MLflow job output, which only the Azure ML job service can resolve; register the model file itself and use that version",
        );
    if (scheme === "azureml") return parseAzureml(trimmed.replace(/[?#].*$/s, ""), fail);
    if (scheme === "https" || scheme === "http") return parseBlobUrl(trimmed, fail);
    return fail(scheme ? `unsupported scheme ${scheme}:` : "not a URI");
}

function parseAzureml(uri: string, fail: (reason: string) => never): ModelLocation {
    const segments = uri
        .replace(/^azureml:\/\//i, "")
        .replace(/\/+$/, "")
        .split("/");
    const keyword = (index: number, ...names: string[]) => names.includes(segments[index]?.toLowerCase() ?? "");
    let workspace: WorkspaceRef | undefined;
    let at = 0;
    if (keyword(0, "jobs", "runs")) {
        fail(
            "it names a job output, which only the Azure ML job service can resolve to a blob; register the model file itself and use that version",
        );
    }
    if (keyword(0, "subscriptions")) {
        // ARM ids spell it resourceGroups, Azure ML URIs resourcegroups; some tools add the provider segment.
        const provider = keyword(4, "providers") && segments[5]?.toLowerCase() === "microsoft.machinelearningservices" ? 2 : 0;
        if (!keyword(2, "resourcegroups") || !keyword(4 + provider, "workspaces") || segments.length < 6 + provider) {
            fail("expected subscriptions/<sub>/resourcegroups/<rg>/workspaces/<ws>/ before datastores/");
        }
        const [subscriptionId, resourceGroup, workspaceName] = [segments[1], segments[3], segments[5 + provider]].map((s) =>
            decode(s, fail),
        );
        if (!subscriptionId || !resourceGroup || !workspaceName) fail("empty subscription, resource group or workspace");
        workspace = { subscriptionId, resourceGroup, workspaceName };
        at = 6 + provider;
    }
    if (!keyword(at, "datastores") || !keyword(at + 2, "paths") || !segments[at + 1]) {
        fail(
            keyword(at, "jobs")
                ? "it names a job output, which only the Azure ML job service can resolve to a blob"
                : "expected datastores/<datastore>/paths/<path>",
        );
    }
    const datastore = decode(segments[at + 1], fail);
    const path = blobPath(segments.slice(at + 3), fail);
    return workspace ? { kind: "datastore", datastore, path, workspace } : { kind: "datastore", datastore, path };
}

function parseBlobUrl(uri: string, fail: (reason: string) => never): ModelLocation {
    let url: URL;
    try {
        url = new URL(uri);
    } catch {
        return fail("not a valid URL");
    }
    const segments = url.pathname.replace(/^\/+/, "").replace(/\/+$/, "").split("/");
    const hostStyle = /^([a-z0-9]{3,24})\.(?:z\d{2}\.)?blob\.[a-z0-9.-]+$/i.exec(url.hostname);
    // <account>.blob.core.windows.net, other clouds' suffixes, and DNS-zone endpoints (<account>.z12.blob.storage.azure.net).
    if (hostStyle && url.protocol === "https:") {
        if (segments.length < 2 || !segments[0]) fail("expected https://<account>.blob.<cloud suffix>/<container>/<path>");
        return blobLocation(`https://${url.host}/`, hostStyle[1].toLowerCase(), segments, fail);
    }
    // Path-style (Azurite and the test emulator: http://127.0.0.1:10000/<account>/<container>/<path>), as the
    // Azure SDK decides it: an IP address or localhost host. Plain http is accepted only there.
    if (/^(localhost|host\.docker\.internal|\d{1,3}(\.\d{1,3}){3}|\[[0-9a-f:.]+\])$/i.test(url.hostname)) {
        if (segments.length < 3 || !segments[0]) fail("expected <endpoint>/<account>/<container>/<path> for a path-style endpoint");
        const account = decode(segments[0], fail);
        return blobLocation(`${url.protocol}//${url.host}/${segments[0]}/`, account, segments.slice(1), fail);
    }
    return fail(
        url.protocol === "http:"
            ? "plain http is only accepted for a local storage emulator"
            : `${url.hostname} is not an Azure Blob Storage endpoint`,
    );
}

function blobLocation(blobEndpoint: string, accountName: string, segments: string[], fail: (reason: string) => never): ModelLocation {
    const containerName = decode(segments[0], fail);
    return { kind: "blob", blobEndpoint, accountName, containerName, path: blobPath(segments.slice(1), fail) };
}

/** Decoded path segments joined with "/"; a blob name with empty or dot segments is a typo, not a model. */
function blobPath(segments: string[], fail: (reason: string) => never): string {
    const decoded = segments.map((s) => decode(s, fail));
    if (decoded.length === 0 || decoded.some((s) => s === "" || s === "." || s === ".."))
        fail("the path is empty or has empty, . or .. segments");
    return decoded.join("/");
}

function decode(segment: string, fail: (reason: string) => never): string {
    try {
        return decodeURIComponent(segment);
    } catch {
        return fail(`malformed percent-encoding in "${segment}"`);
    }
}
