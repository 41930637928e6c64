"""IoT Edge glue: a message on the input is scored exactly as POST /score, without the azure-iot-device SDK."""

import json
import sys
import types

import pytest

from edgeml_server import edge
from edgeml_server.config import Config

ROUTES = edge.EdgeRoutes()

SCRIPT = """
    import json
    def init(): pass
    def run(data):
        payload = json.loads(data)
        if payload.get("explode"):
            raise RuntimeError("bad sensor")
        return {"temperature": payload["temperature"], "anomaly": payload["temperature"] > 100}
"""


class FakeMessage:
    """azure.iot.device.Message, as the SDK hands a received one to on_message_received."""

    def __init__(self, data, content_encoding=None, content_type=None, input_name=None, message_id=None):
        self.data = data
        self.content_encoding = content_encoding
        self.content_type = content_type
        self.input_name = input_name
        self.message_id = message_id
        self.correlation_id = None
        self.custom_properties = {}


@pytest.mark.parametrize("body", [
    b'{"temperature": 103.5}',
    b'{"temperature": 20}',
    b"\xff\xfe not utf-8",  # 400
    b'{"explode": true}',  # run raises: 500
    b"",
])
def test_a_message_on_the_input_gets_exactly_the_score_answer(serve, body):
    server = serve(SCRIPT)
    over_http = server.request("POST", "/score", body, {"Content-Type": "application/json"})

    outgoing = edge.handle_message(server.app, FakeMessage(body, "utf-8", "application/json", "amlInput"), ROUTES)

    assert outgoing.body == over_http.body
    assert outgoing.content_type == over_http.header("Content-Type").split(";")[0] == "application/json"
    assert outgoing.content_encoding == "utf-8"
    assert outgoing.custom_properties == {
        "scoringStatus": "scored" if over_http.status == 200 else "error",
        "scoringStatusCode": str(over_http.status),
    }


def test_failures_go_to_the_error_output_with_their_status(serve):
    server = serve(SCRIPT)
    routes = edge.EdgeRoutes("in", "results", "errors")
    scored = edge.handle_message(server.app, FakeMessage(b'{"temperature": 5}', input_name="in"), routes)
    failed = edge.handle_message(server.app, FakeMessage(b'{"explode": 1}', input_name="in"), routes)
    assert (scored.output_name, scored.custom_properties["scoringStatus"]) == ("results", "scored")
    assert failed.output_name == "errors"
    assert failed.custom_properties == {"scoringStatus": "error", "scoringStatusCode": "500"}
    assert "message" in json.loads(failed.body)


def test_messages_on_other_inputs_are_not_scored(serve):
    server = serve(SCRIPT)
    assert edge.handle_message(server.app, FakeMessage(b"{}", input_name="other"), ROUTES) is None


def test_a_rawhttp_script_gets_the_message_as_a_post_request(serve):
    server = serve("""
        from azureml.contrib.services.aml_request import rawhttp
        def init(): pass
        @rawhttp
        def run(request):
            return {"method": request.method, "path": request.path, "type": request.content_type,
                    "body": request.get_data(as_text=True)}
    """)
    outgoing = edge.handle_message(server.app, FakeMessage("[1, 2]", input_name="amlInput"), ROUTES)
    assert json.loads(outgoing.body) == {"method": "POST", "path": "/score", "type": "application/json",
                                         "body": "[1, 2]"}


def test_routes_come_from_the_config():
    config = Config.from_env({"INPUT_NAME": "telemetry", "OUTPUT_NAME": "scores"})
    assert edge.EdgeRoutes.from_config(config) == edge.EdgeRoutes("telemetry", "scores", "scores")
    assert edge.EdgeRoutes.from_config(Config.from_env({})) == edge.EdgeRoutes("amlInput", "amlOutput", "amlOutput")


def test_iot_edge_is_detected_from_its_environment_variables():
    assert edge.under_iot_edge({"IOTEDGE_WORKLOADURI": "unix:///var/run/iotedge/workload.sock", "PATH": "/bin"})
    assert not edge.under_iot_edge({"PATH": "/bin", "EDGE": "1"})


class FakeModuleClient:
    """Stands in for azure.iot.device.IoTHubModuleClient, which only the image installs."""

    def __init__(self, fail_sends=False):
        self.connected, self.sent, self.fail_sends = False, [], fail_sends
        self.on_message_received = None

    def connect(self):
        self.connected = True

    def send_message_to_output(self, message, output_name):
        if self.fail_sends:
            raise ConnectionError("edgeHub unavailable")
        self.sent.append((output_name, message))


@pytest.fixture
def fake_sdk(monkeypatch):
    def install(client):
        module = types.ModuleType("azure.iot.device")
        module.IoTHubModuleClient = types.SimpleNamespace(create_from_edge_environment=lambda: client)
        module.Message = lambda data, content_encoding=None, content_type=None: FakeMessage(
            data, content_encoding, content_type)
        monkeypatch.setitem(sys.modules, "azure.iot.device", module)
        return client
    return install


def test_module_client_scores_input_messages_and_sends_the_answers(serve, fake_sdk):
    server = serve(SCRIPT)
    client = fake_sdk(FakeModuleClient())
    assert edge.start_module_client(server.app, ROUTES) is client
    assert client.connected

    client.on_message_received(FakeMessage(b'{"temperature": 150}', input_name="amlInput", message_id="m-1"))
    client.on_message_received(FakeMessage(b"{}", input_name="somewhereElse"))

    [(output_name, sent)] = client.sent
    assert output_name == "amlOutput"
    assert json.loads(sent.data) == {"temperature": 150, "anomaly": True}
    assert (sent.content_type, sent.content_encoding) == ("application/json", "utf-8")
    assert sent.custom_properties == {"scoringStatus": "scored", "scoringStatusCode": "200"}
    assert sent.correlation_id == "m-1"


def test_module_client_survives_a_failed_send(serve, fake_sdk):
    server = serve(SCRIPT)
    client = fake_sdk(FakeModuleClient(fail_sends=True))
    edge.start_module_client(server.app, ROUTES)
    client.on_message_received(FakeMessage(b'{"temperature": 1}', input_name="amlInput"))
    client.fail_sends = False
    client.on_message_received(FakeMessage(b'{"temperature": 2}', input_name="amlInput"))
    assert [json.loads(m.data)["temperature"] for _, m in client.sent] == [2]
