"""Benchmark: edgeml's server against the same entry script behind Flask + gunicorn, container-less.

Not a test. For one app dir + entry script + model dir, each server runs in its own process on 127.0.0.1:
  edgeml          python -m edgeml_server
  flask+gunicorn  gunicorn, 1 sync worker, serving a small Flask adapter (flask_app() below) that does what
                  Azure ML's inference server does for a plain or @rawhttp run(): what Azure ML runs, minus its
                  nginx hop in front (so a lower bound for Azure ML's own figures)
and is measured the same way:
  start           Popen to the first GET / answering "Healthy"
  one connection  POST /score p50/p99 over ONE http.client connection (gunicorn's sync worker closes the
                  connection after every reply, so there http.client reconnects each time: what a client sees)
  load            --connections concurrent keep-alive connections from a second process (asyncio), for
                  --seconds: requests served, errors (must be 0), p50/p99; the server's RSS (VmRSS; gunicorn:
                  master + worker) before and after.
Both answers to the same body are compared byte for byte.

Usage: python bench.py --app-dir DIR [--entry-script score.py --model-dir DIR] [--body TEXT | --body-file F]
                       [--seconds 30] [--connections 64] [--requests 2000] [--python PY] [--flask-python PY]
The body defaults to DIR/sample-request.json. `npm run bench:scoring` runs it on the temperature-anomaly example on
this machine; `npm run bench:image` runs it inside each example's image, as the device would run it.
--python runs edgeml (default: this interpreter); --flask-python runs gunicorn (default: this interpreter if it
has flask and gunicorn, else the Flask column is skipped). Exits non-zero only on errors.
"""

import argparse
import asyncio
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUNTIME_DIR = Path(__file__).resolve().parent
API_DIR = RUNTIME_DIR / "api"
# The request body when none is given: the module's own sample, beside its entry script.
SAMPLE_REQUEST = "sample-request.json"
WARM_UP = 50


# -- the Flask adapter gunicorn serves ------------------------------------------------------------------------------
def flask_app():
    """The entry script behind Flask as Azure ML's server runs a plain or @rawhttp run() (gunicorn factory)."""
    import importlib.util
    import inspect

    from flask import Flask, Response, request

    sys.path.insert(0, str(API_DIR))
    from azureml.contrib.services import aml_request

    app_root = os.environ["BENCH_APP_ROOT"]
    os.chdir(app_root)
    sys.path.append(app_root)
    spec = importlib.util.spec_from_file_location("entry_module", os.path.join(app_root, os.environ["BENCH_ENTRY"]))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.init()
    parameters = [p for p in inspect.signature(module.run).parameters if p != "request_headers"]
    wants_headers = "request_headers" in inspect.signature(module.run).parameters
    raw = aml_request._raw_http_requested

    app = Flask("edgeml_bench")

    @app.route("/", methods=["GET"])
    def health():
        return "Healthy"

    @app.route("/score", methods=["GET", "POST"])
    def score():
        if raw:
            data = request
        elif request.method == "POST":
            try:
                data = request.get_data().decode("utf-8")
            except UnicodeDecodeError as error:
                return Response(json.dumps({"message": str(error)}), 400, mimetype="application/json")
        else:
            data = json.dumps(request.args.to_dict())
        extra = {"request_headers": dict(request.headers)} if wants_headers else {}
        started = time.perf_counter()
        try:
            result = module.run(**{parameters[0]: data}, **extra)
        except Exception:
            return Response(json.dumps({"message": "run() failed"}), 500, mimetype="application/json")
        elapsed = f"{(time.perf_counter() - started) * 1000:.3f}"
        if hasattr(result, "status_code") and hasattr(result, "get_data"):
            response = Response(result.get_data(), result.status_code)
            for name, value in result.headers.items():
                response.headers[name] = value
        else:
            response = Response(b"{}" if result is None else json.dumps(result), 200, mimetype="application/json")
        response.headers["x-ms-run-fn-exec-ms"] = elapsed
        return response

    return app


# -- the load client (a second process) -----------------------------------------------------------------------------
async def _load_connection(host, port, request, deadline, latencies, errors):
    reader = writer = None
    while time.monotonic() < deadline:
        try:
            if writer is None:
                reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 10)
            started = time.perf_counter()
            writer.write(request)
            status = int((await asyncio.wait_for(reader.readline(), 30)).split()[1])
            length, close = 0, False
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b"\n", b""):
                    break
                name, _, value = line.decode("latin-1").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
                elif name.strip().lower() == "connection" and value.strip().lower() == "close":
                    close = True
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if status != 200:
                errors.append(f"status {status}")
            if close:
                writer.close()
                writer = None
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError, IndexError) as error:
            errors.append(repr(error))
            if writer is not None:
                writer.close()
            writer = None
    if writer is not None:
        writer.close()


def load_client(port, seconds, connections, body_file):
    """Child process: print the load phase's figures as JSON."""
    body = Path(body_file).read_bytes()
    request = (f"POST /score HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(body)}\r\n\r\n").encode("latin-1") + body
    latencies, errors = [], []

    async def main():
        deadline = time.monotonic() + seconds
        await asyncio.gather(*(_load_connection("127.0.0.1", port, request, deadline, latencies, errors)
                               for _ in range(connections)))

    started = time.monotonic()
    asyncio.run(main())
    elapsed = time.monotonic() - started
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [float("nan")] * 99
    print(json.dumps({"requests": len(latencies), "seconds": elapsed, "errors": len(errors),
                      "error_samples": errors[:5], "p50_ms": cuts[49] * 1000, "p99_ms": cuts[98] * 1000}))


# -- the parent -----------------------------------------------------------------------------------------------------
def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _rss_mib(pid):
    """VmRSS of pid and its children (gunicorn: master + worker), in MiB."""
    pids, total = [pid], 0
    try:
        pids += [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        pass
    for each in pids:
        try:
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def _has_flask(python):
    return subprocess.run([python, "-c", "import flask, gunicorn"], capture_output=True).returncode == 0


def _wait_healthy(process, port, timeout=120):
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with status {process.returncode} before answering")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/")
            response = connection.getresponse()
            if response.status == 200 and response.read() == b"Healthy":
                connection.close()
                return (time.perf_counter() - started) * 1000
            connection.close()
        except OSError:
            pass
        time.sleep(0.002)
    raise RuntimeError("server did not answer Healthy in time")


def _one_connection(port, body, count):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    latencies, reconnects, answer = [], 0, None
    for index in range(WARM_UP + count):
        started = time.perf_counter()
        connection.request("POST", "/score", body=body, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        data = response.read()
        elapsed = time.perf_counter() - started
        if response.status != 200:
            raise RuntimeError(f"POST /score answered {response.status}: {data[:200]!r}")
        if response.getheader("Connection", "").lower() == "close":
            reconnects += 1
        answer = data
        if index >= WARM_UP:
            latencies.append(elapsed)
    connection.close()
    cuts = statistics.quantiles(latencies, n=100)
    return {"p50_ms": cuts[49] * 1000, "p99_ms": cuts[98] * 1000, "kept_alive": reconnects == 0, "answer": answer}


def measure(name, command, env, port, args, body_file):
    process = subprocess.Popen(command, env=env, cwd=RUNTIME_DIR, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        figures = {"start_ms": _wait_healthy(process, port)}
        figures.update(_one_connection(port, Path(body_file).read_bytes(), args.requests))
        figures["rss_before"] = _rss_mib(process.pid)
        client = subprocess.run([sys.executable, __file__, "--load-client", str(port), str(args.seconds),
                                 str(args.connections), str(body_file)], capture_output=True, text=True,
                                timeout=args.seconds + 120)
        if client.returncode != 0:
            raise RuntimeError(f"load client failed: {client.stderr[-2000:]}")
        figures["load"] = json.loads(client.stdout)
        figures["rss_after"] = _rss_mib(process.pid)
        return figures
    except Exception:
        process.kill()
        stderr = process.communicate(timeout=10)[1].decode(errors="replace")
        print(f"{name}: server log tail:\n{stderr[-3000:]}", file=sys.stderr)
        raise
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # Required, but for the load client (--load-client), which bench.py starts as a process of its own.
    parser.add_argument("--app-dir", type=Path, default=None, help="AML_APP_ROOT: the module's folder (required)")
    parser.add_argument("--entry-script", default="score.py", help="relative to --app-dir (default score.py)")
    parser.add_argument("--model-dir", type=Path, default=None,
                        help="AZUREML_MODEL_DIR (default: unset)")
    parser.add_argument("--body", default=None, help=f"the POST /score body (default: --app-dir's {SAMPLE_REQUEST})")
    parser.add_argument("--body-file", type=Path, default=None)
    parser.add_argument("--seconds", type=float, default=30, help="load phase length (default 30)")
    parser.add_argument("--connections", type=int, default=64, help="load phase connections (default 64)")
    parser.add_argument("--requests", type=int, default=2000, help="one-connection requests (default 2000)")
    parser.add_argument("--python", default=sys.executable, help="interpreter for edgeml_server")
    parser.add_argument("--flask-python", default=None, help="interpreter with flask and gunicorn")
    parser.add_argument("--load-client", nargs=4, metavar=("PORT", "SECONDS", "CONNECTIONS", "BODY"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load_client:
        port, seconds, connections, body = args.load_client
        load_client(int(port), float(seconds), int(connections), body)
        return 0

    if args.app_dir is None:
        parser.error("--app-dir is required: the module's folder (AML_APP_ROOT)")
    app_dir = args.app_dir.resolve()
    model_dir = args.model_dir
    if args.body_file:
        body = args.body_file.read_bytes()
    elif args.body is not None:
        body = args.body.encode("utf-8")
    elif (app_dir / SAMPLE_REQUEST).is_file():
        body = (app_dir / SAMPLE_REQUEST).read_bytes()
    else:
        parser.error(f"give --body or --body-file: {app_dir} has no {SAMPLE_REQUEST}")
    flask_python = args.flask_python or (sys.executable if _has_flask(sys.executable) else None)

    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("IOTEDGE_", "AZUREML_", "AML_"))}
    if model_dir:
        base_env["AZUREML_MODEL_DIR"] = str(Path(model_dir).resolve())
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        body_file = Path(scratch, "body")
        body_file.write_bytes(body)
        port = _free_port()
        env = {**base_env, "AML_APP_ROOT": str(app_dir), "AZUREML_ENTRY_SCRIPT": args.entry_script,
               "PORT": str(port), "EDGEML_HOST": "127.0.0.1", "AZUREML_LOG_LEVEL": "WARNING"}
        results["edgeml"] = measure("edgeml", [args.python, "-m", "edgeml_server"], env, port, args, body_file)
        if flask_python:
            port = _free_port()
            env = {**base_env, "BENCH_APP_ROOT": str(app_dir), "BENCH_ENTRY": args.entry_script,
                   "AML_APP_ROOT": str(app_dir)}
            command = [flask_python, "-m", "gunicorn", "--workers", "1", "--worker-class", "sync", "--timeout",
                       "300", "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "--chdir", str(RUNTIME_DIR),
                       "bench:flask_app()"]
            results["flask+gunicorn"] = measure("flask+gunicorn", command, env, port, args, body_file)

    print(f"\n{app_dir / args.entry_script}; AZUREML_MODEL_DIR={model_dir}; body {len(body)} bytes; "
          f"{args.requests} requests on one connection after {WARM_UP} warm-up; load {args.connections} "
          f"connections for {args.seconds:g} s\n")
    columns = list(results)
    rows = [
        ("start to first Healthy (ms)", lambda r: f"{r['start_ms']:.0f}"),
        ("one connection /score p50 (ms)", lambda r: f"{r['p50_ms']:.3f}"),
        ("one connection /score p99 (ms)", lambda r: f"{r['p99_ms']:.3f}"),
        ("connection kept alive", lambda r: "yes" if r["kept_alive"] else "no (closed per reply)"),
        ("load: requests served", lambda r: f"{r['load']['requests']}"),
        ("load: requests/s", lambda r: f"{r['load']['requests'] / r['load']['seconds']:.0f}"),
        ("load: errors", lambda r: f"{r['load']['errors']}"),
        ("load: p50 (ms)", lambda r: f"{r['load']['p50_ms']:.2f}"),
        ("load: p99 (ms)", lambda r: f"{r['load']['p99_ms']:.2f}"),
        ("RSS before load (MiB)", lambda r: f"{r['rss_before']:.1f}"),
        ("RSS after load (MiB)", lambda r: f"{r['rss_after']:.1f}"),
    ]
    print(f"{'':34}" + "".join(f"{c:>24}" for c in columns))
    for label, cell in rows:
        print(f"{label:34}" + "".join(f"{cell(results[c]):>24}" for c in columns))
    if not flask_python:
        print("\nflask+gunicorn skipped: pass --flask-python with an interpreter that has flask and gunicorn")
    elif results["edgeml"]["answer"] != results["flask+gunicorn"]["answer"]:
        print("\nNOTE: the two servers answered the body differently:\n"
              f"  edgeml: {results['edgeml']['answer'][:200]!r}\n"
              f"  flask:  {results['flask+gunicorn']['answer'][:200]!r}")
    else:
        print("\nboth servers gave the same /score answer, byte for byte")

    failures = {name: r["load"] for name, r in results.items() if r["load"]["errors"]}
    for name, load in failures.items():
        print(f"ERRORS under load ({name}): {load['errors']}, e.g. {load['error_samples']}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
