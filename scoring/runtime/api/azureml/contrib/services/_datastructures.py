"""Headers, multi-value dicts, uploaded files and form parsing for AMLRequest/AMLResponse.

Scripts written for Azure ML get Werkzeug objects there; these keep the parts of Werkzeug's interface that
scoring code uses (case-insensitive headers, request.args.get/getlist, request.files["image"] that PIL can
open), on the standard library only.
"""

import email.parser
import email.policy
import io
import shutil
from urllib.parse import parse_qsl


class BadRequest(ValueError):
    """What Werkzeug raises for an unparsable request body; inside run() it is a run() failure (500), as in
    Azure ML, unless the script catches it."""

    code = 400


class UnsupportedMediaType(BadRequest):
    code = 415


_NOT_CONVERTED = object()


def _converted(value, type, default):
    """get(..., type=...) of Werkzeug's Headers and MultiDict: value, type(value), or default when type refuses it."""
    if type is None:
        return value
    try:
        return type(value)
    except (ValueError, TypeError):
        return default


class ContentTypeMixin:
    """content_type and mimetype of an object with headers (AMLRequest, AMLResponse, FileStorage), as Werkzeug's
    have them."""

    @property
    def content_type(self):
        return self.headers.get("Content-Type")

    @property
    def mimetype(self):
        return (self.content_type or "").split(";", 1)[0].strip().lower()


class Headers:
    """Ordered, case-insensitive, multi-valued HTTP headers. Iterating yields (name, value) pairs, so
    dict(headers) works, as it does for Werkzeug's Headers."""

    def __init__(self, items=None):
        self._items = []
        self._index = None  # lower-cased name -> first value, built on the first get() after a change
        if items is not None:
            self.extend(items)

    def extend(self, items):
        if hasattr(items, "items") and not isinstance(items, Headers):
            items = items.items()
        for name, value in items:
            self.add(name, value)

    def add(self, name, value):
        self._items.append((str(name), str(value)))
        self._index = None

    add_header = add

    def set(self, name, value):
        """Replace every value of name with value, keeping the position of the first one."""
        lower, value = name.lower(), str(value)
        self._index = None
        for index, (existing, _) in enumerate(self._items):
            if existing.lower() == lower:
                self._items[index] = (str(name), value)
                self._items[index + 1:] = [item for item in self._items[index + 1:] if item[0].lower() != lower]
                return
        self._items.append((str(name), value))

    def remove(self, name):
        lower = name.lower()
        self._items = [item for item in self._items if item[0].lower() != lower]
        self._index = None

    def get(self, name, default=None, type=None):
        if self._index is None:
            self._index = {}
            for existing, value in self._items:
                self._index.setdefault(existing.lower(), value)
        value = self._index.get(name.lower())
        return default if value is None else _converted(value, type, default)

    def getlist(self, name):
        lower = name.lower()
        return [value for existing, value in self._items if existing.lower() == lower]

    get_all = getlist

    def __getitem__(self, name):
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    __setitem__ = set

    def __delitem__(self, name):
        self.remove(name)

    def __contains__(self, name):
        return isinstance(name, str) and self.get(name) is not None

    def __iter__(self):
        return iter(list(self._items))

    def __len__(self):
        return len(self._items)

    def keys(self):
        return [name for name, _ in self._items]

    def values(self):
        return [value for _, value in self._items]

    def items(self):
        return list(self._items)

    def to_wsgi_list(self):
        return list(self._items)

    def copy(self):
        return Headers(self._items)

    def __eq__(self, other):
        return isinstance(other, Headers) and self._items == other._items

    def __repr__(self):
        return f"{type(self).__name__}({self._items!r})"


class MultiDict:
    """Read-only mapping of keys to one or more values (request.args, .form, .files): [key] and get() give the
    first value, getlist() all of them."""

    def __init__(self, pairs=()):
        self._lists = {}
        for key, value in pairs:
            self._lists.setdefault(key, []).append(value)

    def __getitem__(self, key):
        if key in self._lists:
            return self._lists[key][0]
        raise KeyError(key)

    def get(self, key, default=None, type=None):
        return _converted(self._lists[key][0], type, default) if key in self._lists else default

    def getlist(self, key, type=None):
        """All values of key; with type, those type() converts (the others are left out, as Werkzeug does)."""
        converted = (_converted(value, type, _NOT_CONVERTED) for value in self._lists.get(key, []))
        return [value for value in converted if value is not _NOT_CONVERTED]

    def __contains__(self, key):
        return key in self._lists

    def __iter__(self):
        return iter(self._lists)

    def __len__(self):
        return len(self._lists)

    def keys(self):
        return self._lists.keys()

    def values(self):
        return [values[0] for values in self._lists.values()]

    def items(self, multi=False):
        if multi:
            return [(key, value) for key, values in self._lists.items() for value in values]
        return [(key, values[0]) for key, values in self._lists.items()]

    def lists(self):
        return [(key, list(values)) for key, values in self._lists.items()]

    def to_dict(self, flat=True):
        if flat:
            return {key: values[0] for key, values in self._lists.items()}
        return {key: list(values) for key, values in self._lists.items()}

    def __repr__(self):
        return f"{type(self).__name__}({self.items(multi=True)!r})"


class FileStorage(ContentTypeMixin):
    """One uploaded file of a multipart/form-data body. Reading attributes it lacks (read, seek, tell...) go to
    its stream, so PIL.Image.open(request.files["image"]) works as with Werkzeug."""

    def __init__(self, stream, filename=None, name=None, content_type=None, headers=None):
        self.stream = stream
        self.filename = filename
        self.name = name
        self.headers = headers if headers is not None else Headers()
        if content_type is not None:
            self.headers.set("Content-Type", content_type)

    @property
    def content_length(self):
        return len(self.stream.getbuffer()) if isinstance(self.stream, io.BytesIO) else 0

    def save(self, dst, buffer_size=16384):
        """Copy the file to dst, a path or a binary file object."""
        if isinstance(dst, (str, bytes)) or hasattr(dst, "__fspath__"):
            with open(dst, "wb") as target:
                shutil.copyfileobj(self.stream, target, buffer_size)
        else:
            shutil.copyfileobj(self.stream, dst, buffer_size)

    def close(self):
        self.stream.close()

    def __getattr__(self, name):
        if name == "stream":  # not set yet (unpickling): avoid recursing
            raise AttributeError(name)
        return getattr(self.stream, name)

    def __iter__(self):
        return iter(self.stream)

    def __bool__(self):
        return bool(self.filename)

    def __repr__(self):
        return f"<{type(self).__name__}: {self.filename!r} ({self.content_type!r})>"


def parse_form(mimetype, content_type_header, body):
    """(form, files) MultiDicts for a urlencoded or multipart/form-data body; empty ones for other types."""
    if mimetype == "application/x-www-form-urlencoded":
        pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        return MultiDict(pairs), MultiDict()
    if mimetype != "multipart/form-data" or not body:
        return MultiDict(), MultiDict()
    # The email package parses MIME multipart documents; an HTTP form body is one once its Content-Type header
    # (which carries the boundary) is put in front of it.
    document = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type_header.encode("latin-1", "replace") + b"\r\n\r\n" + body)
    if not document.is_multipart():
        raise BadRequest("multipart/form-data body could not be parsed (missing or wrong boundary?)")
    form, files = [], []
    for part in document.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name is None:
            continue
        payload = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is None:
            charset = part.get_content_charset() or "utf-8"
            form.append((name, payload.decode(charset, "replace")))
        else:
            headers = Headers((key, str(value)) for key, value in part.items())
            if "Content-Type" not in headers:
                headers.set("Content-Type", "application/octet-stream")
            files.append((name, FileStorage(io.BytesIO(payload), filename=filename, name=name, headers=headers)))
    return MultiDict(form), MultiDict(files)
