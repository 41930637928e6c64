import pytest

from .support import write_app
from edgeml_server.loader import (BadRunSignature, EntryScriptImportError, EntryScriptNotFound, InitFailed,
                                  InputMode, NoInitFunction, NoRunFunction, load_entry_script, run_init)


def load(tmp_path, script):
    return load_entry_script(write_app(tmp_path / "app", script) / "score.py")


def test_a_missing_script_is_named_with_what_the_folder_holds(tmp_path):
    write_app(tmp_path / "app", "", filename="scoring.py")
    with pytest.raises(EntryScriptNotFound) as caught:
        load_entry_script(tmp_path / "app" / "score.py")
    assert str(tmp_path / "app" / "score.py") in str(caught.value)
    assert "scoring.py" in str(caught.value)


def test_a_script_without_run_is_refused(tmp_path):
    with pytest.raises(NoRunFunction, match="no run"):
        load(tmp_path, "def init(): pass\n")


def test_a_script_without_init_is_refused(tmp_path):
    with pytest.raises(NoInitFunction, match="no init"):
        load(tmp_path, "def run(data): return data\n")


def test_a_syntax_error_names_file_and_line(tmp_path):
    with pytest.raises(EntryScriptImportError) as caught:
        load(tmp_path, "def init():\n    pass\ndef run(data)\n    return data\n")
    assert f"{tmp_path / 'app' / 'score.py'}, line 3" in str(caught.value)
    assert isinstance(caught.value.__cause__, SyntaxError)


def test_an_import_failure_keeps_the_scripts_exception(tmp_path):
    with pytest.raises(EntryScriptImportError) as caught:
        load(tmp_path, "import json\nimport no_such_package_here\ndef init(): pass\ndef run(d): pass\n")
    assert "ModuleNotFoundError" in str(caught.value) and "line 2" in str(caught.value)
    assert isinstance(caught.value.__cause__, ModuleNotFoundError)


def test_init_failure_is_typed_and_chained(tmp_path):
    script = load(tmp_path, "def init():\n    raise FileNotFoundError('model.pkl')\ndef run(data): pass\n")
    with pytest.raises(InitFailed, match="FileNotFoundError: model.pkl") as caught:
        run_init(script)
    assert isinstance(caught.value.__cause__, FileNotFoundError)


def test_an_undecorated_run_gets_text_by_its_first_parameter_name(tmp_path):
    script = load(tmp_path, "def init(): pass\ndef run(raw_data): pass\n")
    assert script.mode is InputMode.TEXT and script.input_parameter == "raw_data" and not script.wants_headers


def test_request_headers_parameter_is_detected(tmp_path):
    script = load(tmp_path, "def init(): pass\ndef run(data, request_headers): pass\n")
    assert script.wants_headers and [p.name for p in script.parameters] == ["data"]


def test_rawhttp_is_detected_through_another_decorator(tmp_path):
    script = load(tmp_path, """
        import functools
        from azureml.contrib.services.aml_request import rawhttp

        def logged(func):
            @functools.wraps(func)
            def wrapper(*args, **kwargs):
                return func(*args, **kwargs)
            return wrapper

        def init(): pass

        @logged
        @rawhttp
        def run(request): pass
    """)
    assert script.mode is InputMode.RAW and script.input_parameter == "request"


def test_a_later_script_without_rawhttp_is_not_raw(tmp_path):
    load(tmp_path / "one", "from azureml.contrib.services.aml_request import rawhttp\n"
                           "def init(): pass\n@rawhttp\ndef run(r): pass\n")
    assert load(tmp_path / "two", "def init(): pass\ndef run(data): pass\n").mode is InputMode.TEXT


def test_inference_schema_decorated_run_takes_fields_by_name(tmp_path, fake_inference_schema):
    script = load(tmp_path, """
        from inference_schema.schema_decorators import input_schema, output_schema
        from inference_schema.parameter_types.standard_py_parameter_type import StandardPythonParameterType

        def init(): pass

        @input_schema("data", StandardPythonParameterType([[1.0, 2.0]]))
        @input_schema("scale", StandardPythonParameterType(1.0))
        @output_schema(StandardPythonParameterType([1.0]))
        def run(data, scale=1.0, request_headers=None): pass
    """)
    assert script.mode is InputMode.SCHEMA
    assert [p.name for p in script.parameters] == ["data", "scale"] and script.wants_headers


@pytest.mark.parametrize("signature", ["*args", "data, **kwargs", "data, /", "request_headers", ""])
def test_run_signatures_azure_ml_refuses_are_refused(tmp_path, signature):
    with pytest.raises(BadRunSignature):
        load(tmp_path, f"def init(): pass\ndef run({signature}): pass\n")


def test_rawhttp_and_input_schema_together_are_refused(tmp_path, fake_inference_schema):
    with pytest.raises(BadRunSignature, match="both"):
        load(tmp_path, """
            from azureml.contrib.services.aml_request import rawhttp
            from inference_schema.schema_decorators import input_schema, StandardPythonParameterType
            def init(): pass
            @rawhttp
            @input_schema("data", StandardPythonParameterType(1))
            def run(data): pass
        """)
