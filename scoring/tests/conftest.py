import pytest

import score
from reference_data import load_reference_rows, sensor_message

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
    return load_reference_rows()
