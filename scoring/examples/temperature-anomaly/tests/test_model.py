"""The model: the committed model.json on the tutorial's labelled recording, score.py's tree walk against
scikit-learn's own tree, and train.py's reproducibility."""

import json
import math
import struct
import subprocess
import sys

import numpy as np
import pytest
import sklearn

import score
import train
from reference_data import sensor_message

MINIMUM_ACCURACY = 0.95
# What the committed model gets right of the recording's 618 rows (99.35%, as the top-level README says): a retrained
# model that scores differently must say so here and there.
COMMITTED_MODEL_CORRECT = 614
COMMITTED_MODEL = score.DEFAULT_MODEL_DIR / "model.json"


@pytest.fixture(scope="session")
def trained_classifier():
    classifier, _rows, _accuracy = train.train_classifier(*train.simulate_telemetry())
    return classifier


@pytest.fixture(scope="session")
def exported_model(trained_classifier):
    """The retrained tree after a round trip through the JSON model format."""
    text = train.model_json_text(train.export_tree(trained_classifier, 0, 0.0))
    return score.DecisionTreeModel(json.loads(text))


def test_committed_model_accuracy_on_the_reference_recording(scorer, reference_rows, capsys):
    correct = 0
    for index, (features, label) in enumerate(reference_rows):
        response = scorer.run(json.dumps(sensor_message(features, index)))
        assert response.status_code == 200, response.get_data()
        correct += json.loads(response.get_data())["anomaly"] == bool(label)
    accuracy = correct / len(reference_rows)
    with capsys.disabled():
        print(f"\ncommitted model accuracy on temperature_data.csv: {correct}/{len(reference_rows)} = {accuracy:.2%}")
    assert len(reference_rows) == 618
    assert accuracy >= MINIMUM_ACCURACY
    assert (correct, f"{accuracy:.2%}") == (COMMITTED_MODEL_CORRECT, "99.35%")


def test_json_tree_walk_matches_sklearn_on_the_reference_recording(trained_classifier, exported_model, reference_rows):
    X = np.array([features for features, _label in reference_rows], dtype=np.float64)
    expected_anomaly = trained_classifier.predict(X) == 1
    expected_score = trained_classifier.predict_proba(X)[:, 1]

    walked = [exported_model.predict(list(row)) for row in X]

    assert [anomaly for anomaly, _ in walked] == expected_anomaly.tolist()
    assert [p for _, p in walked] == expected_score.tolist()


def _float32_neighbours(value):
    """The float32 nearest to value and the float32s either side of it."""
    bits = struct.unpack("<I", struct.pack("<f", value))[0]  # thresholds here are positive
    return [struct.unpack("<f", struct.pack("<I", bits + step))[0] for step in (-1, 0, 1)]


def test_json_tree_walk_matches_sklearn_right_at_every_split(trained_classifier, exported_model, reference_rows):
    # sklearn compares float32 copies of the inputs; inputs within float32
    # rounding of a threshold show whether the walk does the same.
    tree = trained_classifier.tree_
    base = reference_rows[300][0]
    rows = []
    for node in range(tree.node_count):
        if tree.children_left[node] < 0:
            continue
        feature, threshold = int(tree.feature[node]), float(tree.threshold[node])
        for value in [threshold, math.nextafter(threshold, -math.inf), math.nextafter(threshold, math.inf),
                      *_float32_neighbours(threshold)]:
            row = list(base)
            row[feature] = value
            rows.append(row)

    expected = (trained_classifier.predict(np.array(rows)) == 1).tolist()
    assert [exported_model.predict(row)[0] for row in rows] == expected


def test_training_reproduces_the_committed_model_byte_for_byte(tmp_path):
    committed = COMMITTED_MODEL.read_bytes()
    assert json.loads(committed)["frameworkVersion"] == sklearn.__version__, \
        "install requirements-train.txt: the committed model was trained with another scikit-learn"
    out = tmp_path / "model.json"

    subprocess.run([sys.executable, str(train.__file__), "--out", str(out)], check=True, capture_output=True)

    assert out.read_bytes() == committed
    assert train.model_json_text(train.build_model_document()).encode("utf-8") == committed


def test_simulation_rules_agree_with_the_reference_recording(reference_rows):
    # The docstring of train.py claims both; the recording is read, never trained on.
    sensor_pressure = [1 + (t - 21) * 9 / 79 for (t, _p, _a, _h), _label in reference_rows]
    assert [p for (_t, p, _a, _h), _label in reference_rows] == pytest.approx(sensor_pressure, abs=1e-6)
    assert all(train.is_anomaly(t, a, h) == bool(label) for (t, _p, a, h), label in reference_rows)
