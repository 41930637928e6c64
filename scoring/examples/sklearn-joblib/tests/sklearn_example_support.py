"""What the scikit-learn joblib example's tests share: where it is, the model's name and file, its stack; what every
example's tests share is in scoring/examples/example_testing.py."""

from pathlib import Path

from example_testing import REPO_ROOT, Example

EXAMPLE_DIR = Path(__file__).resolve().parents[1]
STACK_FILE = REPO_ROOT / "Pulumi.sklearn-iris.yaml"

MODEL_NAME = "sklearn-iris"  # what score.py asks Model.get_model_path for, and the stack registers
MODEL_FILE = "model.pkl"
EXAMPLE = Example(EXAMPLE_DIR, MODEL_NAME, MODEL_FILE)
