import json
import sys
import types

import pytest

import edge

ROUTES = edge.EdgeRoutes()


def test_a_message_on_the_scoring_input_goes_to_the_output_scored(scorer, hot_message):
    outgoing = edge.score_message("amlInput", json.dumps(hot_message).encode("utf-8"), ROUTES)

    assert outgoing.output_name == "amlOutput"
    assert outgoing.content_type == "application/json"
    assert outgoing.content_encoding == "utf-8"
    assert outgoing.custom_properties == {"scoringStatus": "scored"}
    assert json.loads(outgoing.body.decode("utf-8")) == {**hot_message, "anomaly": True, "score": 1.0}


@pytest.mark.parametrize("body, expected", [
    (b"\x00\x01 not json", "not valid JSON"),
    (b"", "not valid JSON"),
    (None, "JSON object or a list"),
    (json.dumps({"machine": {"temperature": "hot", "pressure": 1}}).encode(), "machine.temperature"),
])
def test_a_bad_message_becomes_an_error_result_instead_of_an_exception(scorer, body, expected):
    routes = edge.EdgeRoutes(error_output_name="amlErrors")
    outgoing = edge.score_message("amlInput", body, routes)

    assert outgoing.output_name == "amlErrors"
    assert outgoing.custom_properties == {"scoringStatus": "error"}
    assert outgoing.content_type == "application/json"
    assert expected in json.loads(outgoing.body)["error"]


def test_messages_on_other_inputs_are_not_scored(scorer, hot_message):
    assert edge.score_message("otherInput", json.dumps(hot_message).encode(), ROUTES) is None


@pytest.mark.parametrize("env, expected", [
    ({}, edge.EdgeRoutes("amlInput", "amlOutput", "amlOutput")),
    ({"INPUT_NAME": "in", "OUTPUT_NAME": "out"}, edge.EdgeRoutes("in", "out", "out")),
    ({"OUTPUT_NAME": "out", "ERROR_OUTPUT_NAME": "errors"}, edge.EdgeRoutes("amlInput", "out", "errors")),
])
def test_route_names_come_from_the_environment(env, expected):
    assert edge.EdgeRoutes.from_env(env) == expected


def test_iot_edge_is_detected_from_its_environment_variables():
    assert edge.under_iot_edge({"IOTEDGE_WORKLOADURI": "unix:///var/run/iotedge/workload.sock", "PATH": "/bin"})
    assert not edge.under_iot_edge({"PATH": "/bin", "EDGE": "1"})


class FakeModuleClient:
    """Stands in for azure.iot.device.IoTHubModuleClient, which only the edge image installs."""

    def __init__(self, fail_sends=False):
        self.connected = False
        self.sent = []
        self.fail_sends = fail_sends
        self.on_message_received = None

    def connect(self):
        self.connected = True

    def send_message_to_output(self, message, output_name):
        if self.fail_sends:
            raise ConnectionError("edgeHub unavailable")
        self.sent.append((output_name, message))


class FakeMessage:
    def __init__(self, data, content_encoding=None, content_type=None, input_name=None):
        self.data = data
        self.content_encoding = content_encoding
        self.content_type = content_type
        self.input_name = input_name
        self.custom_properties = {}


@pytest.fixture
def fake_sdk(monkeypatch):
    def install(client):
        module = types.ModuleType("azure.iot.device")
        module.IoTHubModuleClient = types.SimpleNamespace(create_from_edge_environment=lambda: client)
        module.Message = FakeMessage
        monkeypatch.setitem(sys.modules, "azure.iot.device", module)
        return client
    return install


def test_module_client_scores_input_messages_and_sends_them_to_the_output(scorer, fake_sdk, hot_message):
    client = fake_sdk(FakeModuleClient())
    assert edge.start_module_client(ROUTES) is client

    client.on_message_received(FakeMessage(json.dumps(hot_message).encode(), input_name="amlInput"))
    client.on_message_received(FakeMessage(b"{}", input_name="somewhereElse"))

    assert client.connected
    [(output_name, sent)] = client.sent
    assert output_name == "amlOutput"
    assert (sent.content_type, sent.content_encoding) == ("application/json", "utf-8")
    assert sent.custom_properties == {"scoringStatus": "scored"}
    assert json.loads(sent.data)["anomaly"] is True


def test_module_client_survives_a_failed_send(scorer, fake_sdk, hot_message):
    client = fake_sdk(FakeModuleClient(fail_sends=True))
    edge.start_module_client(ROUTES)
    client.on_message_received(FakeMessage(json.dumps(hot_message).encode(), input_name="amlInput"))
    assert client.sent == []
