"""The model's own predictions for a scoring request, computed outside any container, by scikit-learn.

Usage: python predict_reference.py <model path> <request.json>

model.json is a DecisionTreeClassifier exported by train.py from fixed seeds, so this refits that classifier
(train.py's own code, scikit-learn's own tree), checks that its export is the given model.json, and prints what
POST /score must answer: each message echoed with "anomaly" (predict) and "score" (predict_proba of the anomaly
class). It does not walk the JSON tree as score.py does, so the two are independent witnesses of the same model.
"""

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import train  # noqa: E402  (the example's own training code, beside this file)
from score import FEATURE_PATHS  # noqa: E402  (where each feature sits in a message; no model code)


def reference_predictions(model_path, request_path):
    X, y = train.simulate_telemetry()
    classifier, training_rows, accuracy = train.train_classifier(X, y)
    refitted = train.model_json_text(train.export_tree(classifier, training_rows, accuracy))
    if refitted != Path(model_path).read_text(encoding="utf-8"):
        sys.exit(f"{model_path} is not the tree train.py fits with these package versions: retrain it first")
    messages = json.loads(Path(request_path).read_text(encoding="utf-8"))
    batch = messages if isinstance(messages, list) else [messages]
    rows = np.array([[message[group][field] for group, field in FEATURE_PATHS.values()] for message in batch])
    anomaly_column = list(classifier.classes_).index(1)
    predictions = classifier.predict(rows)
    probabilities = classifier.predict_proba(rows)[:, anomaly_column]
    scored = [
        {**message, "anomaly": bool(prediction == 1), "score": float(probability)}
        for message, prediction, probability in zip(batch, predictions, probabilities)
    ]
    return scored if isinstance(messages, list) else scored[0]


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__.split("\n\n")[1])  # the usage line
    print(json.dumps(reference_predictions(*sys.argv[1:])))
