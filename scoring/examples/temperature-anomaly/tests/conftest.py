"""Fixtures of the temperature-anomaly example's tests: score.py in-process, the reference recording, and the example
laid out as edgeml's scoring image holds it, served by the real runtime (`python -m edgeml_server`).

The tests import the example's modules by their plain names (`score`, `train`), their helpers (`reference_data`,
`temperature_example_support`, and `example_testing` of scoring/examples, which defines the fixtures of the image
layout and the server for every example) and, through score.py, `azureml.contrib.services.aml_response` (edgeml's
stand-ins in scoring/runtime/api, as in the image). Under --import-mode=importlib pytest puts none of these folders on
sys.path, so this file does, before any test module of the folder is imported.
"""

import sys
from pathlib import Path

import pytest

_TESTS_DIR = Path(__file__).resolve().parent
_EXAMPLE_DIR = _TESTS_DIR.parent
_SHIM_DIR = _EXAMPLE_DIR.parents[1] / "runtime" / "api"
# scoring/examples (example_testing), then the example's folders; the stand-ins end up first, as the runtime puts them.
for _folder in (_EXAMPLE_DIR.parent, _EXAMPLE_DIR, _TESTS_DIR, _SHIM_DIR):
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))

import score  # noqa: E402
from example_testing import app_root, image_env, reference, request_body, scoring_server  # noqa: E402, F401
from reference_data import TEMPERATURE_CSV, load_reference_rows, sensor_message  # noqa: E402
from temperature_example_support import COMMITTED_MODEL, EXAMPLE, require_reference  # noqa: E402

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


@pytest.fixture(scope="session")
def example():
    return EXAMPLE


@pytest.fixture(scope="session")
def served_model():
    """The committed model (not train.py run again): what the stack registers."""
    return COMMITTED_MODEL
