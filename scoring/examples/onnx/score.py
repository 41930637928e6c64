import json
import os

import numpy as np
import onnxruntime


def init():
    global session, input_name
    # AZUREML_MODEL_DIR is an environment variable created during deployment.
    # It is the path to the model folder (./azureml-models/$MODEL_NAME/$VERSION)
    model_path = os.path.join(os.getenv("AZUREML_MODEL_DIR"), "model.onnx")
    session = onnxruntime.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name


def run(raw_data):
    try:
        data = np.array(json.loads(raw_data)["data"], dtype=np.float32)
        label, probabilities = session.run(["label", "probabilities"], {input_name: data})
        return {"predictions": label.tolist(), "probabilities": probabilities.tolist()}
    except Exception as e:
        error = str(e)
        return {"error": error}
