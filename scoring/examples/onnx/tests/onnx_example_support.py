"""What the ONNX example's tests share: where it is, the model's name and file, its stack; what every example's tests
share is in scoring/examples/example_testing.py."""

from pathlib import Path

from example_testing import REPO_ROOT, Example

EXAMPLE_DIR = Path(__file__).resolve().parents[1]
STACK_FILE = REPO_ROOT / "Pulumi.onnx-wine.yaml"

MODEL_NAME = "wine-onnx"  # the name the stack registers the model under: the image's azureml-models/<name>/
MODEL_FILE = "model.onnx"  # score.py opens $AZUREML_MODEL_DIR/model.onnx
EXAMPLE = Example(EXAMPLE_DIR, MODEL_NAME, MODEL_FILE)
