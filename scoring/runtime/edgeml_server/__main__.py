"""python -m edgeml_server: serve the Azure ML entry script in AML_APP_ROOT.

Start-up: read the environment (config.py), make AML_APP_ROOT the working directory and put it on sys.path,
import the entry script, call init() once, then serve HTTP on PORT and, under IoT Edge (IOTEDGE_* variables
present), the module input too. If the script cannot be served (missing, fails to import, no init/run, init()
raises) the process exits with status 3 and the reason and traceback in the log, so IoT Edge's edgeAgent
restarts it with backoff and `iotedge logs` shows why. 2: a bad setting; 4: cannot listen or reach edgeHub.
SIGTERM (docker stop; Python as PID 1 would otherwise ignore it) and SIGINT stop it with status 0.
"""

import logging
import os
import signal
import sys
import traceback

from .config import Config, ConfigError
from .edge import EdgeRoutes, start_module_client, under_iot_edge
from .http import make_server
from .loader import EntryScriptError, EntryScriptNotFound, InitFailed, StopRequested, load_entry_script, run_init
from .routes import ScoringApp

logger = logging.getLogger("edgeml")

EXIT_CONFIG = 2
EXIT_SCRIPT = 3  # gunicorn's boot-error status, which Azure ML's server exits with in the same cases
EXIT_SERVER = 4
MODEL_LISTING_LINES = 200
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _stop(signum, frame):
    raise StopRequested(0)


def prepare_process(config):
    """The process state Azure ML gives an entry script: cwd and sys.path at the app root, AZUREML_MODEL_DIR."""
    if not config.app_root.is_dir():
        raise EntryScriptNotFound(f"AML_APP_ROOT={config.app_root} is not a directory; it should hold score.py")
    os.chdir(config.app_root)
    # `python -m edgeml_server` put the runtime's folder first on sys.path; its bench.py and tests/ would shadow
    # a script's own modules of those names. The server is imported by now and needs only api/ from here on.
    runtime_dir = os.path.dirname(PACKAGE_DIR.rstrip(os.sep))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != runtime_dir]
    for folder in (config.app_root, config.source_dir):
        if folder is not None and str(folder) not in sys.path:
            sys.path.append(str(folder))
    if config.model_dir is not None:
        if config.model_dir_derived:
            os.environ["AZUREML_MODEL_DIR"] = str(config.model_dir)
            logger.info("AZUREML_MODEL_DIR=%s (from MODEL_NAME and MODEL_VERSION)", config.model_dir)
        elif not config.model_dir.is_dir():
            logger.warning("AZUREML_MODEL_DIR=%s is not a directory", config.model_dir)


def _model_listing(model_dir):
    lines = []
    for root, folders, files in os.walk(model_dir):
        folders.sort()
        relative = os.path.relpath(root, model_dir)
        depth = 0 if relative == "." else relative.count(os.sep) + 1
        lines.append("    " * depth + os.path.basename(root) + "/")
        lines += ["    " * (depth + 1) + name for name in sorted(files)]
        if len(lines) > MODEL_LISTING_LINES:
            return lines[:MODEL_LISTING_LINES] + [f"... (first {MODEL_LISTING_LINES} lines)"]
    return lines


def _script_traceback(error):
    """The traceback of the script's exception without the runtime's and importlib's own frames."""
    report = traceback.TracebackException.from_exception(error)
    report.stack = traceback.StackSummary.from_list(
        [frame for frame in report.stack
         if not frame.filename.startswith((PACKAGE_DIR, "<frozen importlib"))])
    return "".join(report.format()).rstrip()


def _log_script_error(error, config):
    cause = error.__cause__
    if cause is not None:
        logger.error("%s\n%s", error, _script_traceback(cause))
    else:
        logger.error("%s", error)
    if isinstance(error, InitFailed) and config.model_dir is not None and config.model_dir.is_dir():
        logger.info("AZUREML_MODEL_DIR %s holds:\n%s", config.model_dir, "\n".join(_model_listing(config.model_dir)))
    logger.error("the entry script cannot be served (%s); exiting with status %d", type(error).__name__, EXIT_SCRIPT)


def main(env=None):
    env = os.environ if env is None else env
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        config = Config.from_env(env)
    except ConfigError as error:
        logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
        logger.error("configuration error: %s", error)
        return EXIT_CONFIG
    logging.basicConfig(level=config.log_level, format=LOG_FORMAT)
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(line_buffering=True)  # the script's print()s reach the container log at once

    try:
        try:
            prepare_process(config)
            script = load_entry_script(config.entry_script)
            run_init(script)
        except EntryScriptError as error:
            _log_script_error(error, config)
            return EXIT_SCRIPT

        app = ScoringApp(script, config.run_concurrency, config.model_name, config.model_version)
        try:
            server = make_server(app, config.host, config.port, config.max_body_bytes, config.keepalive_timeout_s)
        except OSError as error:
            logger.error("cannot listen on %s:%d: %s", config.host, config.port, error)
            return EXIT_SERVER
        client = None
        try:
            if under_iot_edge(env):
                try:
                    client = start_module_client(app, EdgeRoutes.from_config(config))
                except Exception:
                    logger.exception("cannot start the IoT Edge module client")
                    return EXIT_SERVER
            logger.info("serving %s on %s:%d (GET / health, GET|POST /score)", config.entry_script, config.host,
                        server.server_address[1])
            server.serve_forever()
        finally:
            server.server_close()
            if client is not None:
                try:
                    client.shutdown()
                except Exception:
                    logger.exception("IoT Edge module client did not shut down cleanly")
    except StopRequested:
        logger.info("stopping")
    return 0


if __name__ == "__main__":
    sys.exit(main())
