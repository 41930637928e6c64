"""score.py in-process, as the runtime calls it: init() once, then run(body) -> an AMLResponse (status, JSON body).

Bad input is the caller's: a 400 naming the problem. Anything else score.py raises propagates out of run(); the
runtime answers that with a 500 {"message": ...} (its own tests cover that part).
"""

import json
import math
import shutil

import pytest

import score
from reference_data import sensor_message


def answer(response):
    """(status, parsed body) of run()'s reply, which must be an AMLResponse carrying JSON."""
    assert response.headers.get("Content-Type") == "application/json", response
    return response.status_code, json.loads(response.get_data())


def scored(response):
    """The parsed body of a 200 reply."""
    status, body = answer(response)
    assert status == 200, body
    return body


def test_init_loads_the_model_once_and_every_run_reuses_it(monkeypatch, cold_message):
    loaded_paths = []
    load_model = score.load_model
    monkeypatch.setattr(score, "load_model", lambda path: loaded_paths.append(path) or load_model(path))
    monkeypatch.delenv("AZUREML_MODEL_DIR", raising=False)

    score.init()
    results = [scored(score.run(json.dumps(cold_message))) for _ in range(500)]

    assert loaded_paths == [score.DEFAULT_MODEL_DIR / "model.json"]
    assert all(result["anomaly"] is False for result in results)


def test_run_echoes_the_message_with_verdict_and_anomaly_probability(scorer, cold_message, hot_message):
    assert scored(scorer.run(json.dumps(cold_message))) == {**cold_message, "anomaly": False, "score": 0.0}
    assert scored(scorer.run(json.dumps(hot_message))) == {**hot_message, "anomaly": True, "score": 1.0}


@pytest.mark.parametrize("encode", [json.dumps, lambda m: json.dumps(m).encode("utf-8"),
                                    lambda m: json.dumps(m).encode("utf-8-sig"), lambda m: m],
                         ids=["json text", "utf-8 bytes", "utf-8 bytes with BOM", "parsed dict"])
def test_run_accepts_text_bytes_or_parsed_input(scorer, hot_message, encode):
    assert scored(scorer.run(encode(hot_message)))["anomaly"] is True


def test_run_scores_a_list_of_messages_in_order(scorer, cold_message, hot_message):
    results = scored(scorer.run(json.dumps([cold_message, hot_message, cold_message])))
    assert [result["anomaly"] for result in results] == [False, True, False]
    assert results[1] == {**hot_message, "anomaly": True, "score": 1.0}


def test_run_does_not_modify_the_callers_message(scorer, hot_message):
    original = json.loads(json.dumps(hot_message))
    assert scored(scorer.run(hot_message))["anomaly"] is True
    assert hot_message == original


def _message(**overrides):
    """A valid message as JSON text; keyword group__field=value overrides a field, =... deletes it."""
    message = sensor_message([101.2, 10.14, 21.0, 25])
    for path, value in overrides.items():
        group, field = path.split("__")
        if value is ...:
            del message[group][field]
        else:
            message[group][field] = value
    return json.dumps(message, allow_nan=True)


MALFORMED_INPUTS = [
    ("not json", "{machine: 1}", "not valid JSON"),
    ("empty text", "", "not valid JSON"),
    ("invalid utf-8", b"\xff\xfe\xfa{", "not valid JSON"),
    ("truncated json", _message()[:-5], "not valid JSON"),
    ("deeply nested", "[" * 100_000, "not valid JSON"),
    ("too large", " " * (score.MAX_PAYLOAD_BYTES + 1), "larger than"),
    ("json null", "null", "JSON object or a list"),
    ("json number", "42", "JSON object or a list"),
    ("json string", '"hello"', "JSON object or a list"),
    ("python None", None, "JSON object or a list"),
    ("python int", 7, "JSON object or a list"),
    ("empty list", "[]", "empty list"),
    ("batch over the cap", json.dumps([json.loads(_message())] * (score.MAX_BATCH_SIZE + 1)), "exceeds the limit"),
    ("list of non-objects", "[1, 2]", "message[0] must be a JSON object"),
    ("empty object", "{}", "machine.temperature is missing"),
    ("machine not an object", json.dumps({"machine": 5, "ambient": {}}), "machine.temperature is missing"),
    ("missing pressure", _message(machine__pressure=...), "machine.pressure is missing"),
    ("missing humidity", _message(ambient__humidity=...), "ambient.humidity is missing"),
    ("text temperature", _message(machine__temperature="hot"), "machine.temperature must be a finite number"),
    ("numeric string", _message(ambient__temperature="21.5"), "ambient.temperature must be a finite number"),
    ("boolean", _message(ambient__humidity=True), "ambient.humidity must be a finite number"),
    ("null", _message(machine__pressure=None), "machine.pressure must be a finite number"),
    ("list value", _message(machine__temperature=[100]), "machine.temperature must be a finite number"),
    ("NaN", _message(machine__temperature=math.nan), "machine.temperature must be a finite number"),
    ("Infinity", _message(ambient__temperature=math.inf), "ambient.temperature must be a finite number"),
    ("-Infinity", _message(machine__pressure=-math.inf), "machine.pressure must be a finite number"),
    ("beyond float32", _message(machine__temperature=1e39), "machine.temperature must be a finite number"),
    ("huge integer", {**json.loads(_message()), "machine": {"temperature": 10**400, "pressure": 1}},
     "machine.temperature must be a finite number"),
    ("bad item in a batch", f"[{_message()}, {_message(ambient__humidity='x')}]",
     "message[1].ambient.humidity must be a finite number"),
    ("NaN in an echoed field", _message()[:-1] + ', "note": NaN}', "cannot be echoed as JSON"),
    ("unserialisable echoed field", {**json.loads(_message()), "note": object()}, "cannot be echoed as JSON"),
]


@pytest.mark.parametrize("input_data, expected", [case[1:] for case in MALFORMED_INPUTS],
                         ids=[case[0] for case in MALFORMED_INPUTS])
def test_malformed_input_is_a_400_with_an_error_object_naming_the_problem(scorer, input_data, expected):
    status, error = answer(scorer.run(input_data))
    assert status == 400
    assert list(error) == ["error"]
    assert expected in error["error"]


def test_a_scorer_failure_propagates_out_of_run_for_the_runtime_to_answer_500(scorer, monkeypatch, hot_message):
    def broken_predict(values):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(score._model, "predict", broken_predict)
    with pytest.raises(ZeroDivisionError, match="^boom$"):
        scorer.run(json.dumps(hot_message))


def test_run_before_init_raises_rather_than_blaming_the_input(monkeypatch, hot_message):
    monkeypatch.setattr(score, "_model", None)
    with pytest.raises(RuntimeError, match=r"init\(\) has not been called"):
        score.run(json.dumps(hot_message))


def _write_model(path, flip_verdicts=False):
    """Copy the committed model to path, optionally with every leaf's probabilities reversed."""
    path.parent.mkdir(parents=True)
    if not flip_verdicts:
        shutil.copy(score.DEFAULT_MODEL_DIR / "model.json", path)
        return
    document = json.loads((score.DEFAULT_MODEL_DIR / "model.json").read_text())
    tree = document["tree"]
    tree["probabilities"] = [None if p is None else p[::-1] for p in tree["probabilities"]]
    path.write_text(json.dumps(document))


def test_azureml_model_dir_is_searched_for_the_registered_model(monkeypatch, tmp_path, hot_message):
    # Azure ML mounts registered models as <AZUREML_MODEL_DIR>/<name>/<version>/...
    registered = tmp_path / "temperature-anomaly" / "3" / "model.json"
    _write_model(registered, flip_verdicts=True)
    monkeypatch.setenv("AZUREML_MODEL_DIR", str(tmp_path))

    score.init()

    assert score.locate_model_file(str(tmp_path)) == registered
    assert scored(score.run(json.dumps(hot_message)))["anomaly"] is False  # the flipped model answered


def test_azureml_model_dir_prefers_the_shallowest_model_file(tmp_path):
    _write_model(tmp_path / "model" / "model.json")
    _write_model(tmp_path / "model" / "old" / "model.json")
    assert score.locate_model_file(str(tmp_path)) == tmp_path / "model" / "model.json"


@pytest.mark.parametrize("layout", [[], ["a/model.json", "b/model.json"]], ids=["no model", "ambiguous"])
def test_init_fails_loudly_when_azureml_model_dir_has_no_single_model(monkeypatch, tmp_path, layout):
    for relative in layout:
        _write_model(tmp_path / relative)
    monkeypatch.setenv("AZUREML_MODEL_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="model.json"):
        score.init()


def test_a_model_file_in_another_format_is_refused(tmp_path):
    path = tmp_path / "model.json"
    path.write_text(json.dumps({"format": "pickle"}))
    with pytest.raises(ValueError, match="unsupported model format 'pickle'"):
        score.load_model(path)
