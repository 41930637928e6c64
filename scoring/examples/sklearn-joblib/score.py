import json

import joblib
import numpy as np
from azureml.core.model import Model


def init():
    global model
    # retrieve the path to the model file using the model name
    model_path = Model.get_model_path('sklearn-iris')
    model = joblib.load(model_path)


def run(raw_data):
    try:
        data = np.array(json.loads(raw_data)['data'])
        # make prediction
        y_hat = model.predict(data)
        # you can return any data type as long as it is JSON serializable
        return y_hat.tolist()
    except Exception as e:
        error = str(e)
        return {"error": error}
