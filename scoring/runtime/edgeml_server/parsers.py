"""Turn a request (HTTP, or an IoT Edge message presented as POST /score) into run()'s keyword arguments.

Azure ML's rules, per the loader's InputMode:
  TEXT    POST: the body decoded as UTF-8 (not UTF-8: 400). GET: the query parameters as a JSON object's text.
  RAW     the AMLRequest itself, whatever the method.
  SCHEMA  POST: a JSON object body (Content-Type must be JSON: else 415), its fields passed by run()'s parameter
          names (a missing one without a default: 400). GET: the same from the query parameters.
Query parameters are parsed as JSON values where they parse (?a=1&b=[1,2]&c=x -> {"a": 1, "b": [1, 2],
"c": "x"}); a repeated one becomes a list.
"""

import inspect
import json

from .loader import InputMode


class InputError(Exception):
    """The request cannot be passed to run(); status is the HTTP status to answer."""

    status = 400

    def __init__(self, message):
        super().__init__(message)
        self.message = message


class BadInput(InputError):
    status = 400


class UnsupportedInput(InputError):
    status = 415


class MethodNotAllowed(InputError):
    status = 405

    def __init__(self, method):
        super().__init__(f"method {method} is not allowed; use GET or POST")
        self.method = method


def _json_or_text(value):
    try:
        return json.loads(value)
    except ValueError:
        return value


def query_object(request):
    """The query parameters as a dict of JSON values (lists for repeated parameters)."""
    parsed = {}
    for key, values in request.args.lists():
        parsed[key] = _json_or_text(values[0]) if len(values) == 1 else [_json_or_text(v) for v in values]
    return parsed


def run_arguments(script, request):
    """run()'s keyword arguments for request, request_headers excluded; raises an InputError."""
    if script.mode is InputMode.RAW:
        return {script.input_parameter: request}
    if request.method not in ("GET", "POST"):
        raise MethodNotAllowed(request.method)
    if script.mode is InputMode.TEXT:
        if request.method == "GET":
            return {script.input_parameter: json.dumps(query_object(request))}
        try:
            return {script.input_parameter: request.get_data().decode("utf-8")}
        except UnicodeDecodeError as error:
            raise BadInput(f"the body is not UTF-8 text: {error}") from None
    # SCHEMA
    if request.method == "GET":
        fields = query_object(request)
    else:
        if not request.is_json:
            raise UnsupportedInput("run() takes JSON fields by name: send Content-Type: application/json")
        body = request.get_data()
        try:
            fields = json.loads(body)
        except ValueError as error:  # a RecursionError is not a ValueError: it stays a server error
            raise BadInput(f"the body is not valid JSON: {error}" if body else
                           "the body is empty; expected a JSON object") from None
        if not isinstance(fields, dict):
            raise BadInput(f"the body must be a JSON object with run()'s parameters as fields, got "
                           f"{type(fields).__name__}")
    arguments = {}
    for parameter in script.parameters:
        value = fields.get(parameter.name, parameter.default)
        if value is inspect.Parameter.empty:
            raise BadInput(f"no value for run()'s parameter {parameter.name!r}")
        arguments[parameter.name] = value
    return arguments


def headers_argument(request):
    """The request_headers argument: a dict of header name (as a WSGI server names it) to value."""
    return dict(request.headers)
