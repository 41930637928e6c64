import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import http_server
import score

SCORING_DIR = Path(__file__).resolve().parent.parent


@pytest.fixture
def server(scorer, monkeypatch):
    monkeypatch.setenv("MODEL_NAME", "temperature-anomaly")
    monkeypatch.setenv("MODEL_VERSION", "7")
    server = http_server.make_server(port=0, host="127.0.0.1")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def _request(server, method, path, body=None, headers=None):
    connection = http.client.HTTPConnection(*server.server_address, timeout=5)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type"), json.loads(response.read())
    finally:
        connection.close()


def test_health_reports_the_model_the_image_carries(server):
    status, content_type, body = _request(server, "GET", "/")
    assert status == 200
    assert content_type.startswith("application/json")
    assert body == {"status": "Healthy", "modelName": "temperature-anomaly", "modelVersion": "7"}


def test_post_score_returns_the_scored_message(server, hot_message):
    status, content_type, body = _request(server, "POST", "/score", json.dumps(hot_message))
    assert status == 200
    assert content_type.startswith("application/json")
    assert body == {**hot_message, "anomaly": True, "score": 1.0}


def test_post_score_accepts_a_batch(server, cold_message, hot_message):
    status, _, body = _request(server, "POST", "/score", json.dumps([hot_message, cold_message]))
    assert status == 200
    assert [result["anomaly"] for result in body] == [True, False]


@pytest.mark.parametrize("body, expected", [
    ("{not json", "not valid JSON"),
    (json.dumps({"machine": {"temperature": 50}}), "machine.pressure is missing"),
    ("[]", "empty list"),
])
def test_bad_body_gets_400_with_an_error_object(server, body, expected):
    status, _, response = _request(server, "POST", "/score", body)
    assert status == 400
    assert expected in response["error"]


@pytest.mark.parametrize("content_length, status, expected", [
    (str(score.MAX_PAYLOAD_BYTES + 1), 413, "larger than"),
    ("lots", 411, "Content-Length"),
    (None, 411, "Content-Length"),
])
def test_body_without_an_acceptable_length_is_refused_unread(server, content_length, status, expected):
    connection = http.client.HTTPConnection(*server.server_address, timeout=5)
    connection.putrequest("POST", "/score")
    if content_length is not None:
        connection.putheader("Content-Length", content_length)
    connection.endheaders()
    response = connection.getresponse()
    assert response.status == status
    assert response.getheader("Connection") == "close"
    assert expected in json.loads(response.read())["error"]
    connection.close()


@pytest.mark.parametrize("method, path", [("GET", "/score/x"), ("POST", "/"), ("POST", "/predict")])
def test_unknown_routes_get_404_with_an_error_object(server, method, path):
    status, _, body = _request(server, method, path, "{}")
    assert status == 404
    assert "POST /score" in body["error"]


def test_one_connection_keeps_scoring_after_a_bad_request(server, hot_message):
    connection = http.client.HTTPConnection(*server.server_address, timeout=5)
    statuses = []
    for body in ["garbage", json.dumps(hot_message), json.dumps(hot_message)]:
        connection.request("POST", "/score", body=body)
        response = connection.getresponse()
        response.read()
        statuses.append(response.status)
    connection.close()
    assert statuses == [400, 200, 200]


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_main_serves_http_without_iot_edge_and_stops_cleanly_on_sigterm(hot_message):
    port = _free_port()
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("IOTEDGE_") and name != "AZUREML_MODEL_DIR"}
    process = subprocess.Popen([sys.executable, "main.py"], cwd=SCORING_DIR, env={**env, "PORT": str(port)},
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                connection.request("POST", "/score", json.dumps(hot_message))
                assert json.loads(connection.getresponse().read())["anomaly"] is True
                connection.close()
                break
            except ConnectionRefusedError:
                assert time.monotonic() < deadline, "main.py did not start listening"
                time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=5) == 0
    finally:
        process.kill()
    assert "IoT Edge" not in process.stdout.read()  # no edge client outside IoT Edge
