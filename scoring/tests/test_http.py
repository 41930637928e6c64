import http.client
import json
import os
import re
import signal
import socket
import statistics
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


class _CountingSocket:
    """An accepted socket that records each sendall (the only way BaseHTTPRequestHandler's wfile writes) and
    whether Nagle's algorithm was off at the time."""

    def __init__(self, sock):
        self._sock = sock
        self.sends = []

    def sendall(self, data):
        self.sends.append((bytes(data), bool(self._sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))))
        return self._sock.sendall(data)

    def __getattr__(self, name):
        return getattr(self._sock, name)


def test_each_reply_leaves_in_one_send_with_nagle_off(server, hot_message):
    # Headers and body sent apart, with Nagle's algorithm on, made every kept-alive request wait ~40 ms for the
    # client's delayed ACK.
    accepted = []
    plain_get_request = server.get_request

    def get_request():
        sock, address = plain_get_request()
        accepted.append(_CountingSocket(sock))
        return accepted[-1], address

    server.get_request = get_request
    connection = http.client.HTTPConnection(*server.server_address, timeout=5)
    for method, path, body in [("POST", "/score", json.dumps(hot_message)), ("POST", "/score", "garbage"), ("GET", "/", None)]:
        connection.request(method, path, body=body)
        response = connection.getresponse()
        response.read()
    connection.close()
    [sock] = accepted
    assert len(sock.sends) == 3
    for sent, nodelay in sock.sends:
        assert nodelay
        head, _, body = sent.partition(b"\r\n\r\n")
        assert int(re.search(rb"Content-Length: (\d+)", head).group(1)) == len(body) > 0


def test_kept_alive_requests_do_not_wait_for_delayed_acks(server, hot_message):
    connection = http.client.HTTPConnection(*server.server_address, timeout=5)
    latencies = []
    for _ in range(30):
        started = time.perf_counter()
        connection.request("POST", "/score", body=json.dumps(hot_message))
        connection.getresponse().read()
        latencies.append(time.perf_counter() - started)
    connection.close()
    # A delayed ACK is ~40 ms; a reply that does not wait for one takes well under a millisecond here.
    assert statistics.median(latencies) < 0.02, f"median {statistics.median(latencies) * 1000:.1f} ms"


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
