import pytest

import score
from reference_data import (TEMPERATURE_CSV, load_reference_rows, looked_in, missing_reference_message,
                            reference_path, references_required, sensor_message)

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


def require_reference(name):
    """Skips the test that needs reference file `name` when it is missing, naming it ("oracle missing:", as the
    mocha tests' titles say; scripts/test.sh collects both). With EDGEML_REQUIRE_REFERENCES=1 (CI) it fails instead."""
    if reference_path(name).is_file():
        return
    if references_required():
        pytest.fail(missing_reference_message(name), pytrace=False)
    pytest.skip(f"oracle missing: {name} {looked_in()}")


@pytest.fixture(scope="session")
def reference_rows():
    require_reference(TEMPERATURE_CSV)
    return load_reference_rows()
