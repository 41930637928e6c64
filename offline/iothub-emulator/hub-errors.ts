/**
 * Errors as the IoT Hub service reports them. The body shape matters: the SDK's `Http.parseErrorBody` reads
 * `Message` as `ErrorCode:<code>;<text>` and `RestApiClient.translateError` uses the code to pick typed errors
 * (e.g. `DeviceNotFoundError` needs code `DeviceNotFound` on a 404).
 */
export class HubError extends Error {
    constructor(
        readonly status: number,
        readonly code: string,
        message: string,
    ) {
        super(message);
    }
}

export interface HubErrorBody {
    Message: string;
    ExceptionMessage: string;
}

export function hubErrorBody(code: string, message: string): HubErrorBody {
    // The SDK keeps only the text between the first and second ';', so a ';' inside the text would truncate it.
    return { Message: `ErrorCode:${code};${message.replace(/;/g, ",")}`, ExceptionMessage: "Tracking ID:iothub-emulator" };
}

export const notFound = (code: string, message: string): HubError => new HubError(404, code, message);
export const badRequest = (code: string, message: string): HubError => new HubError(400, code, message);
export const conflict = (code: string, message: string): HubError => new HubError(409, code, message);
export const preconditionFailed = (message: string): HubError => new HubError(412, "PreconditionFailed", message);
