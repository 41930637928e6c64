"""Train the edge anomaly model on simulated telemetry and export it as portable JSON.

Simulation: modelled on Azure IoT Edge's SimulatedTemperatureSensor module, whose
messages the edge module scores.
  * Machine temperature starts at 21 C. While it is at most 100 C it rises by a
    uniform step in [-0.25, 1.25) per message (+0.5 on average); above 100 C it
    random-walks by a uniform step in [-0.5, 0.5). A run of 500 messages ramps
    21 -> 100 C in about 160 messages, then wanders around 100-110 C.
  * Machine pressure is the sensor's linear map of temperature: 1 at 21 C up to
    10 at 100 C.
  * Ambient temperature is 21 C +/- 0.5 (uniform); ambient humidity is a whole
    percentage drawn from 24, 25, 26.
  Every run restarts from 21 C, as the sensor does when its module restarts.

Labels: a reading is an anomaly when
  * the machine overheats: machine + ambient temperature above 124 C (machine
    above ~103 C in a 21 C room; a warmer room leaves less headroom), or
  * the surroundings are at the hot and humid corner of the sensor's range:
    humidity 26 % with ambient temperature above 21.3 C.
  These two rules were read off the labelled recording the old tutorial trained
  on (temperature_data.csv), and they reproduce all 618 of its labels. The
  recording itself is never trained on; the tests only measure the model on it.

Training mirrors the tutorial: a DecisionTreeClassifier fitted on 65 % of the
rows (random_state=0); the other 35 % give the held-out accuracy. All randomness
is seeded, so re-running writes a byte-identical model file.

Usage: python train.py [--out PATH]   (default: model/model.json next to this file)
"""

import argparse
import json
import random
import sys
from pathlib import Path

import numpy as np
import sklearn
from sklearn.model_selection import train_test_split
from sklearn.tree import DecisionTreeClassifier

# score.py (the entry script, whose feature list and model format this writes for) imports AMLResponse from
# azureml.contrib.services, which edgeml's runtime provides in the image. On a workstation without Azure ML's packages
# training borrows the runtime's stand-ins (scoring/runtime/api), appended so that an installed azureml still wins.
RUNTIME_API_DIR = Path(__file__).resolve().parents[2] / "runtime" / "api"
if RUNTIME_API_DIR.is_dir() and str(RUNTIME_API_DIR) not in sys.path:
    sys.path.append(str(RUNTIME_API_DIR))

from score import FEATURE_PATHS, MODEL_FORMAT  # noqa: E402

DEFAULT_OUT = Path(__file__).resolve().parent / "model" / "model.json"
FEATURES = list(FEATURE_PATHS)  # column order of the simulated rows

SEED = 0
RUNS = 20
MESSAGES_PER_RUN = 500
HELD_OUT_FRACTION = 0.35
HYPERPARAMETERS = {"max_depth": 8, "min_samples_leaf": 5, "random_state": 0}

# SimulatedTemperatureSensor defaults.
MACHINE_TEMP_MIN, MACHINE_TEMP_MAX = 21.0, 100.0
MACHINE_PRESSURE_MIN, MACHINE_PRESSURE_MAX = 1.0, 10.0
AMBIENT_TEMP = 21.0
HUMIDITY_VALUES = (24, 25, 26)

# Labelling rules (see module docstring).
OVERHEAT_COMBINED_TEMP = 124.0
HUMID_HUMIDITY, HUMID_AMBIENT_TEMP = 26, 21.3


def is_anomaly(machine_temperature, ambient_temperature, ambient_humidity):
    overheating = machine_temperature + ambient_temperature > OVERHEAT_COMBINED_TEMP
    hot_and_humid = ambient_humidity >= HUMID_HUMIDITY and ambient_temperature > HUMID_AMBIENT_TEMP
    return overheating or hot_and_humid


def simulate_run(rng, messages):
    """One sensor run from a cold start: rows in FEATURES order."""
    machine_temperature = MACHINE_TEMP_MIN
    for _ in range(messages):
        if machine_temperature > MACHINE_TEMP_MAX:
            machine_temperature += rng.random() - 0.5
        else:
            machine_temperature += -0.25 + rng.random() * 1.5
        machine_pressure = MACHINE_PRESSURE_MIN + (machine_temperature - MACHINE_TEMP_MIN) / (
            MACHINE_TEMP_MAX - MACHINE_TEMP_MIN) * (MACHINE_PRESSURE_MAX - MACHINE_PRESSURE_MIN)
        ambient_temperature = AMBIENT_TEMP + rng.random() - 0.5
        ambient_humidity = rng.choice(HUMIDITY_VALUES)
        yield [machine_temperature, machine_pressure, ambient_temperature, ambient_humidity]


def simulate_telemetry(runs=RUNS, messages_per_run=MESSAGES_PER_RUN, seed=SEED):
    """(X, y): simulated readings and their anomaly labels."""
    # random.Random, not numpy: its stream is stable across Python and numpy releases.
    rng = random.Random(seed)
    rows = [row for _ in range(runs) for row in simulate_run(rng, messages_per_run)]
    labels = [int(is_anomaly(row[0], row[2], row[3])) for row in rows]
    return np.array(rows, dtype=np.float64), np.array(labels)


def train_classifier(X, y):
    """(fitted classifier, rows it was fitted on, accuracy on the held-out rows)."""
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=HELD_OUT_FRACTION, random_state=0)
    classifier = DecisionTreeClassifier(**HYPERPARAMETERS).fit(X_train, y_train)
    return classifier, len(X_train), float(classifier.score(X_test, y_test))


def export_tree(classifier, training_rows, held_out_accuracy):
    """The fitted tree as a JSON-ready document that score.py can walk."""
    tree = classifier.tree_
    leaf = tree.children_left < 0
    values = tree.value[:, 0, :]
    # Normalised exactly as DecisionTreeClassifier.predict_proba does.
    probabilities = values / values.sum(axis=1, keepdims=True)
    return {
        "format": MODEL_FORMAT,
        "framework": "scikit-learn",
        "frameworkVersion": sklearn.__version__,
        "estimator": type(classifier).__name__,
        "hyperparameters": HYPERPARAMETERS,
        "features": FEATURES,
        "anomalyClass": 1,
        "trainedOn": (
            f"simulated SimulatedTemperatureSensor telemetry, {RUNS} runs x {MESSAGES_PER_RUN} messages "
            f"(seed {SEED}), {100 - round(HELD_OUT_FRACTION * 100)}% fitted; anomaly = machine + ambient "
            f"temperature > {OVERHEAT_COMBINED_TEMP:g} C, or humidity {HUMID_HUMIDITY}% with ambient "
            f"> {HUMID_AMBIENT_TEMP:g} C"
        ),
        "trainingRows": training_rows,
        "heldOutAccuracy": round(held_out_accuracy, 4),
        "tree": {
            "classes": [int(c) for c in classifier.classes_],
            "feature": [-1 if leaf[i] else int(tree.feature[i]) for i in range(tree.node_count)],
            "threshold": [None if leaf[i] else float(tree.threshold[i]) for i in range(tree.node_count)],
            "left": [int(n) for n in tree.children_left],
            "right": [int(n) for n in tree.children_right],
            "probabilities": [[float(p) for p in probabilities[i]] if leaf[i] else None
                              for i in range(tree.node_count)],
        },
    }


def model_json_text(document):
    """One key per line (metadata stays readable in diffs), node arrays compact."""
    def compact(value):
        return json.dumps(value, separators=(",", ":"))

    lines = []
    for key, value in document.items():
        if isinstance(value, dict):
            inner = ",\n".join(f"    {json.dumps(k)}: {compact(v)}" for k, v in value.items())
            lines.append(f"  {json.dumps(key)}: {{\n{inner}\n  }}")
        else:
            lines.append(f"  {json.dumps(key)}: {compact(value)}")
    return "{\n" + ",\n".join(lines) + "\n}\n"


def build_model_document():
    X, y = simulate_telemetry()
    return export_tree(*train_classifier(X, y))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"model file to write (default {DEFAULT_OUT})")
    out = parser.parse_args(argv).out
    document = build_model_document()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(model_json_text(document), encoding="utf-8")
    print(f"wrote {out}: {len(document['tree']['left'])} nodes, trained on {document['trainingRows']} rows, "
          f"held-out accuracy {document['heldOutAccuracy']:.2%}")


if __name__ == "__main__":
    main()
