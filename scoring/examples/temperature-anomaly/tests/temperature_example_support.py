"""What the temperature example's tests share: where things are, the model's name and file, what the image leaves out
of the folder, running the example's scripts, and what a test whose oracle (reference data) is missing does.

A module of its own, not conftest.py: test modules import it by a name no other suite uses (every example has a
conftest.py, and under --import-mode=importlib `from conftest import ...` would find whichever came first).
"""

import subprocess
import sys
from pathlib import Path

import pytest

from reference_data import looked_in, missing_reference_message, reference_path, references_required

TESTS_DIR = Path(__file__).resolve().parent
EXAMPLE_DIR = TESTS_DIR.parent
REPO_ROOT = EXAMPLE_DIR.parents[2]
RUNTIME_DIR = REPO_ROOT / "scoring" / "runtime"
SHIM_DIR = RUNTIME_DIR / "api"
SERVER_MAIN = RUNTIME_DIR / "edgeml_server" / "__main__.py"

MODEL_NAME = "temperature-anomaly"  # Pulumi.yaml's default modelName, the registered model's name
MODEL_FILE = "model.json"
MODEL_VERSION = "1"
# The committed model: Pulumi.yaml's default modelPath, and what train.py writes by default.
COMMITTED_MODEL = EXAMPLE_DIR / "model" / MODEL_FILE
ENTRY_SCRIPT = "score.py"
# What the image leaves out of the scoring folder (components/image/moduleContext.ts): what .dockerignore lists
# (plain names, one a line), what edgeml always leaves out, and the model when it lies inside the folder (the image
# carries the registered model under azureml-models/<name>/<version>/ instead).
ALWAYS_LEFT_OUT = {"__pycache__", ".pytest_cache", ".venv", "venv", ".git", ".mypy_cache"}
DOCKERIGNORED = {
    line.strip().strip("/")
    for line in (EXAMPLE_DIR / ".dockerignore").read_text(encoding="utf-8").splitlines()
    if line.strip() and not line.startswith("#")
}
MODEL_IN_FOLDER = COMMITTED_MODEL.relative_to(EXAMPLE_DIR).as_posix()  # "model/model.json"


def run_python(*args, **kwargs):
    """A Python script of the example run as a user runs it (no PYTHONPATH of the tests'); its stdout."""
    done = subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True, **kwargs)
    assert done.returncode == 0, f"{args} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def require_reference(name):
    """Skips the test that needs reference file `name` when it is missing, naming it ("oracle missing:", as the
    mocha tests' titles say; scripts/test.sh collects both). With EDGEML_REQUIRE_REFERENCES=1 (CI) it fails instead."""
    if reference_path(name).is_file():
        return
    if references_required():
        pytest.fail(missing_reference_message(name), pytrace=False)
    pytest.skip(f"oracle missing: {name} {looked_in()}")
