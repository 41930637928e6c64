"""Fixtures: the example trained into a temporary folder and laid out as edgeml's scoring image holds it.

Image layout (AML_APP_ROOT=/var/azureml-app): the scoring folder's files at the app root (its working directory,
on sys.path), the model at <app root>/azureml-models/<model name>/<version>/<model file>, AZUREML_MODEL_DIR at
<app root>/azureml-models/<model name>/<version>, the azureml stand-ins of scoring/runtime/api on sys.path.
"""

import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

sys.path.insert(0, os.path.dirname(__file__))  # the support module, under --import-mode=importlib too

from onnx_example_support import (  # noqa: E402
    ENTRY_SCRIPT,
    EXAMPLE_DIR,
    MODEL_FILE,
    MODEL_NAME,
    MODEL_VERSION,
    NOT_COPIED,
    REPO_ROOT,
    RUNTIME_DIR,
    SERVER_MAIN,
    SHIM_DIR,
    run_python,
)


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory):
    """train.py's model, written to a temporary folder with --out."""
    out = tmp_path_factory.mktemp("trained") / MODEL_FILE
    run_python(EXAMPLE_DIR / "train.py", "--out", out)
    assert out.is_file()
    return out


@pytest.fixture(scope="session")
def app_root(tmp_path_factory, trained_model):
    """A temporary /var/azureml-app: the scoring folder's files and the model under azureml-models/."""
    root = tmp_path_factory.mktemp("azureml-app")
    for entry in EXAMPLE_DIR.iterdir():
        if entry.name in NOT_COPIED:
            continue
        (shutil.copytree if entry.is_dir() else shutil.copy2)(entry, root / entry.name)
    version_dir = root / "azureml-models" / MODEL_NAME / MODEL_VERSION
    version_dir.mkdir(parents=True)
    shutil.copy2(trained_model, version_dir / MODEL_FILE)
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
def reference(trained_model):
    """predict_reference.py's answer for sample-request.json, parsed."""
    return json.loads(run_python(EXAMPLE_DIR / "predict_reference.py", trained_model, EXAMPLE_DIR / "sample-request.json"))


@pytest.fixture
def entry_script(app_root, image_env, monkeypatch):
    """The app root's score.py imported as the runtime imports it (shim on sys.path, app root the working dir)."""
    if not (SHIM_DIR / "azureml" / "core" / "model.py").is_file():
        pytest.skip(f"edgeml's azureml stand-ins are not in {SHIM_DIR} yet")
    for name, value in image_env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(app_root)
    monkeypatch.syspath_prepend(str(app_root))
    monkeypatch.syspath_prepend(str(SHIM_DIR))
    for name in [m for m in sys.modules if m == "azureml" or m.startswith("azureml.")]:
        monkeypatch.delitem(sys.modules, name)
    spec = importlib.util.spec_from_file_location("onnx_example_score", app_root / ENTRY_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.init()
    return module


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _http(method, url, body=None, timeout=10):
    request = urllib.request.Request(url, data=body, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8")


@pytest.fixture(scope="session")
def scoring_server(app_root, image_env, tmp_path_factory):
    """`python -m edgeml_server` serving the example from the app root; yields a function (method, path, body)."""
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
        server = subprocess.Popen([sys.executable, "-m", "edgeml_server"], cwd=app_root, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
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
        yield lambda method, path, body=None: _http(method, base + path, body)
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
