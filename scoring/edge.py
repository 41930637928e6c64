"""IoT Edge glue: score messages arriving on the module input, send results to an output.

Everything except start_module_client is pure, so it is tested without the
azure-iot-device SDK; the SDK is imported only there, inside the edge image.
"""

import logging
from dataclasses import dataclass, field

import score

logger = logging.getLogger(__name__)

CONTENT_TYPE = "application/json"
CONTENT_ENCODING = "utf-8"


@dataclass(frozen=True)
class EdgeRoutes:
    input_name: str = "amlInput"
    output_name: str = "amlOutput"
    # Errors go to the results output unless routed elsewhere; the
    # scoringStatus property lets an edgeHub route filter them either way.
    error_output_name: str = "amlOutput"

    @classmethod
    def from_env(cls, env):
        output_name = env.get("OUTPUT_NAME", cls.output_name)
        return cls(
            input_name=env.get("INPUT_NAME", cls.input_name),
            output_name=output_name,
            error_output_name=env.get("ERROR_OUTPUT_NAME", output_name),
        )


@dataclass(frozen=True)
class OutgoingMessage:
    output_name: str
    body: bytes
    custom_properties: dict = field(default_factory=dict)
    content_type: str = CONTENT_TYPE
    content_encoding: str = CONTENT_ENCODING


def under_iot_edge(env):
    """The IoT Edge runtime gives every module IOTEDGE_* variables (workload URI, module id, ...)."""
    return any(name.startswith("IOTEDGE_") for name in env)


def score_message(input_name, body, routes):
    """The message to send for one received message, or None if it arrived on another input."""
    if input_name != routes.input_name:
        return None
    outcome = score.evaluate(body)
    if outcome.status == 200:
        return OutgoingMessage(routes.output_name, outcome.body.encode(CONTENT_ENCODING), {"scoringStatus": "scored"})
    return OutgoingMessage(routes.error_output_name, outcome.body.encode(CONTENT_ENCODING), {"scoringStatus": "error"})


def start_module_client(routes):
    """Connect to edgeHub and score every message on routes.input_name; returns the connected client."""
    from azure.iot.device import IoTHubModuleClient, Message  # only installed in the edge image

    client = IoTHubModuleClient.create_from_edge_environment()

    def on_message_received(message):
        outgoing = score_message(message.input_name, message.data, routes)
        if outgoing is None:
            logger.warning("ignoring message on input %r; scoring input is %r", message.input_name, routes.input_name)
            return
        reply = Message(outgoing.body, content_encoding=outgoing.content_encoding, content_type=outgoing.content_type)
        reply.custom_properties.update(outgoing.custom_properties)
        try:
            client.send_message_to_output(reply, outgoing.output_name)
        except Exception:  # edgeHub hiccups must not kill the handler thread; the next message retries
            logger.exception("could not send scored message to output %r", outgoing.output_name)

    client.on_message_received = on_message_received
    client.connect()
    logger.info("IoT Edge: scoring %r -> %r (errors -> %r)", routes.input_name, routes.output_name,
                routes.error_output_name)
    return client
