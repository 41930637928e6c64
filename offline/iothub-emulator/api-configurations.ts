/** Configuration (deployment) routes: /configurations and /configurations/{id}. */
import { ConfigurationInput } from "./deployment-store";
import { HubStores, OperationTable, ifMatchHeader, topParameter } from "./operations";

export function configurationOperations({ deployments }: HubStores): OperationTable {
    return {
        Configuration_Get: {
            mutates: false,
            handle: ({ pathParameters }) => ({ status: 200, body: deployments.get(pathParameters.id) }),
        },
        Configuration_GetConfigurations: {
            mutates: false,
            handle: (request) => ({ status: 200, body: deployments.list(topParameter(request)) }),
        },
        Configuration_CreateOrUpdate: {
            mutates: true,
            handle: (request) => {
                const { configuration, created } = deployments.put(
                    request.pathParameters.id,
                    request.body as ConfigurationInput,
                    ifMatchHeader(request),
                );
                return { status: created ? 201 : 200, body: configuration };
            },
        },
        Configuration_Delete: {
            mutates: true,
            handle: (request) => {
                deployments.delete(request.pathParameters.id, ifMatchHeader(request));
                return { status: 204 };
            },
        },
    };
}
