"""The server's settings, read once from the environment into a typed, immutable Config.

Azure ML's names where Azure ML has one (AML_APP_ROOT, AZUREML_ENTRY_SCRIPT, AZUREML_MODEL_DIR, ...), so an
image or a local run sets what it would set for Azure ML's inference server; EDGEML_* for edgeml's own knobs.
"""

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional

DEFAULT_APP_ROOT = "/var/azureml-app"
DEFAULT_ENTRY_SCRIPT = "score.py"
DEFAULT_PORT = 5001
# Azure ML's nginx front end: client_max_body_size 100m.
DEFAULT_MAX_BODY_BYTES = 100 * 1024 * 1024
# How long a kept-alive connection may sit idle (nginx's keepalive_timeout default).
DEFAULT_KEEPALIVE_TIMEOUT_S = 75.0
MODELS_FOLDER = "azureml-models"


class ConfigError(ValueError):
    """An environment variable has a value the server cannot use; the message names it."""


@dataclass(frozen=True)
class Config:
    app_root: Path
    entry_script: Path  # absolute
    source_dir: Optional[Path] = None  # AZUREML_SOURCE_DIRECTORY, resolved against app_root; on sys.path too
    model_dir: Optional[Path] = None  # AZUREML_MODEL_DIR as set, or derived from MODEL_NAME/MODEL_VERSION
    model_dir_derived: bool = False  # True when the server chose model_dir (and exports it for the script)
    model_name: Optional[str] = None
    model_version: Optional[str] = None
    host: str = "0.0.0.0"
    port: int = DEFAULT_PORT
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    keepalive_timeout_s: float = DEFAULT_KEEPALIVE_TIMEOUT_S
    run_concurrency: int = 1  # run() calls at once; 1 = one at a time, as Azure ML's single sync worker
    log_level: str = "INFO"
    input_name: str = "amlInput"
    output_name: str = "amlOutput"
    error_output_name: str = "amlOutput"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "Config":
        app_root = Path(env.get("AML_APP_ROOT") or DEFAULT_APP_ROOT).absolute()
        entry = Path(env.get("AZUREML_ENTRY_SCRIPT") or DEFAULT_ENTRY_SCRIPT)
        source_dir = env.get("AZUREML_SOURCE_DIRECTORY")
        model_name = env.get("MODEL_NAME") or None
        model_version = env.get("MODEL_VERSION") or None

        model_dir, derived = env.get("AZUREML_MODEL_DIR") or None, False
        if model_dir is None and model_name and model_version:
            candidate = app_root / MODELS_FOLDER / model_name / model_version
            if candidate.is_dir():
                model_dir, derived = str(candidate), True

        output_name = env.get("OUTPUT_NAME") or cls.output_name
        log_level = (env.get("AZUREML_LOG_LEVEL") or env.get("LOG_LEVEL") or "INFO").upper()
        if not isinstance(logging.getLevelName(log_level), int):
            raise ConfigError(f"AZUREML_LOG_LEVEL/LOG_LEVEL={log_level!r} is not a logging level "
                              "(DEBUG, INFO, WARNING, ERROR, CRITICAL)")
        return cls(
            app_root=app_root,
            entry_script=app_root / entry,  # an absolute AZUREML_ENTRY_SCRIPT stays as it is
            source_dir=app_root / source_dir if source_dir else None,
            model_dir=Path(model_dir) if model_dir else None,
            model_dir_derived=derived,
            model_name=model_name,
            model_version=model_version,
            host=env.get("EDGEML_HOST") or cls.host,
            port=_integer(env, "PORT", DEFAULT_PORT, 0, 65535),
            max_body_bytes=_integer(env, "EDGEML_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES, 0, None),
            keepalive_timeout_s=_number(env, "EDGEML_KEEPALIVE_TIMEOUT_S", DEFAULT_KEEPALIVE_TIMEOUT_S),
            run_concurrency=_integer(env, "EDGEML_RUN_CONCURRENCY", 1, 1, 1024),
            log_level=log_level,
            input_name=env.get("INPUT_NAME") or cls.input_name,
            output_name=output_name,
            error_output_name=env.get("ERROR_OUTPUT_NAME") or output_name,
        )


def _integer(env, name, default, low, high):
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not an integer") from None
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ConfigError(f"{name}={raw!r} must be {bounds}")
    return value


def _number(env, name, default):
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number") from None
    if not value > 0:
        raise ConfigError(f"{name}={raw!r} must be positive")
    return value
