"""Fixtures: entry scripts written to tmp dirs, served by the real server in-process on an ephemeral port."""

import sys

import pytest

from .support import FAKE_SCHEMA_DECORATORS, FAKE_SCHEMA_UTIL, start_server, write_app


@pytest.fixture
def serve(tmp_path):
    """serve(script_text, env={...}) -> RunningServer: load the script, init(), serve it on 127.0.0.1:<free>."""
    running = []

    def start(script, env=None, filename="score.py"):
        app_dir = write_app(tmp_path / f"app{len(running)}", script, filename)
        server, thread = start_server(app_dir, filename, env)
        running.append((server.server, thread))
        return server

    yield start
    for server, thread in running:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def fake_inference_schema(tmp_path, monkeypatch):
    package = tmp_path / "site" / "inference_schema"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "schema_util.py").write_text(FAKE_SCHEMA_UTIL)
    (package / "schema_decorators.py").write_text(FAKE_SCHEMA_DECORATORS)
    (package / "parameter_types").mkdir()
    (package / "parameter_types" / "__init__.py").write_text("")
    (package / "parameter_types" / "standard_py_parameter_type.py").write_text(
        "from ..schema_decorators import StandardPythonParameterType\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    yield package
    for name in [n for n in sys.modules if n == "inference_schema" or n.startswith("inference_schema.")]:
        del sys.modules[name]
