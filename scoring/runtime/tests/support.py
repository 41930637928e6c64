"""Helpers for the runtime tests: sys.path as in the image, an in-process server, a fake inference_schema.

A module of its own (not conftest.py) so test modules import it by a name no other suite uses."""

import http.client
import json
import sys
import textwrap
import threading
from dataclasses import dataclass
from pathlib import Path

RUNTIME_DIR = Path(__file__).resolve().parent.parent
API_DIR = RUNTIME_DIR / "api"
for folder in (RUNTIME_DIR, API_DIR):  # api/ ends up first, as the server puts it
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from edgeml_server.config import Config  # noqa: E402
from edgeml_server.http import make_server  # noqa: E402
from edgeml_server.loader import load_entry_script, run_init  # noqa: E402
from edgeml_server.routes import ScoringApp  # noqa: E402


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self):
        return json.loads(self.body)

    def header(self, name):
        return self.headers.get(name)


class RunningServer:
    def __init__(self, server, app, app_dir):
        self.server, self.app, self.app_dir = server, app, app_dir
        self.address = server.server_address[:2]

    def connection(self):
        return http.client.HTTPConnection(*self.address, timeout=10)

    def request(self, method, path, body=None, headers=None, connection=None):
        own = connection is None
        connection = connection or self.connection()
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return Answer(response.status, response.headers, response.read())
        finally:
            if own:
                connection.close()


def write_app(folder, script, filename="score.py"):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / filename).write_text(textwrap.dedent(script), encoding="utf-8")
    return folder


def start_server(app_dir, filename="score.py", env=None):
    """Load the script in app_dir, init() it and serve it on 127.0.0.1:<free port> in a thread."""
    config = Config.from_env({"AML_APP_ROOT": str(app_dir), "AZUREML_ENTRY_SCRIPT": filename,
                              "EDGEML_HOST": "127.0.0.1", "PORT": "0", **(env or {})})
    entry = load_entry_script(config.entry_script)
    run_init(entry)
    app = ScoringApp(entry, config.run_concurrency, config.model_name, config.model_version)
    server = make_server(app, config.host, config.port, config.max_body_bytes, config.keepalive_timeout_s)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return RunningServer(server, app, app_dir), thread


# A stand-in for the inference-schema package (not installable here), reproducing how the real one marks a
# decorated function. Read in Azure/InferenceSchema at 6cee2dc (v1.8): the decorators set no attribute on the
# function; schema_decorators._add_schema_to_global_schema_dictionary records the schema in the module-level
# dict inference_schema.schema_util.__functions_schema__ under "<module>.<name>" of the innermost function
# (found through the wrappers' closures), and schema_util.is_schema_decorated(func) checks that key. The real
# wrapper is a wrapt.FunctionWrapper, whose __wrapped__ makes inspect.signature show the original parameters;
# functools.wraps gives the fake the same.
FAKE_SCHEMA_UTIL = '''
__functions_schema__ = {}


def _innermost(func):
    while hasattr(func, "__wrapped__"):
        func = func.__wrapped__
    return func


def _qualified_name(func):
    original = _innermost(func)
    return "{}.{}".format(getattr(original, "__module__", "<unknown>"), getattr(original, "__name__", "<unknown>"))


def is_schema_decorated(func):
    return _qualified_name(func) in __functions_schema__
'''

FAKE_SCHEMA_DECORATORS = '''
import functools

from .schema_util import __functions_schema__, _qualified_name


class StandardPythonParameterType:
    def __init__(self, sample):
        self.sample = sample


def input_schema(param_name, param_type, convert_to_provided_type=True, optional=False):
    def decorate(user_run):
        schema = __functions_schema__.setdefault(_qualified_name(user_run), {})
        schema.setdefault("input_schema", {"type": "object", "properties": {}})["properties"][param_name] = {}

        @functools.wraps(user_run)
        def wrapper(*args, **kwargs):
            wrapper.calls.append(dict(kwargs))  # lets a test see the decorator ran
            return user_run(*args, **kwargs)

        wrapper.calls = []
        return wrapper
    return decorate


def output_schema(output_type):
    def decorate(user_run):
        __functions_schema__.setdefault(_qualified_name(user_run), {})["output_schema"] = {"type": "object"}
        return functools.wraps(user_run)(lambda *a, **k: user_run(*a, **k))
    return decorate
'''
