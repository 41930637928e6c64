"""The HTTP/1.1 server on the standard library: no web framework, so the edge image stays small.

Each reply (status line, headers, body) leaves in ONE write on a socket with Nagle's algorithm off: written
apart, a kept-alive client waited for its delayed ACK (~40 ms) on every request (keep-alive p50 44 ms -> 0.13 ms
in the scoring image). Connections are served on threads; run() itself is serialized by ScoringApp.

Bodies: Content-Length or chunked, up to max_body_bytes (413 past it, refused before reading; a client sending
"Expect: 100-continue" is refused before it sends). A request without either has an empty body.
"""

import email.utils
import logging
import socket
import socketserver
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

from azureml.contrib.services.aml_request import AMLRequest

from .routes import error_reply

logger = logging.getLogger("edgeml.http")

_HEX = set(b"0123456789abcdefABCDEF")
_MAX_LINE = 65536
_NO_BODY_STATUSES = {204, 304}


class ScoringRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: a caller posting a stream reuses one connection
    server_version = "edgeml"
    sys_version = ""
    # TCP_NODELAY on the accepted socket (see the module docstring): _send writes once anyway; this keeps any
    # other write (a 100 Continue) from waiting either.
    disable_nagle_algorithm = True

    def setup(self):
        self.timeout = self.server.keepalive_timeout_s  # idle kept-alive connections close after this
        super().setup()

    # -- request ------------------------------------------------------------------------------------------------
    def do_GET(self):
        target = self.path
        if target.startswith(("http://", "https://")):  # absolute-form, as sent to proxies
            parts = urlsplit(target)
            path, query = parts.path or "/", parts.query
        else:
            path, _, query = target.partition("?")
        body, refusal = self._read_body()
        if refusal is not None:
            self._send(refusal, close=True)
            return
        if body is None:  # the client went away mid-body
            self.close_connection = True
            return
        request = AMLRequest(self.command, unquote(path), query, self.headers.items(), body, self.client_address[0])
        self._send(self.server.app.handle(request))

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = do_GET

    def handle_expect_100(self):
        refusal = self._refusal_before_body()
        if refusal is not None:
            self._send(refusal, close=True)
            return False
        return super().handle_expect_100()

    def _refusal_before_body(self):
        """An error reply if the body's framing is unacceptable, judged from the headers alone."""
        encoding = self.headers.get("Transfer-Encoding")
        if encoding is not None:
            if encoding.strip().lower() != "chunked":
                return error_reply(501, f"Transfer-Encoding {encoding!r} is not supported; use chunked or "
                                        "Content-Length")
            return None
        lengths = self.headers.get_all("Content-Length") or []
        if not lengths:
            return None
        if len(set(v.strip() for v in lengths)) > 1 or not lengths[0].strip().isdigit():
            return error_reply(400, "Content-Length must be one non-negative integer")
        limit = self.server.max_body_bytes
        if int(lengths[0]) > limit:
            return error_reply(413, f"the body is larger than {limit} bytes")
        return None

    def _read_body(self):
        """(body, None); (None, reply to send before closing); or (None, None) if the client went away."""
        refusal = self._refusal_before_body()
        if refusal is not None:
            return None, refusal
        if self.headers.get("Transfer-Encoding") is not None:
            return self._read_chunked()
        length = self.headers.get("Content-Length")
        if length is None:
            return b"", None
        length = int(length)
        body = self.rfile.read(length)
        return (body, None) if len(body) == length else (None, None)

    def _read_chunked(self):
        limit, chunks, total = self.server.max_body_bytes, [], 0
        while True:
            line = self.rfile.readline(_MAX_LINE + 1)
            if not line:
                return None, None
            size = line.split(b";", 1)[0].strip()
            if not size or not set(size) <= _HEX:
                return None, error_reply(400, "malformed chunk size in a chunked body")
            size = int(size, 16)
            if size == 0:
                break
            total += size
            if total > limit:
                return None, error_reply(413, f"the body is larger than {limit} bytes")
            chunk = self.rfile.read(size)
            if len(chunk) < size:
                return None, None
            chunks.append(chunk)
            if self.rfile.readline(3) not in (b"\r\n", b"\n"):
                return None, error_reply(400, "malformed chunked body: no line end after a chunk")
        while True:  # trailer fields, ignored, up to the blank line
            line = self.rfile.readline(_MAX_LINE + 1)
            if not line:
                return None, None
            if line in (b"\r\n", b"\n"):
                return b"".join(chunks), None

    # -- reply --------------------------------------------------------------------------------------------------
    def _send(self, reply, close=False):
        """Status line, headers and body in one write."""
        status = reply.status
        body = b"" if status in _NO_BODY_STATUSES or status < 200 else reply.body
        phrase = self.responses.get(status, ("",))[0]
        lines = [f"HTTP/1.1 {status} {phrase}", f"Server: {self.server_version}", f"Date: {self.server.date()}"]
        lines += [f"{name}: {value}" for name, value in reply.headers]
        if status not in _NO_BODY_STATUSES and status >= 200:
            lines.append(f"Content-Length: {len(body)}")
        if close or self.close_connection:
            lines.append("Connection: close")
            self.close_connection = True
        elif getattr(self, "request_version", "") == "HTTP/1.0":
            lines.append("Connection: keep-alive")  # an HTTP/1.0 client that asked for keep-alive got it
        if getattr(self, "command", None) == "HEAD":
            body = b""
        if logger.isEnabledFor(logging.DEBUG):
            self.log_request(status, len(body))
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)

    def send_error(self, code, message=None, explain=None):
        """Requests http.server refuses itself (malformed, too long, unknown method): JSON, then close."""
        self._send(error_reply(code, message or self.responses.get(code, ("error",))[0]), close=True)

    def log_message(self, format, *args):
        # Per-request access logs would flood an edge device's log; they are debug. Bodies are never logged.
        logger.debug("%s - %s", self.address_string(), format % args)


class ScoringHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # listen backlog: 64 clients connecting at once must not see SYN drops

    def __init__(self, address, app, max_body_bytes, keepalive_timeout_s):
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.keepalive_timeout_s = keepalive_timeout_s
        self._date = (0, "")
        super().__init__(address, ScoringRequestHandler)

    def server_bind(self):
        # HTTPServer.server_bind resolves the host's FQDN, a DNS lookup that can stall start-up on a device
        # without name resolution; the name is not used here.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def date(self):
        """The Date header value, formatted once a second."""
        now = int(time.time())
        if self._date[0] != now:
            self._date = (now, email.utils.formatdate(now, usegmt=True))
        return self._date[1]

    def handle_error(self, request, client_address):
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError, socket.timeout)):
            logger.debug("connection from %s ended: %r", client_address, error)
        else:
            logger.exception("error serving %s", client_address)


def make_server(app, host="0.0.0.0", port=5001, max_body_bytes=100 * 1024 * 1024, keepalive_timeout_s=75.0):
    """A listening server for app; port 0 picks a free one (server.server_address[1])."""
    return ScoringHTTPServer((host, port), app, max_body_bytes, keepalive_timeout_s)
