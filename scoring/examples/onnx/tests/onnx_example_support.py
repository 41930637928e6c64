"""What the example's tests share: where things are, the model's name and file, running the example's scripts."""

import subprocess
import sys
from pathlib import Path

EXAMPLE_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = EXAMPLE_DIR.parents[2]
RUNTIME_DIR = REPO_ROOT / "scoring" / "runtime"
SHIM_DIR = RUNTIME_DIR / "api"
SERVER_MAIN = RUNTIME_DIR / "edgeml_server" / "__main__.py"
STACK_FILE = REPO_ROOT / "Pulumi.onnx-wine.yaml"

MODEL_NAME = "wine-onnx"  # the name the stack registers the model under: the image's azureml-models/<name>/
MODEL_FILE = "model.onnx"  # score.py opens $AZUREML_MODEL_DIR/model.onnx
MODEL_VERSION = "1"
ENTRY_SCRIPT = "score.py"
# What the image leaves out of the scoring folder: what .dockerignore lists (plain names, one a line), and what edgeml
# always leaves out.
ALWAYS_LEFT_OUT = {"__pycache__", ".pytest_cache", ".venv", "venv", ".git", ".mypy_cache"}
NOT_COPIED = ALWAYS_LEFT_OUT | {
    line.strip().strip("/")
    for line in (EXAMPLE_DIR / ".dockerignore").read_text(encoding="utf-8").splitlines()
    if line.strip() and not line.startswith("#")
}


def run_python(*args, **kwargs):
    """A Python script of the example run as a user runs it; its stdout."""
    done = subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True, **kwargs)
    assert done.returncode == 0, f"{args} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout
