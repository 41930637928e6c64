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
    # TCP_NODELAY on the accepted socket. With Nagle's algorithm on, a reply that leaves in more than one send
    # waits for the client's delayed ACK (~40 ms) on a kept-alive connection; _reply sends once anyway, and this
    # keeps any other write (send_error) from waiting either.
    disable_nagle_algorithm = True

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
        """Status line, headers and body in one write (BaseHTTPRequestHandler would send headers and body apart)."""
        payload = body.encode("utf-8")
        self.log_request(status)
        head = [
            f"{self.protocol_version} {status} {self.responses.get(status, ('',))[0]}",
            f"Server: {self.version_string()}",
            f"Date: {self.date_time_string()}",
            "Content-Type: application/json; charset=utf-8",
            f"Content-Length: {len(payload)}",
        ]
        if close:
            head.append("Connection: close")
            self.close_connection = True
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + payload)

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
