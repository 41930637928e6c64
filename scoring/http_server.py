"""Azure ML's HTTP scoring contract on the standard library: POST /score, GET / health.

No web framework, so the edge image stays small.
"""

import json
import logging
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import score

logger = logging.getLogger(__name__)

DEFAULT_PORT = 5001


def _error(message):
    return json.dumps({"error": message})


class ScoringRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: callers posting a stream reuse one connection
    server_version = "edgeml-scoring"

    def do_GET(self):
        if self.path.split("?", 1)[0] == "/":
            self._reply(200, self.server.health_body)
        else:
            self._reply(404, _error(f"no such resource {self.path}; use GET / or POST /score"))

    def do_POST(self):
        # Requests refused before their body is read also drop the connection:
        # the unread body would otherwise be parsed as the next request.
        if self.path.split("?", 1)[0] != "/score":
            self._reply(404, _error(f"no such resource {self.path}; use GET / or POST /score"), close=True)
            return
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            length = -1
        if length < 0:
            self._reply(411, _error("a numeric Content-Length header is required"), close=True)
            return
        if length > score.MAX_PAYLOAD_BYTES:
            self._reply(413, _error(f"body is larger than {score.MAX_PAYLOAD_BYTES} bytes"), close=True)
            return
        outcome = score.evaluate(self.rfile.read(length))
        self._reply(outcome.status, outcome.body)

    def _reply(self, status, body, close=False):
        payload = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format, *args):
        # Per-request access logs would flood an edge device's log; keep them at debug.
        logger.debug("%s - %s", self.address_string(), format % args)


def make_server(port=DEFAULT_PORT, host="0.0.0.0"):
    """A threading server scoring with the model score.init() loaded; port 0 picks a free one."""
    server = ThreadingHTTPServer((host, port), ScoringRequestHandler)
    server.daemon_threads = True
    server.health_body = json.dumps({
        "status": "Healthy",
        "modelName": os.environ.get("MODEL_NAME"),
        "modelVersion": os.environ.get("MODEL_VERSION"),
    })
    return server
