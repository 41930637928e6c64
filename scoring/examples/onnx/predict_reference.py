"""The ONNX model's own predictions for a scoring request, computed with onnxruntime outside any container.

Usage: python predict_reference.py <model path> <request.json>

Runs the model in an onnxruntime InferenceSession on the request's "data" rows (as float32) and prints
{"predictions": [class per row], "probabilities": [[p0, p1, p2] per row]} as JSON: what POST /score of the
scoring module must answer for the same request body. It does not use score.py, so the two are independent
witnesses of the same model.
"""

import json
import sys

import numpy as np
import onnxruntime


def reference_predictions(model_path, request_path):
    session = onnxruntime.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    with open(request_path, encoding="utf-8") as request:
        data = np.array(json.load(request)["data"], dtype=np.float32)
    label, probabilities = session.run(["label", "probabilities"], {session.get_inputs()[0].name: data})
    return {"predictions": label.tolist(), "probabilities": probabilities.tolist()}


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__.split("\n\n")[1])  # the usage line
    print(json.dumps(reference_predictions(*sys.argv[1:])))
