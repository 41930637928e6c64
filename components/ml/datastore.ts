// An Azure ML blob datastore resolved to the storage account and container behind it. Azure ML names the default
// datastore's container itself (azureml-blobstore-<guid>), so it is read, never guessed.
import * as pulumi from "@pulumi/pulumi";
import * as machinelearningservices from "@pulumi/azure-native/machinelearningservices";
import { AzureStateError } from "../shared/azure";

export interface BlobDatastore {
    accountName: string;
    containerName: string;
    /** The account's resource group: the datastore's own when it names one, else the workspace's. */
    resourceGroup: string;
}

export function blobDatastore(
    workspace: { resourceGroupName: pulumi.Input<string>; workspaceName: pulumi.Input<string> },
    name: string,
    opts: pulumi.InvokeOptions,
): pulumi.Output<BlobDatastore> {
    const datastore = machinelearningservices.getDatastoreOutput({ ...workspace, name }, opts);
    return pulumi.all([datastore.properties, workspace.resourceGroupName]).apply(([p, workspaceGroup]) => {
        if (p.datastoreType !== "AzureBlob" || !p.accountName || !p.containerName) {
            throw new AzureStateError(`datastore ${name} is ${p.datastoreType}, not a blob container`);
        }
        return { accountName: p.accountName, containerName: p.containerName, resourceGroup: p.resourceGroup ?? workspaceGroup };
    });
}
