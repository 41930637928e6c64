"""What the example's tests share: where things are, the model's name and file, running the example's scripts."""

import subprocess
import sys
from pathlib import Path

EXAMPLE_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = EXAMPLE_DIR.parents[2]
RUNTIME_DIR = REPO_ROOT / "scoring" / "runtime"
SHIM_DIR = RUNTIME_DIR / "api"
SERVER_MAIN = RUNTIME_DIR / "edgeml_server" / "__main__.py"
STACK_FILE = REPO_ROOT / "Pulumi.sklearn-iris.yaml"

MODEL_NAME = "sklearn-iris"  # what score.py asks Model.get_model_path for, and the stack registers
MODEL_FILE = "model.pkl"
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
