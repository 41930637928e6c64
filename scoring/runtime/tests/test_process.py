"""`python -m edgeml_server` as a real process: start-up, exit statuses, logs, SIGTERM."""

import http.client
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest

from .support import RUNTIME_DIR, write_app


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _environment(app_dir, **extra):
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("IOTEDGE_", "AZUREML_", "AML_", "MODEL_"))}
    return {**env, "AML_APP_ROOT": str(app_dir), "EDGEML_HOST": "127.0.0.1", **extra}


def _start(app_dir, **extra):
    return subprocess.Popen([sys.executable, "-m", "edgeml_server"], cwd=RUNTIME_DIR, env=_environment(app_dir, **extra),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _run_to_exit(app_dir, **extra):
    process = _start(app_dir, PORT=str(_free_port()), **extra)
    try:
        output, _ = process.communicate(timeout=20)
    finally:
        process.kill()
    return process.returncode, output


def test_serves_the_script_from_its_app_root_and_stops_on_sigterm(tmp_path):
    app = write_app(tmp_path / "app", """
        import bench  # a module beside score.py (AML_APP_ROOT is on sys.path), not the runtime's bench.py
        from azureml.core.model import Model

        def init():
            global threshold, model_path
            threshold = float(open("threshold.txt").read())  # relative to the working directory: AML_APP_ROOT
            model_path = Model.get_model_path("anomaly")
            print("init done")

        def run(data):
            return {"over": bench.value(data) > threshold, "model": model_path}
    """)
    (app / "bench.py").write_text("import json\ndef value(data):\n    return json.loads(data)['t']\n")
    (app / "threshold.txt").write_text("100")
    (app / "azureml-models" / "anomaly" / "3").mkdir(parents=True)
    (app / "azureml-models" / "anomaly" / "3" / "model.pkl").write_text("x")
    port = _free_port()
    process = _start(app, PORT=str(port), MODEL_NAME="anomaly", MODEL_VERSION="3")
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                connection.request("POST", "/score", '{"t": 120}')
                response = connection.getresponse()
                assert response.status == 200
                assert response.read() == ('{"over": true, "model": "%s"}'
                                           % (app / "azureml-models/anomaly/3/model.pkl")).encode()
                connection.close()
                break
            except ConnectionRefusedError:
                assert process.poll() is None and time.monotonic() < deadline, "did not start listening"
                time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=5) == 0
    finally:
        process.kill()
    output = process.stdout.read()
    assert "init done" in output
    assert "AZUREML_MODEL_DIR=" in output  # derived from MODEL_NAME/MODEL_VERSION and exported
    assert "IoT Edge" not in output  # no module client outside IoT Edge


def test_init_raising_exits_non_zero_with_the_traceback_in_the_log(tmp_path):
    app = write_app(tmp_path / "app", """
        import os

        def load(path):
            return open(path, "rb").read()

        def init():
            global model
            model = load(os.path.join(os.environ["AZUREML_MODEL_DIR"], "model.pkl"))

        def run(data):
            return data
    """)
    (tmp_path / "models" / "m" / "1").mkdir(parents=True)
    (tmp_path / "models" / "m" / "1" / "model.onnx").write_text("x")
    status, output = _run_to_exit(app, AZUREML_MODEL_DIR=str(tmp_path / "models" / "m" / "1"))
    assert status == 3
    assert "Traceback (most recent call last)" in output
    assert "FileNotFoundError" in output and "model.pkl" in output
    assert f'File "{app / "score.py"}", line 9, in init' in output  # line 1 of the dedented text is blank
    assert f"(at {app / 'score.py'}, line 5)" in output  # where the script's own code raised
    assert "edgeml_server" not in output.split("Traceback")[1]  # the script's frames only
    assert "model.onnx" in output  # the model folder is listed to show what is there instead
    assert "cannot be served (InitFailed)" in output


@pytest.mark.parametrize("script, expected", [
    (None, "not found"),
    ("def init(): pass\n", "no run() function"),
    ("def init():\n    pass\n\ndef run(data)\n    return data\n", "line 4"),
    ("import nonexistent_module_xyz\n", "No module named 'nonexistent_module_xyz'"),
])
def test_an_unservable_script_exits_non_zero_saying_why(tmp_path, script, expected):
    app = tmp_path / "app"
    app.mkdir()
    if script is not None:
        (app / "score.py").write_text(textwrap.dedent(script))
    status, output = _run_to_exit(app)
    assert status == 3
    assert expected in output


def test_a_bad_setting_exits_2(tmp_path):
    status, output = _run_to_exit(write_app(tmp_path / "app", "def init(): pass\ndef run(d): pass\n"),
                                  EDGEML_RUN_CONCURRENCY="many")
    assert status == 2 and "EDGEML_RUN_CONCURRENCY" in output


def test_under_iot_edge_without_the_sdk_exits_4_naming_it(tmp_path):
    # The module client is imported only under IoT Edge; the test venv does not have azure-iot-device.
    status, output = _run_to_exit(write_app(tmp_path / "app", "def init(): pass\ndef run(d): pass\n"),
                                  IOTEDGE_MODULEID="edgeml", IOTEDGE_WORKLOADURI="unix:///nowhere")
    assert status == 4
    assert "cannot start the IoT Edge module client" in output and "azure" in output
