"""Fit a wine classifier with scikit-learn and write it as an ONNX graph built with onnx.helper.

The model: standardization + multinomial logistic regression classifying wines into three cultivars (class 0, 1,
2) from 13 chemical measurements (alcohol, malic acid, ash, ..., proline: sklearn.datasets.load_wine's feature
order). The dataset ships inside scikit-learn, so nothing is downloaded, and the split and solver are seeded, so
re-running writes the same file.

The fitted numbers become one small graph (no skl2onnx needed):

    input float32 [N, 13] -> Sub(mean) -> Div(scale) -> MatMul(coef^T) -> Add(intercept) = logits [N, 3]
    logits -> Softmax(axis=1) -> probabilities float32 [N, 3]
    logits -> ArgMax(axis=1)  -> label int64 [N]

Opset 17 and IR version 8: what onnxruntime has run since 1.12, so the file is not tied to the newest runtime.

Usage: python train.py [--out PATH]   (default: model/model.onnx next to this file)
"""

import argparse
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from sklearn.datasets import load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

DEFAULT_OUT = Path(__file__).resolve().parent / "model" / "model.onnx"
SEED = 42
TEST_SIZE = 0.3
OPSET = 17
IR_VERSION = 8
INPUT_NAME = "input"
OUTPUT_NAMES = ("label", "probabilities")


def fit():
    """(scaler, classifier, held-out accuracy, feature names) fitted on 70 % of load_wine."""
    dataset = load_wine()
    X_train, X_test, y_train, y_test = train_test_split(
        dataset.data, dataset.target, test_size=TEST_SIZE, random_state=SEED, stratify=dataset.target
    )
    scaler = StandardScaler().fit(X_train)
    classifier = LogisticRegression(max_iter=1000, random_state=SEED).fit(scaler.transform(X_train), y_train)
    accuracy = classifier.score(scaler.transform(X_test), y_test)
    return scaler, classifier, accuracy, list(dataset.feature_names)


def to_onnx(scaler, classifier, feature_names):
    """The fitted scaler and classifier as an ONNX model (float32 weights), checked with onnx.checker."""
    n_features, n_classes = len(feature_names), len(classifier.classes_)
    if list(classifier.classes_) != list(range(n_classes)):
        raise ValueError(f"ArgMax yields class indices; the classes must be 0..{n_classes - 1}, not {classifier.classes_}")

    def constant(name, values):
        return numpy_helper.from_array(np.asarray(values, dtype=np.float32), name)

    graph = helper.make_graph(
        nodes=[
            helper.make_node("Sub", [INPUT_NAME, "mean"], ["centered"], name="standardize_center"),
            helper.make_node("Div", ["centered", "scale"], ["standardized"], name="standardize_scale"),
            helper.make_node("MatMul", ["standardized", "coef"], ["weighted"], name="linear_weights"),
            helper.make_node("Add", ["weighted", "intercept"], ["logits"], name="linear_bias"),
            helper.make_node("Softmax", ["logits"], ["probabilities"], name="softmax", axis=1),
            helper.make_node("ArgMax", ["logits"], ["label"], name="argmax", axis=1, keepdims=0),
        ],
        name="wine_logistic_regression",
        inputs=[helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["N", n_features])],
        outputs=[
            helper.make_tensor_value_info("label", TensorProto.INT64, ["N"]),
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", n_classes]),
        ],
        initializer=[
            constant("mean", scaler.mean_),
            constant("scale", scaler.scale_),
            constant("coef", classifier.coef_.T),
            constant("intercept", classifier.intercept_),
        ],
        doc_string="Wine cultivar from 13 chemical measurements (sklearn load_wine feature order).",
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        ir_version=IR_VERSION,
        producer_name="edgeml-example-onnx",
        producer_version="1",
        doc_string="Standardization + multinomial logistic regression fitted with scikit-learn on load_wine.",
    )
    helper.set_model_props(model, {"features": ",".join(feature_names), "classes": "0,1,2", "dataset": "sklearn.datasets.load_wine"})
    onnx.checker.check_model(model, full_check=True)
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"where to write the model (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)

    scaler, classifier, accuracy, feature_names = fit()
    model = to_onnx(scaler, classifier, feature_names)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save_model(model, str(args.out))
    print(f"held-out accuracy {accuracy:.3f}; opset {OPSET}, IR version {IR_VERSION}; wrote {args.out}")


if __name__ == "__main__":
    main()
