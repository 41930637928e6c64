"""Fixtures of the temperature-anomaly example's tests: score.py in-process, the reference recording, and the example
laid out as edgeml's scoring image holds it, served by the real runtime (`python -m edgeml_server`).

The tests import the example's modules by their plain names (`score`, `train`), their helpers (`reference_data`,
`temperature_example_support`) and, through score.py, `azureml.contrib.services.aml_response` (edgeml's stand-ins
in scoring/runtime/api, as in the image). Under --import-mode=importlib pytest puts none of these folders on sys.path,
so this file does, before any test module of the folder is imported.

Image layout (AML_APP_ROOT=/var/azureml-app): the scoring folder's files at the app root (its working directory, on
sys.path) but for what the image leaves out, the model at <app root>/azureml-models/<model name>/<version>/model.json,
AZUREML_MODEL_DIR at <app root>/azureml-models/<model name>/<version>, the azureml stand-ins first on PYTHONPATH.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

_TESTS_DIR = Path(__file__).resolve().parent
_EXAMPLE_DIR = _TESTS_DIR.parent
_SHIM_DIR = _EXAMPLE_DIR.parents[1] / "runtime" / "api"
for _folder in (_EXAMPLE_DIR, _TESTS_DIR, _SHIM_DIR):  # the stand-ins end up first, as the runtime puts them
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))

import score  # noqa: E402
from reference_data import TEMPERATURE_CSV, load_reference_rows, sensor_message  # noqa: E402
from temperature_example_support import (  # noqa: E402
    ALWAYS_LEFT_OUT,
    COMMITTED_MODEL,
    DOCKERIGNORED,
    ENTRY_SCRIPT,
    EXAMPLE_DIR,
    MODEL_FILE,
    MODEL_IN_FOLDER,
    MODEL_NAME,
    MODEL_VERSION,
    REPO_ROOT,
    RUNTIME_DIR,
    SERVER_MAIN,
    SHIM_DIR,
    require_reference,
    run_python,
)

# Plain module names are shared by the whole pytest process: fail at once, rather than test another folder's score.py.
for _module in (score, sys.modules["reference_data"], sys.modules["temperature_example_support"]):
    if not Path(_module.__file__).resolve().is_relative_to(_EXAMPLE_DIR):
        raise ImportError(f"{_module.__name__} was imported from {_module.__file__}, not from {_EXAMPLE_DIR}")

COLD_MACHINE = [21.5, 1.06, 20.9, 24]  # a machine just started: normal
OVERHEATING_MACHINE = [106.0, 10.7, 21.0, 25]  # well past the overheating threshold


@pytest.fixture
def scorer(monkeypatch):
    """score.py with the committed model loaded, as Azure ML would without a registered model dir."""
    monkeypatch.delenv("AZUREML_MODEL_DIR", raising=False)
    score.init()
    return score


@pytest.fixture
def cold_message():
    return sensor_message(COLD_MACHINE)


@pytest.fixture
def hot_message():
    return sensor_message(OVERHEATING_MACHINE, index=1)


@pytest.fixture(scope="session")
def reference_rows():
    require_reference(TEMPERATURE_CSV)
    return load_reference_rows()


def _left_out(relative):
    """Whether the image leaves this path of the scoring folder (posix, relative) out of its app root."""
    parts = relative.split("/")
    return (parts[0] in DOCKERIGNORED or relative in DOCKERIGNORED or any(p in ALWAYS_LEFT_OUT for p in parts)
            or relative.endswith((".pyc", ".pyo")) or relative == MODEL_IN_FOLDER)


@pytest.fixture(scope="session")
def app_root(tmp_path_factory):
    """A temporary /var/azureml-app: the scoring folder's files and the committed model under azureml-models/."""
    root = tmp_path_factory.mktemp("azureml-app")
    for path in sorted(EXAMPLE_DIR.rglob("*")):
        relative = path.relative_to(EXAMPLE_DIR).as_posix()
        if path.is_file() and not _left_out(relative):
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, root / relative)
    version_dir = root / "azureml-models" / MODEL_NAME / MODEL_VERSION
    version_dir.mkdir(parents=True)
    shutil.copy2(COMMITTED_MODEL, version_dir / MODEL_FILE)
    return root


@pytest.fixture(scope="session")
def image_env(app_root):
    """The environment variables the image sets for the entry script."""
    return {
        "AML_APP_ROOT": str(app_root),
        "AZUREML_MODEL_DIR": str(app_root / "azureml-models" / MODEL_NAME / MODEL_VERSION),
        "AZUREML_ENTRY_SCRIPT": ENTRY_SCRIPT,
        "MODEL_NAME": MODEL_NAME,
        "MODEL_VERSION": MODEL_VERSION,
    }


@pytest.fixture(scope="session")
def request_body():
    return (EXAMPLE_DIR / "sample-request.json").read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def reference():
    """predict_reference.py's answer for sample-request.json (scikit-learn's, not score.py's tree walk), parsed."""
    return json.loads(run_python(EXAMPLE_DIR / "predict_reference.py", COMMITTED_MODEL, EXAMPLE_DIR / "sample-request.json"))


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _http(method, url, body=None, timeout=10):
    """(status, Content-Type, body text) of one request."""
    request = urllib.request.Request(url, data=body, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers.get("Content-Type"), response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type"), error.read().decode("utf-8")


@pytest.fixture(scope="session")
def scoring_server(app_root, image_env, tmp_path_factory):
    """`python -m edgeml_server` serving the example from the app root; yields an object with request(method, path,
    body) -> (status, content type, body text) and log() -> the server's output so far."""
    if not SERVER_MAIN.is_file():
        pytest.skip(f"edgeml's serving runtime ({SERVER_MAIN.relative_to(REPO_ROOT)}) is not written yet")
    port = _free_port()
    env = {
        **os.environ,
        **image_env,
        "PORT": str(port),
        "PYTHONPATH": os.pathsep.join([str(SHIM_DIR), str(RUNTIME_DIR)]),  # as the image's Dockerfile sets it
        "PYTHONUNBUFFERED": "1",
        "EDGEML_HOST": "127.0.0.1",  # the image listens on every interface; a test needs only loopback
    }
    log_path = tmp_path_factory.mktemp("server") / "server.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen([sys.executable, "-m", "edgeml_server"], cwd=app_root, env=env, stdout=log,
                                  stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"

    class Server:
        @staticmethod
        def request(method, path, body=None):
            return _http(method, base + path, body)

        @staticmethod
        def log():
            return log_path.read_text(encoding="utf-8", errors="replace")

    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                pytest.fail(f"edgeml_server exited {server.returncode}:\n{log_path.read_text()}")
            try:
                if _http("GET", base + "/", timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"edgeml_server not healthy within 60 s:\n{log_path.read_text()}")
            time.sleep(0.2)
        yield Server
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
