"""AMLRequest and @rawhttp: a run() decorated with @rawhttp gets the whole HTTP request instead of its body text.

    from azureml.contrib.services.aml_request import AMLRequest, rawhttp

    @rawhttp
    def run(request):
        if request.method == "GET":
            return AMLResponse(request.full_path, 200)
        image = Image.open(request.files["image"])
        ...

AMLRequest offers the Werkzeug request interface scoring code uses: method, path, full_path, url, args,
headers, data, get_data(), get_json(), json, form, files, values, mimetype, content_type, content_length,
remote_addr, stream.
"""

import io
import json
from urllib.parse import parse_qsl

from ._datastructures import BadRequest, ContentTypeMixin, Headers, MultiDict, UnsupportedMediaType, parse_form

__all__ = ["AMLRequest", "rawhttp", "BadRequest", "UnsupportedMediaType"]

RAWHTTP_ATTRIBUTE = "__edgeml_rawhttp__"

# Azure ML switches a script to raw requests when @rawhttp is applied to any function in it, not only to run
# (its decorator sets a module flag). The loader clears this flag before importing an entry script and reads it
# after, so a run() wrapped again by another decorator still gets the request.
_raw_http_requested = False


def rawhttp(func):
    """Mark run() as taking the AMLRequest instead of the body text."""
    global _raw_http_requested
    _raw_http_requested = True
    try:
        setattr(func, RAWHTTP_ATTRIBUTE, True)
    except (AttributeError, TypeError):  # a builtin or a slotted callable: the module flag still says it
        pass
    return func


def _title_case(name):
    # Header names as a WSGI server hands them to Werkzeug, which scripts have seen: "X-Ms-Request-Id".
    return name.replace("_", "-").title()


def _request_headers(headers):
    """Headers with names title-cased and repeated headers joined by commas, as under a WSGI server."""
    if isinstance(headers, Headers):
        pairs = headers.items()
    elif hasattr(headers, "items"):
        pairs = list(headers.items())
    else:
        pairs = list(headers or ())
    joined = {}
    for name, value in pairs:
        key = _title_case(str(name))
        joined[key] = f"{joined[key]},{value}" if key in joined else str(value)
    return Headers(joined)


class AMLRequest(ContentTypeMixin):
    """One HTTP request (or one IoT Edge message, presented as POST /score)."""

    def __init__(self, method="GET", path="/", query_string=b"", headers=None, body=b"", remote_addr=None,
                 scheme="http"):
        self.method = method.upper()
        self.path = path
        self.query_string = query_string.encode("latin-1") if isinstance(query_string, str) else bytes(query_string)
        self.headers = _request_headers(headers)
        self._body = bytes(body or b"")
        self.remote_addr = remote_addr
        self.scheme = scheme
        self._args = None
        self._form_and_files = None
        self._json = _UNSET

    # -- where the request went ---------------------------------------------------------------------------------
    @property
    def full_path(self):
        """Path and query string, joined by "?" even when the query is empty (as Werkzeug does)."""
        return f"{self.path}?{self.query_string.decode('latin-1')}"

    @property
    def host(self):
        return self.headers.get("Host", "")

    @property
    def host_url(self):
        return f"{self.scheme}://{self.host}/"

    @property
    def base_url(self):
        return f"{self.scheme}://{self.host}{self.path}"

    @property
    def url(self):
        return self.base_url + (f"?{self.query_string.decode('latin-1')}" if self.query_string else "")

    @property
    def args(self):
        """The query parameters (a MultiDict: args.get("k"), args.getlist("k"))."""
        if self._args is None:
            self._args = MultiDict(parse_qsl(self.query_string.decode("latin-1"), keep_blank_values=True))
        return self._args

    # -- what it carries ----------------------------------------------------------------------------------------
    # content_type and mimetype: ContentTypeMixin's
    @property
    def mimetype_params(self):
        params = {}
        for item in (self.content_type or "").split(";")[1:]:
            key, _, value = item.partition("=")
            if key.strip():
                params[key.strip().lower()] = value.strip().strip('"')
        return params

    @property
    def content_length(self):
        return self.headers.get("Content-Length", type=int)

    @property
    def is_json(self):
        mimetype = self.mimetype
        return mimetype == "application/json" or (mimetype.startswith("application/") and mimetype.endswith("+json"))

    def get_data(self, cache=True, as_text=False, parse_form_data=False):
        """The body: bytes, or text (UTF-8, undecodable bytes replaced) with as_text=True."""
        return self._body.decode("utf-8", "replace") if as_text else self._body

    @property
    def data(self):
        return self._body

    @property
    def stream(self):
        return io.BytesIO(self._body)

    input_stream = stream

    def get_json(self, force=False, silent=False, cache=True):
        """The body parsed as JSON. Without force, only for a JSON Content-Type; errors raise unless silent."""
        if not (force or self.is_json):
            if silent:
                return None
            raise UnsupportedMediaType("Did not attempt to load JSON data because the request Content-Type was "
                                       "not 'application/json'.")
        if self._json is _UNSET or not cache:
            try:
                value = json.loads(self._body)
            except ValueError as error:
                if silent:
                    return None
                raise BadRequest(f"Failed to decode JSON object: {error}") from None
            if not cache:
                return value
            self._json = value
        return self._json

    @property
    def json(self):
        return self.get_json()

    def _parsed_form(self):
        if self._form_and_files is None:
            self._form_and_files = parse_form(self.mimetype, self.content_type or "", self._body)
        return self._form_and_files

    @property
    def form(self):
        """Fields of a urlencoded or multipart/form-data body."""
        return self._parsed_form()[0]

    @property
    def files(self):
        """Files of a multipart/form-data body: files["image"] is a file-like FileStorage."""
        return self._parsed_form()[1]

    @property
    def values(self):
        return MultiDict(self.args.items(multi=True) + self.form.items(multi=True))

    def __repr__(self):
        return f"<{type(self).__name__} {self.method} {self.full_path!r}>"


_UNSET = object()
