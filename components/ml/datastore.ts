// An Azure ML blob datastore resolved to the storage account and container behind it. Azure ML names the default
// datastore's container itself (azureml-blobstore-<guid>), so it is read, never guessed.
import * as pulumi from "@pulumi/pulumi";
import * as machinelearningservices from "@pulumi/azure-native/machinelearningservices";
import { AzureStateError } from "../shared";

export interface BlobDatastore {
    accountName: string;
    containerName: string;
    /** The account's resource group: the datastore's own when it names one, else the workspace's. */
    resourceGroup: string;
}

export function blobDatastore(
    workspace: { resourceGroupName: pulumi.Input<string>; workspaceName: pulumi.Input<string> },
    name: string,
    /** The component that asks; its invokes are its children and a datastore that is no blob store is its error. */
    component: pulumi.Resource,
): pulumi.Output<BlobDatastore> {
    const datastore = machinelearningservices.getDatastoreOutput({ ...workspace, name }, { parent: component });
    return pulumi.all([datastore.properties, workspace.resourceGroupName]).apply(([p, workspaceGroup]) => {
        if (p.datastoreType !== "AzureBlob" || !p.accountName || !p.containerName) {
            throw new AzureStateError(`datastore ${name} is ${p.datastoreType}, not a blob container`, component);
        }
        return { accountName: p.accountName, containerName: p.containerName, resourceGroup: p.resourceGroup ?? workspaceGroup };
    });
}
