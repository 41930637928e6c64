// Where a registered model's files live and a read-only key to them: the model version's modelUri names a
// datastore (or a blob URL), the datastore names a storage account and container, and the account grants a
// short-lived read-only SAS. Everything comes from Azure, so nothing is typed by hand and no account key leaves it.
import * as pulumi from "@pulumi/pulumi";
import * as storage from "@pulumi/azure-native/storage";
import { blobDatastore } from "../ml";
import { parseModelUri } from "./modelUri";

export interface ModelBlob {
    blobEndpoint: string;
    containerName: string;
    path: string;
    /** Read-only SAS for the container; secret. */
    sasToken: string;
}

export interface ModelBlobArgs {
    modelUri: pulumi.Input<string>;
    /** The workspace the model is registered in: datastore names are resolved there. */
    resourceGroupName: pulumi.Input<string>;
    workspaceName: pulumi.Input<string>;
}

// Long enough for a slow download; rounded to the hour so repeated previews ask Azure the same question.
const SAS_HOURS = 2;

export function registeredModelBlob(args: ModelBlobArgs, component: pulumi.Resource): pulumi.Output<ModelBlob> {
    const opts = { parent: component };
    return pulumi.all([args.modelUri, args.resourceGroupName, args.workspaceName]).apply(([uri, resourceGroupName, workspaceName]) => {
        const location = parseModelUri(uri);
        const container =
            location.kind === "blob"
                ? // A plain blob URL carries no resource group: the workspace's own account is the usual case.
                  pulumi.output({
                      accountName: location.accountName,
                      containerName: location.containerName,
                      resourceGroup: resourceGroupName,
                  })
                : blobDatastore(
                      {
                          resourceGroupName: location.workspace?.resourceGroup ?? resourceGroupName,
                          workspaceName: location.workspace?.workspaceName ?? workspaceName,
                      },
                      location.datastore,
                      component,
                  );
        return container.apply((c) => {
            const account = storage.getStorageAccountOutput({ accountName: c.accountName, resourceGroupName: c.resourceGroup }, opts);
            const sas = storage.listStorageAccountServiceSASOutput(
                {
                    accountName: c.accountName,
                    resourceGroupName: c.resourceGroup,
                    canonicalizedResource: `/blob/${c.accountName}/${c.containerName}`,
                    resource: storage.SignedResource.C,
                    // Read the blobs, and list them: a model registered as a folder is every blob under its path.
                    permissions: "rl",
                    protocols: storage.HttpProtocol.Https,
                    sharedAccessExpiryTime: sasExpiry(),
                },
                opts,
            );
            return pulumi.all([account.primaryEndpoints, sas.serviceSasToken]).apply(([endpoints, sasToken]) => ({
                blobEndpoint: endpoints.blob ?? `https://${c.accountName}.blob.core.windows.net/`,
                containerName: c.containerName,
                path: location.path,
                sasToken: sasToken ?? "",
            }));
        });
    });
}

function sasExpiry(): string {
    const hour = 3600_000;
    return new Date(Math.ceil(Date.now() / hour) * hour + SAS_HOURS * hour).toISOString().replace(/\.\d{3}Z$/, "Z");
}
