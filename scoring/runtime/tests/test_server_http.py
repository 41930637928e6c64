"""The HTTP contract, against the real server in-process."""

import json
import logging
import re
import socket
import statistics
import threading
import time

import pytest

ECHO = """
    import json
    def init(): pass
    def run(data):
        return {"received": data}
"""


def test_health_answers_healthy_as_text(serve):
    server = serve(ECHO, env={"MODEL_NAME": "anomaly", "MODEL_VERSION": "3"})
    answer = server.request("GET", "/")
    assert (answer.status, answer.body) == (200, b"Healthy")
    assert answer.header("Content-Type") == "text/html; charset=utf-8"
    assert (answer.header("x-edgeml-model-name"), answer.header("x-edgeml-model-version")) == ("anomaly", "3")
    head = server.request("HEAD", "/")
    assert (head.status, head.body, head.header("Content-Length")) == (200, b"", "7")
    assert server.request("POST", "/", "{}").status == 405


def test_post_score_passes_the_body_text_and_returns_json(serve):
    answer = serve(ECHO).request("POST", "/score", '{"x": [1, 2]}', {"Content-Type": "application/json"})
    assert answer.status == 200
    assert answer.header("Content-Type") == "application/json"
    assert answer.json() == {"received": '{"x": [1, 2]}'}


@pytest.mark.parametrize("returned, body", [
    ("'[1, 2]'", b'"[1, 2]"'),  # a str is JSON-encoded again, as Azure ML does: clients json.loads it back
    ("None", b"{}"),
    ("{'a': 1, 'b': [True, None]}", b'{"a": 1, "b": [true, null]}'),
    ("[0.5]", b"[0.5]"),
    ("42", b"42"),
])
def test_what_run_returns_is_sent_as_json(serve, returned, body):
    server = serve(f"def init(): pass\ndef run(data): return {returned}\n")
    answer = server.request("POST", "/score", "{}")
    assert (answer.status, answer.body, answer.header("Content-Type")) == (200, body, "application/json")
    assert answer.header("x-ms-run-function-failed") == "False"


def test_an_amlresponse_is_sent_as_it_is(serve):
    server = serve("""
        from azureml.contrib.services.aml_response import AMLResponse
        def init(): pass
        def run(data):
            if data == "json":
                return AMLResponse({"error": "no image"}, 422, json_str=True)
            if data == "down":
                return AMLResponse("try later", 503)
            response = AMLResponse(b"\\xff\\xd8jpeg", 201, {"Content-Type": "image/jpeg", "X-Model": "v3"})
            response.headers["Access-Control-Allow-Origin"] = "*"
            return response
    """)
    answer = server.request("POST", "/score", "image")
    assert (answer.status, answer.body) == (201, b"\xff\xd8jpeg")
    assert answer.header("Content-Type") == "image/jpeg"
    assert (answer.header("X-Model"), answer.header("Access-Control-Allow-Origin")) == ("v3", "*")
    assert answer.header("x-ms-run-fn-exec-ms") is not None

    answer = server.request("POST", "/score", "json")
    assert (answer.status, answer.json(), answer.header("Content-Type")) == (422, {"error": "no image"},
                                                                             "application/json")
    answer = server.request("POST", "/score", "down")
    assert (answer.status, answer.body, answer.header("x-ms-run-function-failed")) == (503, b"try later", "True")


def test_run_raising_answers_500_logs_the_traceback_and_keeps_serving(serve, caplog):
    server = serve("""
        def init(): pass
        def run(data):
            if data == "boom":
                raise ValueError("model exploded")
            return "fine"
    """)
    connection = server.connection()
    with caplog.at_level(logging.ERROR, logger="edgeml"):
        failed = server.request("POST", "/score", "boom", connection=connection)
    assert failed.status == 500
    assert failed.header("Content-Type") == "application/json"
    assert set(failed.json()) == {"message"} and "scoring script" in failed.json()["message"]
    assert failed.header("x-ms-run-function-failed") == "True"
    assert "ValueError: model exploded" in caplog.text and "Traceback" in caplog.text
    ok = server.request("POST", "/score", "again", connection=connection)  # same kept-alive connection
    assert (ok.status, ok.json()) == (200, "fine")
    connection.close()


def test_a_result_json_cannot_encode_is_a_500_with_a_hint_in_the_log(serve, caplog):
    server = serve("def init(): pass\ndef run(data): return {1, 2}\n")
    with caplog.at_level(logging.ERROR, logger="edgeml"):
        answer = server.request("POST", "/score", "x")
    assert answer.status == 500 and "message" in answer.json()
    assert "returned set" in caplog.text and "tolist" in caplog.text


def test_a_body_that_is_not_utf8_gets_400_with_a_message(serve):
    answer = serve(ECHO).request("POST", "/score", b"\xff\xfe\x00bad")
    assert answer.status == 400
    assert "UTF-8" in answer.json()["message"]


def test_request_bodies_are_never_logged_at_info(serve, caplog):
    server = serve(ECHO)
    with caplog.at_level(logging.INFO):
        server.request("POST", "/score", "secret-payload-123")
        server.request("POST", "/score", b"\xffsecret-payload-456")
    assert "secret-payload" not in caplog.text


def test_run_with_request_headers_gets_them(serve):
    server = serve("""
        def init(): pass
        def run(data, request_headers):
            return {"key": request_headers.get("X-Api-Key"), "type": request_headers.get("Content-Type"),
                    "data": data}
    """)
    answer = server.request("POST", "/score", "{}", {"x-api-key": "k1", "Content-Type": "application/json"})
    assert answer.json() == {"key": "k1", "type": "application/json", "data": "{}"}


def test_get_score_passes_the_query_as_json_text(serve):
    answer = serve(ECHO).request("GET", "/score?a=1&b=[1,%202]&c=x&c=y&d=null")
    assert answer.status == 200
    assert json.loads(answer.json()["received"]) == {"a": 1, "b": [1, 2], "c": ["x", "y"], "d": None}


RAW = """
    from azureml.contrib.services.aml_request import AMLRequest, rawhttp
    from azureml.contrib.services.aml_response import AMLResponse

    def init(): pass

    @rawhttp
    def run(request):
        if request.method == "GET":
            return AMLResponse(request.full_path.encode(), 200)
        if request.method == "OPTIONS":
            response = AMLResponse("", 200)
            response.headers["Access-Control-Allow-Methods"] = "OPTIONS, GET, POST"
            return response
        if request.mimetype == "multipart/form-data":
            image = request.files["image"]
            return {"file": image.filename, "size": len(image.read()), "label": request.form["label"]}
        return {"json": request.get_json(silent=True), "text": request.get_data(as_text=True),
                "args": request.args.getlist("k"), "agent": request.headers["user-agent"],
                "is_request": isinstance(request, AMLRequest)}
"""


def test_rawhttp_run_gets_the_request(serve):
    server = serve(RAW)
    answer = server.request("POST", "/score?k=1&k=2", '{"a": 1}',
                            {"Content-Type": "application/json", "User-Agent": "tester"})
    assert answer.json() == {"json": {"a": 1}, "text": '{"a": 1}', "args": ["1", "2"], "agent": "tester",
                             "is_request": True}
    answer = server.request("GET", "/score?x=1")
    assert (answer.body, answer.header("Content-Type")) == (b"/score?x=1", "text/html; charset=utf-8")
    answer = server.request("OPTIONS", "/score")
    assert (answer.status, answer.header("Access-Control-Allow-Methods")) == (200, "OPTIONS, GET, POST")


def test_rawhttp_run_reads_an_uploaded_file_as_the_docs_example_does(serve):
    image = bytes(range(256)) * 40 + b"\r\n--"
    boundary = "b0undary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"label\"\r\n\r\ncat\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"cat.jpg\"\r\n"
            f"Content-Type: image/jpeg\r\n\r\n").encode() + image + f"\r\n--{boundary}--\r\n".encode()
    answer = serve(RAW).request("POST", "/score", body, {"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert answer.json() == {"file": "cat.jpg", "size": len(image), "label": "cat"}


SCHEMA = """
    from inference_schema.schema_decorators import input_schema
    from inference_schema.parameter_types.standard_py_parameter_type import StandardPythonParameterType

    def init(): pass

    @input_schema("data", StandardPythonParameterType([[1.0, 2.0]]))
    @input_schema("scale", StandardPythonParameterType(1.0))
    def run(data, scale=10):
        return {"sums": [sum(row) * scale for row in data]}
"""


def test_inference_schema_run_gets_json_fields_by_name(serve, fake_inference_schema):
    server = serve(SCHEMA)
    answer = server.request("POST", "/score", '{"data": [[1, 2], [3, 4]], "scale": 2, "extra": 0}',
                            {"Content-Type": "application/json"})
    assert (answer.status, answer.json()) == (200, {"sums": [6, 14]})
    assert server.app.script.run.calls == [{"data": [[1, 2], [3, 4]], "scale": 2}]  # through the decorators
    answer = server.request("POST", "/score", '{"data": [[1, 2]]}', {"Content-Type": "application/json"})
    assert answer.json() == {"sums": [30]}  # the parameter's default
    answer = server.request("GET", "/score?data=[[1,1]]&scale=3")
    assert answer.json() == {"sums": [6]}


@pytest.mark.parametrize("body, content_type, status, expected", [
    ('{"scale": 2}', "application/json", 400, "'data'"),
    ("[1, 2]", "application/json", 400, "JSON object"),
    ("{nope", "application/json", 400, "not valid JSON"),
    ("", "application/json", 400, "empty"),
    ('{"data": [[1]]}', "text/plain", 415, "application/json"),
])
def test_inference_schema_input_errors(serve, fake_inference_schema, body, content_type, status, expected):
    answer = serve(SCHEMA).request("POST", "/score", body, {"Content-Type": content_type})
    assert answer.status == status
    assert expected in answer.json()["message"]


def test_unknown_paths_404_and_other_methods_405(serve):
    server = serve(ECHO)
    for method, path in [("GET", "/predict"), ("POST", "/score/x"), ("GET", "/swagger.json")]:
        answer = server.request(method, path)
        assert answer.status == 404 and "/score" in answer.json()["message"]
    answer = server.request("PUT", "/score", "{}")
    assert (answer.status, answer.header("Allow")) == (405, "GET, POST, OPTIONS")
    answer = server.request("OPTIONS", "/score")  # a CORS preflight for a script that is not @rawhttp
    assert (answer.status, answer.body) == (200, b"")


@pytest.mark.parametrize("sent, expected", [
    # Azure ML's documented table: request ids in -> response ids out.
    ({}, {"x-request-id": "generated", "x-ms-request-id": "generated", "x-ms-client-request-id": None}),
    ({"x-request-id": "A"}, {"x-request-id": "A", "x-ms-request-id": "A", "x-ms-client-request-id": None}),
    ({"x-ms-request-id": "B"}, {"x-request-id": "generated", "x-ms-request-id": "B", "x-ms-client-request-id": "B"}),
    ({"x-ms-client-request-id": "C"},
     {"x-request-id": "generated", "x-ms-request-id": "C", "x-ms-client-request-id": "C"}),
    ({"x-request-id": "A", "x-ms-request-id": "B", "x-ms-client-request-id": "C"},
     {"x-request-id": "A", "x-ms-request-id": "B", "x-ms-client-request-id": "C"}),
])
def test_request_id_headers_follow_azure_mls_table(serve, sent, expected):
    answer = serve(ECHO).request("POST", "/score", "{}", sent)
    generated = answer.header("x-request-id")
    assert re.fullmatch(r"[0-9a-f-]{36}", generated) or generated == sent.get("x-request-id")
    for name, value in expected.items():
        assert answer.header(name) == (generated if value == "generated" else value), name


def test_an_overlong_request_id_is_refused(serve):
    assert serve(ECHO).request("POST", "/score", "{}", {"x-request-id": "r" * 101}).status == 431


def test_run_time_is_reported_in_milliseconds(serve):
    answer = serve("import time\ndef init(): pass\ndef run(d):\n    time.sleep(0.03)\n    return 1\n").request(
        "POST", "/score", "x")
    assert 30 <= float(answer.header("x-ms-run-fn-exec-ms")) < 1000


def test_a_body_over_the_limit_gets_413_unread_and_the_connection_closes(serve):
    server = serve(ECHO, env={"EDGEML_MAX_BODY_BYTES": "10"})
    assert server.request("POST", "/score", "0123456789").status == 200
    connection = server.connection()
    connection.putrequest("POST", "/score")
    connection.putheader("Content-Length", "11")  # the body is never sent: the server must not wait for it
    connection.endheaders()
    response = connection.getresponse()
    assert (response.status, response.getheader("Connection")) == (413, "close")
    assert "10 bytes" in json.loads(response.read())["message"]
    connection.close()


def test_expect_100_continue_is_refused_before_the_body_when_too_large(serve):
    server = serve(ECHO, env={"EDGEML_MAX_BODY_BYTES": "10"})
    with socket.create_connection(server.address, timeout=5) as sock:
        sock.sendall(b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 413 ")
    with socket.create_connection(server.address, timeout=5) as sock:
        sock.sendall(b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        sock.sendall(b"hi")
        assert b'{"received": "hi"}' in sock.recv(4096)


def test_a_chunked_body_reaches_run_whole(serve):
    server = serve(ECHO)
    # http.client sends an iterable body of unknown length with Transfer-Encoding: chunked.
    answer = server.request("POST", "/score", iter([b'{"a": ', b"1}"]))
    assert answer.json() == {"received": '{"a": 1}'}
    with socket.create_connection(server.address, timeout=5) as sock:
        sock.sendall(b"POST /score HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                     b"3;ext=1\r\nabc\r\nA\r\n0123456789\r\n0\r\nTrailer: x\r\n\r\n")
        assert sock.recv(4096).endswith(b'{"received": "abc0123456789"}')


def test_a_post_without_a_body_passes_empty_text(serve):
    server = serve(ECHO)
    with socket.create_connection(server.address, timeout=5) as sock:
        sock.sendall(b"POST /score HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(4096).endswith(b'{"received": ""}')


class _CountingSocket:
    """An accepted socket recording each sendall (the only way the handler writes) and whether Nagle's
    algorithm was off then."""

    def __init__(self, sock):
        self._sock, self.sends = sock, []

    def sendall(self, data):
        self.sends.append((bytes(data), bool(self._sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))))
        return self._sock.sendall(data)

    def __getattr__(self, name):
        return getattr(self._sock, name)


def test_each_reply_leaves_in_one_send_with_nagle_off(serve):
    # Headers and body written apart, with Nagle's algorithm on, made each kept-alive request wait ~40 ms for
    # the client's delayed ACK.
    server = serve(ECHO)
    accepted, plain_get_request = [], server.server.get_request

    def get_request():
        sock, address = plain_get_request()
        accepted.append(_CountingSocket(sock))
        return accepted[-1], address

    server.server.get_request = get_request
    connection = server.connection()
    for method, path, body in [("POST", "/score", "{}"), ("POST", "/score", b"\xff"), ("GET", "/", None),
                               ("GET", "/nowhere", None)]:
        server.request(method, path, body, connection=connection)
    connection.close()
    [sock] = accepted
    assert len(sock.sends) == 4
    for sent, nodelay in sock.sends:
        assert nodelay
        head, _, body = sent.partition(b"\r\n\r\n")
        assert int(re.search(rb"Content-Length: (\d+)", head).group(1)) == len(body) > 0


def test_kept_alive_requests_do_not_wait_for_delayed_acks(serve):
    server = serve(ECHO)
    connection, latencies = server.connection(), []
    for _ in range(30):
        started = time.perf_counter()
        server.request("POST", "/score", '{"a": 1}', connection=connection)
        latencies.append(time.perf_counter() - started)
    connection.close()
    # A delayed ACK is ~40 ms; a reply that does not wait for one takes well under a millisecond here.
    assert statistics.median(latencies) < 0.02, f"median {statistics.median(latencies) * 1000:.1f} ms"


SLOW = """
    import threading, time
    active, peak = [0], [0]
    lock = threading.Lock()
    def init(): pass
    def run(data):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.2)
        with lock:
            active[0] -= 1
        return peak[0]
"""


def test_run_is_called_one_at_a_time_while_health_stays_answered(serve):
    # Azure ML's single sync worker never runs run() twice at once; scripts rely on it.
    server = serve(SLOW)
    answers = []
    threads = [threading.Thread(target=lambda: answers.append(server.request("POST", "/score", "x")))
               for _ in range(3)]
    for thread in threads:
        thread.start()
    time.sleep(0.05)
    started = time.perf_counter()
    assert server.request("GET", "/").status == 200
    assert time.perf_counter() - started < 0.15  # not queued behind run()
    for thread in threads:
        thread.join()
    assert sorted(answer.json() for answer in answers) == [1, 1, 1]


def test_run_slots_are_granted_in_arrival_order():
    from edgeml_server.routes import FifoSlots

    slots, order, arrived = FifoSlots(1), [], []
    slots.__enter__()  # held, so every thread below queues

    def take(number):
        arrived.append(number)
        with slots:
            order.append(number)

    threads = []
    for number in range(8):
        threads.append(threading.Thread(target=take, args=(number,)))
        threads[-1].start()
        while len(slots._waiters) < number + 1:  # wait until it queued, so arrival order is known
            time.sleep(0.001)
    slots.__exit__(None, None, None)
    for thread in threads:
        thread.join()
    assert order == list(range(8))
