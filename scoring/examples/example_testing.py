"""What every example's tests share: the example laid out as edgeml's scoring image holds it, served by the real
runtime (`python -m edgeml_server`), and the example's own scripts run as a user runs them.

Image layout (AML_APP_ROOT=/var/azureml-app): the scoring folder's files at the app root (its working directory, on
sys.path) but for what the image leaves out, the model at <app root>/azureml-models/<model name>/<version>/<model file>,
AZUREML_MODEL_DIR at <app root>/azureml-models/<model name>/<version>, the azureml stand-ins of scoring/runtime/api
first on PYTHONPATH.

How an example uses it: its tests/conftest.py puts this folder on sys.path, imports the fixtures below that its tests
need, and defines `example`, an Example naming what differs: its folder, model name and model file. `served_model`,
the model file the image carries, is train.py's output (`trained_model`) unless the conftest defines its own.

Why not a conftest.py of scoring/examples: run from an example's folder with its own pytest.ini, pytest loads no
conftest.py above that folder (the ini file's folder is the confcutdir); and one pytest run over every example would
share a parent conftest's session-scoped fixtures (app root, server) between examples. Imported into each example's
conftest, a fixture is registered once per example, with a session-scoped value of its own.
"""

import importlib.util
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

EXAMPLES_DIR = Path(__file__).resolve().parent
REPO_ROOT = EXAMPLES_DIR.parents[1]
RUNTIME_DIR = REPO_ROOT / "scoring" / "runtime"
SHIM_DIR = RUNTIME_DIR / "api"
SERVER_MAIN = RUNTIME_DIR / "edgeml_server" / "__main__.py"

MODEL_VERSION = "1"
ENTRY_SCRIPT = "score.py"
# What the image leaves out of the scoring folder (components/image/moduleContext.ts): what its .dockerignore lists
# (plain names, one a line), what edgeml always leaves out, and the model when it lies inside the folder (the image
# carries the registered model under azureml-models/<name>/<version>/ instead).
ALWAYS_LEFT_OUT = {"__pycache__", ".pytest_cache", ".venv", "venv", ".git", ".mypy_cache"}


def dockerignored(example_dir):
    """The names the example's .dockerignore lists."""
    return {
        line.strip().strip("/")
        for line in (Path(example_dir) / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }


@dataclass(frozen=True)
class Example:
    """What differs between the examples' tests: the folder, and the model's registered name and file name."""

    dir: Path
    model_name: str
    model_file: str

    def model_dir(self, app_root):
        """AZUREML_MODEL_DIR of the image: the registered model's version folder."""
        return Path(app_root) / "azureml-models" / self.model_name / MODEL_VERSION


def run_python(*args, **kwargs):
    """A Python script of the example run as a user runs it (no PYTHONPATH of the tests'); its stdout."""
    done = subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True, **kwargs)
    assert done.returncode == 0, f"{args} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def lay_out_app_root(root, example, model):
    """Copy the example's folder to root as the image does, and the model file under azureml-models/."""
    ignored = dockerignored(example.dir)
    model = Path(model).resolve()
    for folder, subfolders, files in os.walk(example.dir):
        relative = Path(folder).relative_to(example.dir)
        if (relative.parts and relative.parts[0] in ignored) or ALWAYS_LEFT_OUT.intersection(relative.parts):
            subfolders[:] = []  # nor anything below it
            continue
        for name in files:
            path = Path(folder) / name
            if ((relative / name).as_posix() in ignored or name in ALWAYS_LEFT_OUT or name.endswith((".pyc", ".pyo"))
                    or path.resolve() == model):
                continue
            (root / relative).mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, root / relative / name)
    example.model_dir(root).mkdir(parents=True)
    shutil.copy2(model, example.model_dir(root) / example.model_file)
    return root


def retrained(example, out_dir):
    """train.py run again to out_dir: (the model file's bytes, the held-out accuracy it printed)."""
    out = Path(out_dir) / example.model_file
    printed = run_python(example.dir / "train.py", "--out", out)
    return out.read_bytes(), float(re.search(r"held-out accuracy ([0-9.]+)", printed).group(1))


def myenv_pins(example):
    """myenv.yml of the example: (the file parsed, its conda pins {name: version}, its pip pins {name: version or
    None})."""
    yaml = pytest.importorskip("yaml")
    env = yaml.safe_load((example.dir / "myenv.yml").read_text())
    conda = dict(d.split("=", 1) for d in env["dependencies"] if isinstance(d, str))
    pip_lists = [d["pip"] for d in env["dependencies"] if isinstance(d, dict)]
    pip = dict(p.split("==", 1) if "==" in p else (p, None) for pips in pip_lists for p in pips)
    return env, conda, pip


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, body=None, timeout=10):
    """(status, Content-Type, body text) of one request."""
    request = urllib.request.Request(url, data=body, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers.get("Content-Type"), response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type"), error.read().decode("utf-8")


def scored_by_the_runtime(scoring_server, request_body):
    """What the runtime answers POST /score with request_body, parsed; GET / and POST /score must both answer 200."""
    status, _content_type, body = scoring_server.request("GET", "/")
    assert status == 200, body
    status, _content_type, body = scoring_server.request("POST", "/score", request_body.encode("utf-8"))
    assert status == 200, body
    return json.loads(body)


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory, example):
    """train.py's model, written to a temporary folder with --out."""
    out = tmp_path_factory.mktemp("trained") / example.model_file
    run_python(example.dir / "train.py", "--out", out)
    assert out.is_file()
    return out


@pytest.fixture(scope="session")
def served_model(trained_model):
    """The model file the image carries (registered under the example's model name)."""
    return trained_model


@pytest.fixture(scope="session")
def app_root(tmp_path_factory, example, served_model):
    """A temporary /var/azureml-app: the scoring folder's files and the model under azureml-models/."""
    return lay_out_app_root(tmp_path_factory.mktemp("azureml-app"), example, served_model)


@pytest.fixture(scope="session")
def image_env(app_root, example):
    """The environment variables the image sets for the entry script."""
    return {
        "AML_APP_ROOT": str(app_root),
        "AZUREML_MODEL_DIR": str(example.model_dir(app_root)),
        "AZUREML_ENTRY_SCRIPT": ENTRY_SCRIPT,
        "MODEL_NAME": example.model_name,
        "MODEL_VERSION": MODEL_VERSION,
    }


@pytest.fixture(scope="session")
def request_body(example):
    return (example.dir / "sample-request.json").read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def reference(example, served_model):
    """predict_reference.py's answer for sample-request.json, parsed."""
    sample = example.dir / "sample-request.json"
    return json.loads(run_python(example.dir / "predict_reference.py", served_model, sample))


@pytest.fixture
def entry_script(app_root, image_env, example, monkeypatch):
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
    module_name = example.dir.name.replace("-", "_") + "_example_score"  # not `score`: every example has one
    spec = importlib.util.spec_from_file_location(module_name, app_root / ENTRY_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.init()
    return module


@pytest.fixture(scope="session")
def scoring_server(app_root, image_env, tmp_path_factory):
    """`python -m edgeml_server` serving the example from the app root; yields an object with request(method, path,
    body) -> (status, content type, body text) and log() -> the server's output so far."""
    if not SERVER_MAIN.is_file():
        pytest.skip(f"edgeml's serving runtime ({SERVER_MAIN.relative_to(REPO_ROOT)}) is not written yet")
    port = free_port()
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
            return http(method, base + path, body)

        @staticmethod
        def log():
            return log_path.read_text(encoding="utf-8", errors="replace")

    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                pytest.fail(f"edgeml_server exited {server.returncode}:\n{log_path.read_text()}")
            try:
                if http("GET", base + "/", timeout=2)[0] == 200:
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
