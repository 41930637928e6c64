"""What the temperature example's tests share: where it is, the model's name and file, and what a test whose oracle
(reference data) is missing does; what every example's tests share is in scoring/examples/example_testing.py.

A module of its own, not conftest.py: test modules import it by a name no other suite uses (every example has a
conftest.py, and under --import-mode=importlib `from conftest import ...` would find whichever came first).
"""

from pathlib import Path

import pytest

from example_testing import MODEL_VERSION, REPO_ROOT, Example  # noqa: F401  (MODEL_VERSION, REPO_ROOT: for the tests)
from reference_data import looked_in, missing_reference_message, reference_path, references_required

TESTS_DIR = Path(__file__).resolve().parent
EXAMPLE_DIR = TESTS_DIR.parent

MODEL_NAME = "temperature-anomaly"  # Pulumi.yaml's default modelName, the registered model's name
MODEL_FILE = "model.json"
# The committed model: Pulumi.yaml's default modelPath, and what train.py writes by default. The image leaves it out
# of the app root, as any model inside the folder (example_testing.lay_out_app_root).
COMMITTED_MODEL = EXAMPLE_DIR / "model" / MODEL_FILE
MODEL_IN_FOLDER = COMMITTED_MODEL.relative_to(EXAMPLE_DIR).as_posix()  # "model/model.json"
EXAMPLE = Example(EXAMPLE_DIR, MODEL_NAME, MODEL_FILE)


def require_reference(name):
    """Skips the test that needs reference file `name` when it is missing, naming it ("oracle missing:", as the
    mocha tests' titles say; scripts/test.sh collects both). With EDGEML_REQUIRE_REFERENCES=1 (CI) it fails instead."""
    if reference_path(name).is_file():
        return
    if references_required():
        pytest.fail(missing_reference_message(name), pytrace=False)
    pytest.skip(f"oracle missing: {name} {looked_in()}")
