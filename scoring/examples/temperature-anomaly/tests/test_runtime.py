"""The example as the image runs it: edgeml's real runtime (`python -m edgeml_server`) serving score.py from an app
root laid out as the image's, with the committed model registered as temperature-anomaly version 1.

Its answers are checked against predict_reference.py: scikit-learn's own tree, refitted by train.py's code, and not
score.py's walk of the JSON tree, so a wrong walk, a wrong model file or a wrong layout all show.
"""

import json

from temperature_example_support import MODEL_FILE, MODEL_IN_FOLDER, MODEL_NAME, MODEL_VERSION

# The verdicts of sample-request.json's six messages by train.py's labelling rules: two overheating machines (the 2nd
# and 5th) and one at the hot and humid corner (the 4th). Both answers occur, so a scorer stuck on one cannot pass.
SAMPLE_VERDICTS = [False, True, False, True, True, False]


def same_scores(answer, expected):
    """The comparison the tests make: every message echoed, with the same "anomaly" and "score", in order."""
    return isinstance(answer, list) and answer == expected


def test_the_reference_is_sklearns_and_tells_a_wrong_answer(reference, request_body):
    assert [message["anomaly"] for message in reference] == SAMPLE_VERDICTS
    assert [{k: v for k, v in m.items() if k not in ("anomaly", "score")} for m in reference] == json.loads(request_body)
    wrong = [dict(message) for message in reference]
    wrong[1]["anomaly"] = not wrong[1]["anomaly"]
    assert not same_scores(wrong, reference)
    assert not same_scores({"error": "x"}, reference)


def test_the_app_root_holds_what_the_image_holds(app_root, image_env):
    assert (app_root / "score.py").is_file() and (app_root / "myenv.yml").is_file()
    for left_out in ("tests", "train.py", "predict_reference.py", MODEL_IN_FOLDER):
        assert not (app_root / left_out).exists(), left_out  # .dockerignore's, and the model inside the folder
    assert (app_root / "azureml-models" / MODEL_NAME / MODEL_VERSION / MODEL_FILE).is_file()
    assert image_env["AZUREML_MODEL_DIR"] == str(app_root / "azureml-models" / MODEL_NAME / MODEL_VERSION)


def test_get_root_answers_healthy(scoring_server):
    status, _content_type, body = scoring_server.request("GET", "/")
    assert (status, body) == (200, "Healthy")


def test_post_score_answers_the_reference_predictions(scoring_server, request_body, reference):
    status, content_type, body = scoring_server.request("POST", "/score", request_body.encode("utf-8"))
    assert status == 200, body
    assert content_type == "application/json"
    assert same_scores(json.loads(body), reference), body


def test_the_served_model_is_the_registered_one(scoring_server, image_env):
    scoring_server.request("GET", "/")
    assert f"loaded model {image_env['AZUREML_MODEL_DIR']}/{MODEL_FILE}" in scoring_server.log()


def test_a_bad_message_is_a_400_naming_the_field(scoring_server, request_body):
    batch = json.loads(request_body)
    del batch[1]["ambient"]["humidity"]
    status, content_type, body = scoring_server.request("POST", "/score", json.dumps(batch).encode("utf-8"))
    assert (status, content_type) == (400, "application/json"), body
    assert json.loads(body) == {"error": "message[1].ambient.humidity is missing"}

    one = json.loads(request_body)[0]
    one["machine"]["temperature"] = "hot"
    status, _content_type, body = scoring_server.request("POST", "/score", json.dumps(one).encode("utf-8"))
    assert status == 400, body
    assert json.loads(body) == {"error": "machine.temperature must be a finite number, got 'hot'"}


def test_the_runtime_still_scores_after_a_bad_message(scoring_server, request_body, reference):
    scoring_server.request("POST", "/score", b"{not json")
    status, _content_type, body = scoring_server.request("POST", "/score", request_body.encode("utf-8"))
    assert status == 200 and same_scores(json.loads(body), reference), body
