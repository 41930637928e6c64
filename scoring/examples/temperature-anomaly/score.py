"""Azure ML entry script (init/run) of edgeml's example: anomalies in the simulated temperature sensor's telemetry.

An ordinary module of Azure ML's contract, served by edgeml's runtime like any user's: `init()` loads the model,
`run(input_data)` scores the raw request body (or IoT Edge message). The model is the JSON decision tree written by
train.py; scoring walks its node arrays in plain Python, so the image needs neither scikit-learn nor numpy, and a
library upgrade cannot break the model file the way it broke the old tutorial's pickle.
"""

import json
import logging
import os
import struct
from pathlib import Path

from azureml.contrib.services.aml_response import AMLResponse

logger = logging.getLogger(__name__)

MODEL_FORMAT = "edgeml-decision-tree/1"
MODEL_FILE_NAME = "model.json"
DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "model"
JSON_HEADERS = {"Content-Type": "application/json"}

# Model feature name -> where the simulated temperature sensor puts it in a message.
FEATURE_PATHS = {
    "machine_temperature": ("machine", "temperature"),
    "machine_pressure": ("machine", "pressure"),
    "ambient_temperature": ("ambient", "temperature"),
    "ambient_humidity": ("ambient", "humidity"),
}

# Caps keep one request from monopolising a small edge device.
MAX_BATCH_SIZE = 1000
MAX_PAYLOAD_BYTES = 1024 * 1024

# scikit-learn compares float32 copies of the inputs with the thresholds; values
# beyond float32 range are rejected by scikit-learn too.
FLOAT32_MAX = 3.4028234663852886e38


class InvalidInput(ValueError):
    """The caller sent something that cannot be scored; the message says what."""


class DecisionTreeModel:
    """A fitted decision tree loaded from the portable JSON document."""

    def __init__(self, document):
        if document.get("format") != MODEL_FORMAT:
            raise ValueError(f"unsupported model format {document.get('format')!r}, expected {MODEL_FORMAT!r}")
        unknown = [name for name in document["features"] if name not in FEATURE_PATHS]
        if unknown:
            raise ValueError(f"model uses features this scorer cannot read from a message: {unknown}")
        self._fields = [(*FEATURE_PATHS[name], ".".join(FEATURE_PATHS[name])) for name in document["features"]]
        self._as_float32 = struct.Struct(f"<{len(self._fields)}f")

        tree = document["tree"]
        anomaly_index = tree["classes"].index(document["anomalyClass"])
        self._nodes = list(zip(tree["feature"], tree["threshold"], tree["left"], tree["right"]))
        # Leaf verdicts are precomputed; predict follows scikit-learn: the class
        # with the highest probability wins, the first one on a tie.
        self._verdicts = [
            None if probabilities is None else (
                max(range(len(probabilities)), key=probabilities.__getitem__) == anomaly_index,
                probabilities[anomaly_index],
            )
            for probabilities in tree["probabilities"]
        ]

    def features(self, message, prefix=""):
        """The message's feature values in model order, validated; prefix locates it in a batch."""
        if not isinstance(message, dict):
            raise InvalidInput(f"{prefix.rstrip('.') or 'message'} must be a JSON object")
        values = []
        for group, field, path in self._fields:
            section = message.get(group)
            if not isinstance(section, dict):
                raise InvalidInput(f"{prefix}{path} is missing ({prefix}{group} must be a JSON object)")
            if field not in section:
                raise InvalidInput(f"{prefix}{path} is missing")
            value = section[field]
            # bool is an int subclass; NaN fails the range comparison.
            if (isinstance(value, bool) or not isinstance(value, (int, float))
                    or not -FLOAT32_MAX <= value <= FLOAT32_MAX):
                raise InvalidInput(f"{prefix}{path} must be a finite number, got {value!r:.40}")
            values.append(value)
        return values

    def predict(self, values):
        """(is_anomaly, anomaly_probability) for feature values in model order."""
        x = self._as_float32.unpack(self._as_float32.pack(*values))  # the rounding scikit-learn applies
        nodes = self._nodes
        node = 0
        while True:
            feature, threshold, left, right = nodes[node]
            if left < 0:
                return self._verdicts[node]
            node = left if x[feature] <= threshold else right


_model = None


def locate_model_file(model_dir=None):
    """model.json in AZUREML_MODEL_DIR (searched, since Azure ML may mount the
    registered model in a subfolder), else the copy next to this script."""
    if not model_dir:
        return DEFAULT_MODEL_DIR / MODEL_FILE_NAME
    candidates = sorted(Path(model_dir).rglob(MODEL_FILE_NAME), key=lambda p: (len(p.parts), str(p)))
    if not candidates:
        raise FileNotFoundError(f"no {MODEL_FILE_NAME} under AZUREML_MODEL_DIR={model_dir}")
    shallowest = [p for p in candidates if len(p.parts) == len(candidates[0].parts)]
    if len(shallowest) > 1:
        raise FileNotFoundError(f"ambiguous model: several {MODEL_FILE_NAME} under {model_dir}: {shallowest}")
    return candidates[0]


def load_model(path):
    with open(path, encoding="utf-8") as model_file:
        return DecisionTreeModel(json.load(model_file))


def init():
    """Azure ML calls this once per process: load the model."""
    global _model
    path = locate_model_file(os.environ.get("AZUREML_MODEL_DIR"))
    _model = load_model(path)
    logger.info("loaded model %s", path)


def _parse(input_data):
    if isinstance(input_data, (str, bytes, bytearray)):
        if len(input_data) > MAX_PAYLOAD_BYTES:
            raise InvalidInput(f"input is larger than {MAX_PAYLOAD_BYTES} bytes")
        try:
            # json.loads also decodes UTF-8/16/32 bytes, with or without a BOM.
            return json.loads(input_data)
        except (ValueError, RecursionError) as error:
            raise InvalidInput(f"input is not valid JSON: {error}") from None
    return input_data


def _scored(model, message, prefix=""):
    anomaly, probability = model.predict(model.features(message, prefix))
    return {**message, "anomaly": anomaly, "score": probability}


def score(input_data):
    """Score one message or a list of them (JSON text or already parsed).

    Returns the input echoed with "anomaly" and "score" added; raises
    InvalidInput naming the offending field. A batch is all-or-nothing.
    """
    model = _model
    if model is None:
        raise RuntimeError("init() has not been called")
    data = _parse(input_data)
    if isinstance(data, dict):
        return _scored(model, data)
    if isinstance(data, list):
        if not data:
            raise InvalidInput("input is an empty list; send at least one message")
        if len(data) > MAX_BATCH_SIZE:
            raise InvalidInput(f"batch of {len(data)} messages exceeds the limit of {MAX_BATCH_SIZE}")
        return [_scored(model, message, f"message[{index}].") for index, message in enumerate(data)]
    raise InvalidInput(f"input must be a JSON object or a list of objects, got {type(data).__name__}")


def run(input_data):
    """Azure ML calls this per request with the body as text: the scored input(s), or a 400 naming the bad field.

    The reply is built here (an AMLResponse with JSON text) so that bad input is a 400, not a 200 carrying an
    error, and NaN/Infinity echoed from an unscored field cannot make the output invalid JSON.
    """
    try:
        result = score(input_data)
    except InvalidInput as error:
        return AMLResponse(json.dumps({"error": str(error)}), 400, JSON_HEADERS)
    try:
        return AMLResponse(json.dumps(result, allow_nan=False), 200, JSON_HEADERS)
    except (ValueError, TypeError, RecursionError) as error:
        return AMLResponse(json.dumps({"error": f"input cannot be echoed as JSON: {error}"}), 400, JSON_HEADERS)
