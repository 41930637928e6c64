"""Train the scikit-learn example model and save it with joblib, as Azure ML v1's tutorials did.

The model: a StandardScaler + LogisticRegression pipeline classifying iris flowers (setosa 0, versicolor 1,
virginica 2) from four measurements in centimetres: sepal length, sepal width, petal length, petal width. The
dataset ships inside scikit-learn (sklearn.datasets.load_iris), so nothing is downloaded. Every random choice
is seeded, so re-running writes the same model.

Usage: python train.py [--out PATH]   (default: model/model.pkl next to this file)

The pickle can only be loaded by the scikit-learn version that wrote it; myenv.yml pins that version for the
scoring image.
"""

import argparse
from pathlib import Path

import joblib
import sklearn
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

DEFAULT_OUT = Path(__file__).resolve().parent / "model" / "model.pkl"
SEED = 42
TEST_SIZE = 0.3


def train():
    """The fitted pipeline and its accuracy on the held-out 30 % of the rows."""
    X, y = load_iris(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=TEST_SIZE, random_state=SEED, stratify=y)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=SEED))
    model.fit(X_train, y_train)
    return model, model.score(X_test, y_test)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"where to write the model (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)

    model, accuracy = train()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, args.out)
    print(f"held-out accuracy {accuracy:.3f}; scikit-learn {sklearn.__version__}; wrote {args.out}")


if __name__ == "__main__":
    main()
