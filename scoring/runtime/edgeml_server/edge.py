"""IoT Edge front end: score messages arriving on the module input, send the answers to an output.

A message on INPUT_NAME (default amlInput) is presented to the app as POST /score with the message body
(Content-Type: the message's content type, else application/json) and goes through ScoringApp.score, the code
path of an HTTP POST /score. The output message carries exactly the bytes /score would answer, with the reply's
content type and charset (application/json, utf-8 unless run() returned an AMLResponse of another type) and
custom properties:
  scoringStatus      "scored" for a 2xx answer, "error" otherwise, so an edgeHub route can filter either way
  scoringStatusCode  the HTTP status /score would have answered ("200", "400", "500", ...)
Answers go to OUTPUT_NAME (default amlOutput), errors to ERROR_OUTPUT_NAME (default: the output). The output
message's correlation id is the input's message id, when it has one.

Everything but start_module_client is pure, so it is tested without the azure-iot-device SDK, which is imported
only there.
"""

import logging
from dataclasses import dataclass, field
from typing import Optional

from azureml.contrib.services.aml_request import AMLRequest

logger = logging.getLogger("edgeml.edge")

DEFAULT_CONTENT_TYPE = "application/json"
DEFAULT_ENCODING = "utf-8"


@dataclass(frozen=True)
class EdgeRoutes:
    input_name: str = "amlInput"
    output_name: str = "amlOutput"
    error_output_name: str = "amlOutput"

    @classmethod
    def from_config(cls, config):
        return cls(config.input_name, config.output_name, config.error_output_name)


@dataclass(frozen=True)
class OutgoingMessage:
    output_name: str
    body: bytes
    custom_properties: dict = field(default_factory=dict)
    content_type: str = DEFAULT_CONTENT_TYPE
    content_encoding: str = DEFAULT_ENCODING
    correlation_id: Optional[str] = None


def under_iot_edge(env):
    """The IoT Edge runtime gives every module IOTEDGE_* variables (workload URI, module id, ...)."""
    return any(name.startswith("IOTEDGE_") for name in env)


def message_request(message):
    """The request a received message is scored as: POST /score with its body."""
    data = getattr(message, "data", None)
    if data is None:
        body = b""
    elif isinstance(data, str):
        body = data.encode("utf-8")
    else:
        body = bytes(data)
    content_type = getattr(message, "content_type", None) or DEFAULT_CONTENT_TYPE
    headers = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
    return AMLRequest("POST", "/score", b"", headers, body, remote_addr="edgeHub")


def _media_type(reply):
    content_type = reply.header("Content-Type") or DEFAULT_CONTENT_TYPE
    media_type, _, parameters = content_type.partition(";")
    encoding = DEFAULT_ENCODING
    for parameter in parameters.split(";"):
        key, _, value = parameter.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            encoding = value.strip().strip('"').lower()
    return media_type.strip(), encoding


def reply_message(reply, routes, correlation_id=None):
    """The message carrying a /score reply."""
    scored = 200 <= reply.status < 300
    content_type, encoding = _media_type(reply)
    return OutgoingMessage(
        output_name=routes.output_name if scored else routes.error_output_name,
        body=reply.body,
        custom_properties={"scoringStatus": "scored" if scored else "error", "scoringStatusCode": str(reply.status)},
        content_type=content_type,
        content_encoding=encoding,
        correlation_id=correlation_id,
    )


def handle_message(app, message, routes):
    """The message to send for one received message, or None if it arrived on another input."""
    if getattr(message, "input_name", None) != routes.input_name:
        return None
    reply = app.score(message_request(message))
    return reply_message(reply, routes, getattr(message, "message_id", None) or None)


def start_module_client(app, routes):
    """Connect to edgeHub and score every message on routes.input_name; returns the connected client."""
    from azure.iot.device import IoTHubModuleClient, Message  # installed in the image, imported only here

    client = IoTHubModuleClient.create_from_edge_environment()

    def on_message_received(message):
        try:
            outgoing = handle_message(app, message, routes)
        except Exception:  # app.score never raises; this guards the glue so the handler thread survives
            logger.exception("could not score a message from input %r", getattr(message, "input_name", None))
            return
        if outgoing is None:
            logger.warning("ignoring a message on input %r; the scoring input is %r", message.input_name,
                           routes.input_name)
            return
        reply = Message(outgoing.body, content_encoding=outgoing.content_encoding,
                        content_type=outgoing.content_type)
        reply.custom_properties.update(outgoing.custom_properties)
        if outgoing.correlation_id:
            reply.correlation_id = outgoing.correlation_id
        try:
            client.send_message_to_output(reply, outgoing.output_name)
        except Exception:  # an edgeHub hiccup must not kill the handler thread; the next message retries
            logger.exception("could not send the answer to output %r", outgoing.output_name)

    client.on_message_received = on_message_received
    client.connect()
    logger.info("IoT Edge: scoring input %r -> output %r (errors -> %r)", routes.input_name, routes.output_name,
                routes.error_output_name)
    return client
