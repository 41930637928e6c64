from pathlib import Path

import pytest

from edgeml_server.config import DEFAULT_MAX_BODY_BYTES, Config, ConfigError


def test_defaults_are_azure_mls():
    config = Config.from_env({})
    assert config.app_root == Path("/var/azureml-app")
    assert config.entry_script == Path("/var/azureml-app/score.py")
    assert (config.host, config.port) == ("0.0.0.0", 5001)
    assert config.max_body_bytes == DEFAULT_MAX_BODY_BYTES == 100 * 1024 * 1024
    assert config.model_dir is None
    assert config.run_concurrency == 1
    assert (config.input_name, config.output_name, config.error_output_name) == ("amlInput", "amlOutput", "amlOutput")


def test_environment_overrides(tmp_path):
    config = Config.from_env({
        "AML_APP_ROOT": str(tmp_path), "AZUREML_ENTRY_SCRIPT": "src/main_score.py", "PORT": "8080",
        "AZUREML_MODEL_DIR": "/models/m/3", "EDGEML_MAX_BODY_BYTES": "1024", "OUTPUT_NAME": "results",
        "INPUT_NAME": "telemetry", "AZUREML_LOG_LEVEL": "debug",
    })
    assert config.entry_script == tmp_path / "src" / "main_score.py"
    assert config.port == 8080
    assert config.model_dir == Path("/models/m/3") and not config.model_dir_derived
    assert config.max_body_bytes == 1024
    assert (config.input_name, config.output_name, config.error_output_name) == ("telemetry", "results", "results")
    assert config.log_level == "DEBUG"
    assert Config.from_env({"OUTPUT_NAME": "a", "ERROR_OUTPUT_NAME": "b"}).error_output_name == "b"


def test_an_absolute_entry_script_is_taken_as_it_is(tmp_path):
    assert Config.from_env({"AML_APP_ROOT": "/app", "AZUREML_ENTRY_SCRIPT": str(tmp_path / "s.py")}).entry_script \
        == tmp_path / "s.py"


def test_model_dir_is_derived_from_model_name_and_version_when_the_image_did_not_set_it(tmp_path):
    (tmp_path / "azureml-models" / "anomaly" / "3").mkdir(parents=True)
    env = {"AML_APP_ROOT": str(tmp_path), "MODEL_NAME": "anomaly", "MODEL_VERSION": "3"}
    config = Config.from_env(env)
    assert config.model_dir == tmp_path / "azureml-models" / "anomaly" / "3" and config.model_dir_derived
    assert Config.from_env({**env, "MODEL_VERSION": "4"}).model_dir is None  # no such folder: nothing invented


@pytest.mark.parametrize("name, value", [
    ("PORT", "http"), ("PORT", "70000"), ("EDGEML_MAX_BODY_BYTES", "-1"), ("EDGEML_RUN_CONCURRENCY", "0"),
    ("EDGEML_KEEPALIVE_TIMEOUT_S", "soon"), ("AZUREML_LOG_LEVEL", "LOUD"),
])
def test_unusable_values_are_refused_naming_the_variable(name, value):
    with pytest.raises(ConfigError, match=name.split("_")[0]):
        Config.from_env({name: value})
