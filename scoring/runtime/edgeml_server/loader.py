"""Load an Azure ML entry script, work out how its run() wants its input, and call init().

Every way a script can be unusable is its own EntryScriptError subclass with a message saying what to fix;
__main__ logs it with the script's traceback and exits non-zero, so an IoT Edge module that cannot serve shows
why in `iotedge logs` while edgeAgent backs off, instead of answering 500 to every request.

How run() is called (Azure ML's rules):
  - @rawhttp anywhere in the script: run(<first parameter>=AMLRequest)
  - run decorated with inference_schema's @input_schema: the JSON body's fields by parameter name
  - otherwise: run(<first parameter>=body text)
  - and, in every case, request_headers=dict of the request's headers if run has that parameter.
"""

import importlib.util
import inspect
import logging
import sys
import traceback
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Callable, List

from azureml.contrib.services import aml_request

logger = logging.getLogger("edgeml.loader")

# The name Azure ML's server gives the entry script's module; inference_schema keys its schemas by
# "<module>.<function>", so the same name keeps any module-name-dependent behaviour the same.
MODULE_NAME = "entry_module"
HEADERS_PARAMETER = "request_headers"
_ACCEPTED_KINDS = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


class EntryScriptError(Exception):
    """The entry script cannot be served; str() says why."""


class EntryScriptNotFound(EntryScriptError):
    pass


class EntryScriptImportError(EntryScriptError):
    """Importing the script raised (a SyntaxError included); __cause__ is the script's exception."""


class NoInitFunction(EntryScriptError):
    pass


class NoRunFunction(EntryScriptError):
    pass


class BadRunSignature(EntryScriptError):
    pass


class InitFailed(EntryScriptError):
    """init() raised; __cause__ is its exception."""


class StopRequested(SystemExit):
    """Raised by the SIGTERM/SIGINT handler; passes through the script's import and init() untouched."""


class InputMode(Enum):
    TEXT = "text"  # the body decoded as UTF-8
    RAW = "raw"  # the AMLRequest
    SCHEMA = "schema"  # JSON body fields by parameter name


@dataclass
class EntryScript:
    path: Path
    module: object
    init: Callable
    run: Callable
    mode: InputMode
    parameters: List[inspect.Parameter] = field(default_factory=list)  # run's inputs, request_headers excluded
    wants_headers: bool = False

    @property
    def input_parameter(self):
        """The parameter that takes the body text or the request (TEXT and RAW modes)."""
        return self.parameters[0].name

    def describe(self):
        names = ", ".join(p.name for p in self.parameters)
        how = {InputMode.TEXT: f"the body text as {self.input_parameter!r}",
               InputMode.RAW: f"the AMLRequest as {self.input_parameter!r} (@rawhttp)",
               InputMode.SCHEMA: f"JSON body fields by name ({names}) (@input_schema)"}[self.mode]
        return how + (", plus request_headers" if self.wants_headers else "")


def load_entry_script(path) -> EntryScript:
    """Import the script at path as a module and analyse its run(); raises an EntryScriptError subclass."""
    path = Path(path)
    if not path.is_file():
        folder = path.parent
        if folder.is_dir():
            contents = sorted(p.name + ("/" if p.is_dir() else "") for p in folder.iterdir())
            where = f"{folder} holds: {', '.join(contents[:50]) or 'nothing'}"
        else:
            where = f"{folder} does not exist"
        raise EntryScriptNotFound(f"entry script {path} not found ({where}); set AML_APP_ROOT to the folder of "
                                  "your score.py and AZUREML_ENTRY_SCRIPT to its name")

    aml_request._raw_http_requested = False
    spec = importlib.util.spec_from_file_location(MODULE_NAME, path)
    module = importlib.util.module_from_spec(spec)
    # Registered so pickle, dataclasses and typing can find the script's own classes by module name.
    sys.modules[MODULE_NAME] = module
    try:
        spec.loader.exec_module(module)
    except StopRequested:
        sys.modules.pop(MODULE_NAME, None)
        raise
    except SyntaxError as error:
        sys.modules.pop(MODULE_NAME, None)
        where = f"{error.filename or path}, line {error.lineno}"
        raise EntryScriptImportError(f"entry script has a syntax error at {where}: {error.msg}") from error
    except BaseException as error:  # SystemExit and KeyboardInterrupt at import are the script's failure too
        sys.modules.pop(MODULE_NAME, None)
        raise EntryScriptImportError(f"importing entry script {path} raised {type(error).__name__}: {error} "
                                     f"({_where(error, path)})") from error
    raw_requested = aml_request._raw_http_requested

    init = getattr(module, "init", None)
    if not callable(init):
        raise NoInitFunction(f"entry script {path} has no init() function; Azure ML calls init() once at start")
    run = getattr(module, "run", None)
    if not callable(run):
        raise NoRunFunction(f"entry script {path} has no run() function; Azure ML calls run(input) per request")
    return analyse_run(path, module, init, run, raw_requested)


def analyse_run(path, module, init, run, raw_requested=False) -> EntryScript:
    try:
        signature = inspect.signature(run)  # follows __wrapped__: decorated functions show the original
    except (TypeError, ValueError) as error:
        raise BadRunSignature(f"cannot read run()'s parameters: {error}") from error
    parameters = list(signature.parameters.values())
    bad = [p.name for p in parameters if p.kind not in _ACCEPTED_KINDS]
    if bad:
        raise BadRunSignature(f"run() cannot take positional-only parameters, *args or **kwargs ({', '.join(bad)})"
                              "; Azure ML passes its input by parameter name")
    wants_headers = any(p.name == HEADERS_PARAMETER for p in parameters)
    inputs = [p for p in parameters if p.name != HEADERS_PARAMETER]
    if not inputs:
        raise BadRunSignature("run() needs a parameter for its input"
                              + (" besides request_headers" if wants_headers else ""))

    raw = raw_requested or getattr(run, aml_request.RAWHTTP_ATTRIBUTE, False)
    schema = _is_schema_decorated(run)
    if raw and schema:
        raise BadRunSignature("run() cannot be both @rawhttp and @input_schema decorated")
    mode = InputMode.RAW if raw else InputMode.SCHEMA if schema else InputMode.TEXT
    script = EntryScript(path=Path(path), module=module, init=init, run=run, mode=mode, parameters=inputs,
                         wants_headers=wants_headers)
    logger.info("entry script %s: run() gets %s", path, script.describe())
    return script


def _is_schema_decorated(run):
    """Whether inference_schema's decorators were applied to run.

    inference_schema sets no attribute on the function: each @input_schema/@output_schema records the schema in
    the module-level dict inference_schema.schema_util.__functions_schema__, keyed "<module>.<name>" of the
    innermost function, and schema_util.is_schema_decorated(func) looks it up (Azure/InferenceSchema,
    inference_schema/schema_util.py and schema_decorators.py, v1.8; present since 2019). So ask that function,
    if the script imported the package at all.
    """
    schema_util = sys.modules.get("inference_schema.schema_util")
    check = getattr(schema_util, "is_schema_decorated", None)
    if check is None:
        return False
    try:
        return bool(check(run))
    except Exception:
        logger.warning("inference_schema could not tell whether run() is schema-decorated; treating it as not",
                       exc_info=True)
        return False


def _where(error, path):
    """Where the script's own code was when error was raised: its last frame in the script file, if any."""
    frames = traceback.extract_tb(error.__traceback__)
    in_script = [f for f in frames if f.filename == str(path)]
    frame = (in_script or frames or [None])[-1]
    return f"at {frame.filename}, line {frame.lineno}" if frame else "no traceback"


def run_init(script: EntryScript):
    """Call the script's init(); raises InitFailed from its exception."""
    logger.info("calling init()")
    try:
        script.init()
    except StopRequested:
        raise
    except BaseException as error:
        raise InitFailed(f"init() raised {type(error).__name__}: {error} ({_where(error, script.path)})") from error
    logger.info("init() done")
