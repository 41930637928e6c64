"""The ONNX example end to end: train.py's graph, served by score.py, answers as onnxruntime and scikit-learn do.

Run from this example's folder: python -m pytest   (packages: requirements.txt)
"""

import importlib.util
import json
import re

import numpy as np
import onnx
import onnxruntime
import pytest
from example_testing import myenv_pins, retrained, scored_by_the_runtime
from onnx_example_support import EXAMPLE, EXAMPLE_DIR, MODEL_FILE, MODEL_NAME, REPO_ROOT, STACK_FILE
from sklearn.datasets import load_wine

# Cultivars of the three rows of sample-request.json (rows 0, 70 and 140 of load_wine).
SAMPLE_CLASSES = [0, 1, 2]
# Probabilities may differ in the last float32 bits where the container's onnxruntime runs other kernels than
# the host's (linux/arm64 under emulation); classes may not differ at all.
PROBABILITY_TOLERANCE = 1e-6


def same_predictions(answer, expected, tolerance=PROBABILITY_TOLERANCE):
    """The comparison every test makes: same keys, the same classes exactly, probabilities within tolerance."""
    if not isinstance(answer, dict) or set(answer) != {"predictions", "probabilities"} or set(expected) != set(answer):
        return False
    if answer["predictions"] != expected["predictions"]:
        return False
    got, want = np.array(answer["probabilities"]), np.array(expected["probabilities"])
    return got.shape == want.shape and bool(np.allclose(got, want, rtol=0, atol=tolerance))


def load_train_module():
    spec = importlib.util.spec_from_file_location("onnx_example_train", EXAMPLE_DIR / "train.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_graph_is_the_fitted_scikit_learn_model(trained_model):
    """ONNX graph built by hand vs the scikit-learn objects it was built from, on every row of the dataset."""
    train = load_train_module()
    scaler, classifier, _, _ = train.fit()
    X = load_wine().data
    session = onnxruntime.InferenceSession(str(trained_model), providers=["CPUExecutionProvider"])
    label, probabilities = session.run(["label", "probabilities"], {"input": X.astype(np.float32)})
    assert label.dtype == np.int64 and probabilities.dtype == np.float32
    assert label.tolist() == classifier.predict(scaler.transform(X)).tolist()
    np.testing.assert_allclose(probabilities, classifier.predict_proba(scaler.transform(X)), rtol=0, atol=1e-5)


def test_the_model_file_is_checked_opset_17(trained_model):
    model = onnx.load(str(trained_model))
    onnx.checker.check_model(model, full_check=True)
    assert [(o.domain, o.version) for o in model.opset_import] == [("", 17)] and model.ir_version == 8
    assert [i.name for i in model.graph.input] == ["input"]
    assert [o.name for o in model.graph.output] == ["label", "probabilities"]


def test_the_reference_gets_the_sample_right(reference):
    assert reference["predictions"] == SAMPLE_CLASSES
    assert all(abs(sum(row) - 1) < 1e-5 for row in reference["probabilities"])


def test_a_wrong_expected_value_fails_the_check(reference):
    wrong_class = {**reference, "predictions": [*reference["predictions"][:-1], 0]}
    assert not same_predictions(reference, wrong_class)
    drifted = {**reference, "probabilities": [[p + 1e-4 for p in row] for row in reference["probabilities"]]}
    assert not same_predictions(reference, drifted)
    assert not same_predictions({"error": "x"}, reference)


def test_the_runtime_answers_score_with_the_reference_predictions(scoring_server, request_body, reference):
    answer = scored_by_the_runtime(scoring_server, request_body)
    assert same_predictions(answer, reference), answer


def test_score_py_run_returns_the_reference_predictions(entry_script, request_body, reference):
    answer = entry_script.run(request_body)
    assert same_predictions(answer, reference)
    assert answer == reference  # same process, same onnxruntime: bit for bit


def test_score_py_run_reports_bad_input(entry_script):
    wrong_width = entry_script.run(json.dumps({"data": [[1.0, 2.0]]}))
    assert set(wrong_width) == {"error"} and "input" in wrong_width["error"]
    assert set(entry_script.run("not json")) == {"error"}
    assert set(entry_script.run(json.dumps({"rows": []}))) == {"error"}


def test_train_is_deterministic_and_accurate(trained_model, tmp_path):
    model, accuracy = retrained(EXAMPLE, tmp_path)
    assert model == trained_model.read_bytes()
    assert accuracy >= 0.95


def test_myenv_pins_what_score_py_runs_on():
    """The image needs onnxruntime and numpy only; the pins are the versions these tests ran."""
    env, conda, pip = myenv_pins(EXAMPLE)
    assert env["name"] == "project_environment" and env["channels"] == ["anaconda", "conda-forge"]
    assert conda == {"python": "3.11", "numpy": np.__version__}
    assert pip == {"azureml-defaults": None, "onnxruntime": onnxruntime.__version__}
    imports = set(re.findall(r"^(?:import|from) (\w+)", (EXAMPLE_DIR / "score.py").read_text(), re.M))
    assert imports == {"json", "os", "numpy", "onnxruntime"}


def test_the_stack_file_deploys_this_example():
    yaml = pytest.importorskip("yaml")
    config = yaml.safe_load(STACK_FILE.read_text())["config"]
    assert REPO_ROOT / config["edgeml:scoringDir"] == EXAMPLE_DIR
    assert REPO_ROOT / config["edgeml:modelPath"] == EXAMPLE_DIR / "model" / MODEL_FILE  # train.py's default --out
    assert config["edgeml:modelName"] == MODEL_NAME
    assert 'os.getenv("AZUREML_MODEL_DIR"), "model.onnx"' in (EXAMPLE_DIR / "score.py").read_text()
    assert config["edgeml:simulatedSensor"] is False
    assert config["edgeml:scoringInputFrom"] == ["leafDevices"]
    assert len(config["edgeml:edgeDevices"]) == 1
