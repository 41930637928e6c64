"""The model's own predictions for a scoring request, computed outside any container.

Usage: python predict_reference.py <model path> <request.json>

Loads the model with joblib, calls model.predict on the request's "data" rows and prints the predictions as
JSON: what POST /score of the scoring module must answer for the same request body. It does not use score.py,
so the two are independent witnesses of the same model.
"""

import json
import sys

import joblib
import numpy as np


def reference_predictions(model_path, request_path):
    model = joblib.load(model_path)
    with open(request_path, encoding="utf-8") as request:
        data = np.array(json.load(request)["data"])
    return model.predict(data).tolist()


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__.split("\n\n")[1])  # the usage line
    print(json.dumps(reference_predictions(*sys.argv[1:])))
