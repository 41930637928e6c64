"""Fixtures: the ONNX example trained into a temporary folder and laid out as edgeml's scoring image holds it, served
by the real runtime; scoring/examples/example_testing.py defines them, for every example."""

import sys
from pathlib import Path

import pytest

# The support modules, under --import-mode=importlib too: this example's, and the one every example's tests share.
sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[2])]

from example_testing import app_root, entry_script, image_env, reference, request_body  # noqa: E402, F401
from example_testing import scoring_server, served_model, trained_model  # noqa: E402, F401
from onnx_example_support import EXAMPLE  # noqa: E402


@pytest.fixture(scope="session")
def example():
    return EXAMPLE
