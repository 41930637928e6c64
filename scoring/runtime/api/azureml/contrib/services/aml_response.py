"""AMLResponse: what run() returns to choose the status, headers and bytes of its reply.

    return AMLResponse(jpeg_bytes, 200, {"Content-Type": "image/jpeg"})
    return AMLResponse({"error": "no image"}, 400, json_str=True)      # body json.dumps-ed, application/json
    resp = AMLResponse("ok", 200); resp.headers["Access-Control-Allow-Origin"] = "*"; return resp

The server sends it as it is; anything else run() returns is sent JSON-encoded.
"""

import json
from http import HTTPStatus

from ._datastructures import ContentTypeMixin, Headers

__all__ = ["AMLResponse"]

DEFAULT_CONTENT_TYPE = "text/html; charset=utf-8"  # Flask's, for a body given as text or bytes
JSON_CONTENT_TYPE = "application/json"


def _as_bytes(message):
    if isinstance(message, str):
        return message.encode("utf-8")
    if isinstance(message, (bytes, bytearray, memoryview)):
        return bytes(message)
    try:
        chunks = iter(message)
    except TypeError:
        raise TypeError(f"AMLResponse body must be str, bytes or an iterable of them, not "
                        f"{type(message).__name__}; pass json_str=True to send it as JSON") from None
    return b"".join(_as_bytes(chunk) for chunk in chunks)


class AMLResponse(ContentTypeMixin):
    """An HTTP reply: status_code, headers (case-insensitive; assignable) and a body (get_data())."""

    def __init__(self, message, status_code, response_headers=None, json_str=False, run_function_failed=False):
        self.status_code = int(status_code)
        self.headers = Headers()
        if message is None:
            self._body, content_type = b"{}", JSON_CONTENT_TYPE
        elif json_str:
            self._body, content_type = json.dumps(message).encode("utf-8"), JSON_CONTENT_TYPE
        else:
            self._body, content_type = _as_bytes(message), DEFAULT_CONTENT_TYPE
        self.headers.set("Content-Type", content_type)
        self.headers.set("x-ms-run-function-failed", str(bool(run_function_failed)))
        for name, value in (response_headers or {}).items():
            if name.lower() == "content-type":
                self.headers.set(name, value)
            else:
                self.headers.add(name, value)

    @property
    def status(self):
        try:
            return f"{self.status_code} {HTTPStatus(self.status_code).phrase}"
        except ValueError:
            return f"{self.status_code} UNKNOWN"

    @ContentTypeMixin.content_type.setter  # a response's, unlike a request's, can be set
    def content_type(self, value):
        self.headers.set("Content-Type", value)

    def get_data(self, as_text=False):
        return self._body.decode("utf-8", "replace") if as_text else self._body

    def set_data(self, value):
        self._body = _as_bytes(value)

    data = property(get_data, set_data)

    def get_json(self):
        return json.loads(self._body)

    @property
    def json(self):
        return self.get_json()

    def __repr__(self):
        return f"<{type(self).__name__} {self.status_code}, {len(self._body)} bytes, {self.content_type!r}>"
