"""The scikit-learn joblib example end to end: train.py's model, served by score.py, answers as the model itself.

Run from this example's folder: python -m pytest   (packages: requirements.txt)
"""

import json
import re

import joblib
import numpy as np
import pytest
from example_testing import myenv_pins, retrained, scored_by_the_runtime
from sklearn_example_support import EXAMPLE, EXAMPLE_DIR, MODEL_FILE, MODEL_NAME, REPO_ROOT, STACK_FILE

# Iris classes of the six rows of sample-request.json (two of each species, from load_iris).
SAMPLE_CLASSES = [0, 0, 1, 1, 2, 2]


def same_predictions(answer, expected):
    """The comparison every test makes: class labels must match exactly, in order."""
    return isinstance(answer, list) and answer == expected


def test_the_reference_is_the_model_and_gets_the_sample_right(trained_model, reference):
    data = np.array(json.loads((EXAMPLE_DIR / "sample-request.json").read_text())["data"])
    assert same_predictions(reference, joblib.load(trained_model).predict(data).tolist())
    assert same_predictions(reference, SAMPLE_CLASSES)


def test_a_wrong_expected_value_fails_the_check(reference):
    wrong = list(reference)
    wrong[-1] = (wrong[-1] + 1) % 3
    assert not same_predictions(reference, wrong)
    assert not same_predictions({"error": "x"}, reference)


def test_the_runtime_answers_score_with_the_reference_predictions(scoring_server, request_body, reference):
    answer = scored_by_the_runtime(scoring_server, request_body)
    assert same_predictions(answer, reference), answer


def test_score_py_run_returns_the_reference_predictions(entry_script, request_body, reference):
    assert same_predictions(entry_script.run(request_body), reference)


def test_score_py_run_reports_bad_input_as_the_v1_samples_did(entry_script):
    wrong_width = entry_script.run(json.dumps({"data": [[1.0, 2.0]]}))
    assert set(wrong_width) == {"error"} and "4 features" in wrong_width["error"]
    assert set(entry_script.run("not json")) == {"error"}
    assert set(entry_script.run(json.dumps({"rows": []}))) == {"error"}


def test_train_is_deterministic_and_accurate(trained_model, tmp_path):
    model, accuracy = retrained(EXAMPLE, tmp_path)
    assert model == trained_model.read_bytes()
    assert accuracy >= 0.9


def test_myenv_pins_the_versions_that_trained_the_model():
    """A joblib pickle loads only with the scikit-learn that wrote it: the image must install exactly these."""
    import scipy
    import sklearn

    env, conda, pip = myenv_pins(EXAMPLE)
    assert env["name"] == "project_environment" and env["channels"] == ["anaconda", "conda-forge"]
    assert conda == {
        "python": "3.11",
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "scikit-learn": sklearn.__version__,
    }
    assert pip == {"azureml-defaults": None, "joblib": joblib.__version__}


def test_the_stack_file_deploys_this_example():
    yaml = pytest.importorskip("yaml")
    config = yaml.safe_load(STACK_FILE.read_text())["config"]
    scoring_dir = config["edgeml:scoringDir"]
    assert REPO_ROOT / scoring_dir == EXAMPLE_DIR
    assert REPO_ROOT / config["edgeml:modelPath"] == EXAMPLE_DIR / "model" / MODEL_FILE  # train.py's default --out
    assert config["edgeml:modelName"] == MODEL_NAME
    assert re.findall(r"get_model_path\('([^']+)'\)", (EXAMPLE_DIR / "score.py").read_text()) == [MODEL_NAME]
    assert config["edgeml:simulatedSensor"] is False
    assert config["edgeml:scoringInputFrom"] == ["leafDevices"]
    assert len(config["edgeml:edgeDevices"]) == 1
