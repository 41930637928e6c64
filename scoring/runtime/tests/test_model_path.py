"""azureml.core's Model.get_model_path, as inside a v1 image, on the models the image carries."""

import importlib

import pytest

from azureml.core.model import Model
from azureml.exceptions import ModelNotFoundException, WebserviceException


@pytest.fixture
def app_root(tmp_path, monkeypatch):
    root = tmp_path / "azureml-app"
    models = root / "azureml-models"
    for name, version, files in [("anomaly", "1", ["model.pkl"]), ("anomaly", "2", ["model.pkl"]),
                                 ("anomaly", "10", ["model.pkl"]), ("tokenizer", "3", ["vocab.txt", "merges.txt"]),
                                 ("bert", "1", ["bert/config.json", "bert/weights.bin"])]:
        for file in files:
            (models / name / version / file).parent.mkdir(parents=True, exist_ok=True)
            (models / name / version / file).write_text("x")
    (models / "anomaly" / "notes").mkdir()  # not a version: ignored
    monkeypatch.setenv("AML_APP_ROOT", str(root))
    monkeypatch.setenv("AZUREML_MODEL_DIR", str(models / "anomaly" / "10"))
    monkeypatch.chdir(root)
    return root


def test_latest_version_is_the_highest_integer(app_root):
    assert Model.get_model_path("anomaly") == str(app_root / "azureml-models/anomaly/10/model.pkl")


def test_an_explicit_version(app_root):
    assert Model.get_model_path("anomaly", version=2) == str(app_root / "azureml-models/anomaly/2/model.pkl")
    assert Model.get_model_path(model_name="anomaly", version=1).endswith("anomaly/1/model.pkl")


def test_a_model_registered_as_a_folder_gives_the_folder(app_root):
    assert Model.get_model_path("bert") == str(app_root / "azureml-models/bert/1/bert")


def test_a_model_of_several_files_gives_the_version_folder(app_root):
    assert Model.get_model_path("tokenizer", 3) == str(app_root / "azureml-models/tokenizer/3")


def test_a_missing_model_names_itself_and_what_exists(app_root):
    with pytest.raises(ModelNotFoundException) as caught:
        Model.get_model_path("sentiment")
    message = str(caught.value)
    assert "'sentiment'" in message
    assert "anomaly/10" in message and "tokenizer/3" in message and "bert/1" in message
    with pytest.raises(WebserviceException, match="'anomaly' version 7"):  # ModelNotFound is a WebserviceException
        Model.get_model_path("anomaly", version=7)


def test_a_version_must_be_an_int_as_in_v1(app_root):
    with pytest.raises(WebserviceException, match="int"):
        Model.get_model_path("anomaly", version="2")


def test_a_model_next_to_the_script_is_found_in_the_working_directory(app_root):
    (app_root / "local_model.onnx").write_text("x")
    assert Model.get_model_path("local_model.onnx") == "local_model.onnx"


def test_models_are_found_from_azureml_model_dir_when_the_app_root_has_none(tmp_path, monkeypatch):
    models = tmp_path / "elsewhere"
    (models / "m" / "4").mkdir(parents=True)
    (models / "m" / "4" / "w.bin").write_text("x")
    monkeypatch.setenv("AML_APP_ROOT", str(tmp_path / "app"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AZUREML_MODEL_DIR", str(models / "m" / "4"))  # one model: <root>/<name>/<version>
    assert Model.get_model_path("m") == str(models / "m" / "4" / "w.bin")
    monkeypatch.setenv("AZUREML_MODEL_DIR", str(models))  # several models: the root itself
    assert Model.get_model_path("m", 4) == str(models / "m" / "4" / "w.bin")


def test_an_empty_version_folder_is_an_error(app_root):
    (app_root / "azureml-models" / "empty" / "1").mkdir(parents=True)
    with pytest.raises(ModelNotFoundException, match="empty"):
        Model.get_model_path("empty")


def test_azureml_core_imports_as_scripts_use_it_and_refuses_what_it_lacks():
    import azureml.core

    importlib.reload(azureml.core)
    from azureml.core import Model as Reexported
    assert Reexported is Model
    with pytest.raises(ImportError):
        from azureml.core import Workspace  # noqa: F401
    with pytest.raises(WebserviceException, match="get_model_path"):
        Model(None, "anomaly")
