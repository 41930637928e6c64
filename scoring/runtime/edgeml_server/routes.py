"""What the server answers: GET / (health) and /score, as Azure ML's inference server does.

ScoringApp.score(request) -> Reply is the one scoring path: the HTTP server (through ScoringApp.handle, which
adds routing and request ids) and the IoT Edge glue both call it, so a message on the module input gets
exactly the bytes a POST /score with that body would.

run()'s result becomes the reply as in Azure ML: an AMLResponse (or any Werkzeug-style response) as it is;
anything else json.dumps-ed as application/json, a str included (clients json.loads the reply and get the
str back), None as {}. run() raising gives 500 {"message": ...}, the traceback in the log, and the server keeps
serving.
"""

import collections
import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import List, Tuple

from .parsers import InputError, MethodNotAllowed, headers_argument, run_arguments

logger = logging.getLogger("edgeml.routes")

JSON = "application/json"
TEXT = "text/html; charset=utf-8"  # what Flask sends for a str, as Azure ML's health answer
HEALTHY = b"Healthy"
RUN_FAILED_MESSAGE = "An unexpected error occurred in scoring script. Check the logs for more info."
INTERNAL_ERROR_MESSAGE = "An unexpected internal error occurred. Check the logs for more info."
REQUEST_ID_LIMIT = 100  # characters, as Azure ML
# Framing is the HTTP server's job; a response object's own values for these would corrupt the stream.
_FRAMING_HEADERS = {"content-length", "transfer-encoding", "connection", "keep-alive"}


@dataclass
class Reply:
    status: int
    headers: List[Tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name, default=None):
        lower = name.lower()
        return next((value for key, value in self.headers if key.lower() == lower), default)


def error_reply(status, message, run_failed=False):
    return Reply(status, [("Content-Type", JSON), ("x-ms-run-function-failed", str(run_failed))],
                 json.dumps({"message": message}).encode("utf-8"))


def _is_response(value):
    """AMLResponse, or a Flask/Werkzeug response some scripts return: status_code, headers and get_data()."""
    return hasattr(value, "status_code") and hasattr(value, "headers") and callable(getattr(value, "get_data", None))


def _response_reply(response):
    status = int(response.status_code)
    if not 100 <= status <= 599:
        raise ValueError(f"status code {status} is not an HTTP status")
    items = response.headers.items() if hasattr(response.headers, "items") else response.headers
    headers = []
    for name, value in items:
        name, value = str(name), str(value)
        if any(c in name for c in ":\r\n ") or "\r" in value or "\n" in value:
            raise ValueError(f"header {name!r}: {value!r} cannot be sent (line break, colon or space)")
        name.encode("latin-1"), value.encode("latin-1")  # what HTTP headers can carry; raises otherwise
        if name.lower() not in _FRAMING_HEADERS:
            headers.append((name, value))
    if status >= 500:
        headers = [(k, v) for k, v in headers if k.lower() != "x-ms-run-function-failed"]
        headers.append(("x-ms-run-function-failed", "True"))
    body = response.get_data()
    if isinstance(body, str):
        body = body.encode("utf-8")
    return Reply(status, headers, bytes(body))


def result_reply(result):
    """The reply for what run() returned."""
    if _is_response(result):
        return _response_reply(result)
    body = b"{}" if result is None else json.dumps(result).encode("utf-8")
    return Reply(200, [("Content-Type", JSON), ("x-ms-run-function-failed", "False")], body)


def request_id_headers(headers):
    """Response id headers per Azure ML's documented table, or (None, error reply) for an over-long id.

    x-request-id: the caller's, else a new UUID. x-ms-request-id: the caller's x-ms-request-id, else its
    x-ms-client-request-id, else x-request-id. x-ms-client-request-id: the caller's, else its x-ms-request-id,
    else absent.
    """
    request_id = headers.get("x-request-id") or str(uuid.uuid4())
    legacy = headers.get("x-ms-request-id") or ""
    client = headers.get("x-ms-client-request-id") or ""
    if len(request_id) > REQUEST_ID_LIMIT:
        return None, error_reply(431, f"x-request-id must not exceed {REQUEST_ID_LIMIT} characters")
    if len(legacy) > REQUEST_ID_LIMIT or len(client) > REQUEST_ID_LIMIT:
        return None, error_reply(431, f"x-ms-request-id and x-ms-client-request-id must not exceed "
                                      f"{REQUEST_ID_LIMIT} characters")
    ids = [("x-request-id", request_id), ("x-ms-request-id", legacy or client or request_id)]
    if client or legacy:
        ids.append(("x-ms-client-request-id", client or legacy))
    trace_id = headers.get("TraceId")
    if trace_id:
        ids.append(("TraceId", trace_id))
    return ids, None


class FifoSlots:
    """At most `slots` holders at once, granted strictly in arrival order.

    threading.Semaphore lets a newly arriving thread take a freed slot ahead of the woken waiter, which then
    queues again at the back: under load (64 connections, run() serialized) that starved some requests (p99
    1.4 s where gunicorn's accept queue gave 0.9 s). Here a released slot is handed to the longest waiter.
    """

    def __init__(self, slots):
        self._lock = threading.Lock()
        self._free = slots
        self._waiters = collections.deque()

    def __enter__(self):
        with self._lock:
            if self._free and not self._waiters:
                self._free -= 1
                return self
            turn = threading.Lock()
            turn.acquire()
            self._waiters.append(turn)
        turn.acquire()  # released by __exit__ of the holder before us: the slot is ours
        return self

    def __exit__(self, *exc_info):
        with self._lock:
            if self._waiters:
                self._waiters.popleft().release()
            else:
                self._free += 1


class ScoringApp:
    """The loaded entry script behind the scoring contract."""

    def __init__(self, script, run_concurrency=1, model_name=None, model_version=None):
        self.script = script
        # Azure ML runs one sync worker: run() is never called twice at once, and scripts rely on it (a global
        # model object, a non-thread-safe session). Connections are served concurrently; run() waits its turn.
        self._run_slots = FifoSlots(run_concurrency)
        self._health_headers = [("Content-Type", TEXT)]
        if model_name:
            self._health_headers.append(("x-edgeml-model-name", model_name))
        if model_version:
            self._health_headers.append(("x-edgeml-model-version", model_version))

    def handle(self, request) -> Reply:
        """Route one HTTP request and add the request id headers."""
        ids, refused = request_id_headers(request.headers)
        if refused is not None:
            return refused
        path = request.path
        if path == "/":
            if request.method in ("GET", "HEAD"):
                reply = Reply(200, list(self._health_headers), HEALTHY)
            else:
                reply = error_reply(405, f"method {request.method} is not allowed on /; use GET")
                reply.headers.append(("Allow", "GET, HEAD"))
        elif path == "/score":
            reply = self.score(request)
        else:
            reply = error_reply(404, f"no resource at {path}; use GET / (health) or POST /score")
        reply.headers.extend(ids)
        return reply

    def score(self, request) -> Reply:
        """run() on one request: the /score answer, for HTTP and IoT Edge alike. Never raises."""
        try:
            arguments = run_arguments(self.script, request)
            if self.script.wants_headers:
                arguments["request_headers"] = headers_argument(request)
        except MethodNotAllowed as error:
            if error.method == "OPTIONS":  # a CORS preflight; @rawhttp scripts answer it themselves
                return Reply(200, [("Content-Type", TEXT), ("x-ms-run-function-failed", "False")], b"")
            reply = error_reply(405, error.message)
            reply.headers.append(("Allow", "GET, POST, OPTIONS"))
            return reply
        except InputError as error:
            return error_reply(error.status, error.message)
        except Exception:
            logger.exception("could not prepare run()'s input")
            return error_reply(500, INTERNAL_ERROR_MESSAGE)

        with self._run_slots:
            started = time.perf_counter()
            try:
                result = self.script.run(**arguments)
            except (Exception, SystemExit):
                logger.exception("run() raised")
                return error_reply(500, RUN_FAILED_MESSAGE, run_failed=True)
            elapsed_ms = (time.perf_counter() - started) * 1000

        try:
            reply = result_reply(result)
        except Exception:
            logger.exception("run() returned %s, which cannot be sent as a reply (json.dumps needs lists, dicts, "
                             "str, numbers, bool or None: convert numpy arrays with .tolist(); or return an "
                             "AMLResponse)", type(result).__name__)
            return error_reply(500, INTERNAL_ERROR_MESSAGE)
        reply.headers.append(("x-ms-run-fn-exec-ms", f"{elapsed_ms:.3f}"))
        return reply
