"""Benchmark: the fast scorer against the old tutorial's scoring path, side by side.

Not a test. Both variants score the same sensor-shaped messages, built from the
reference recording, with one run() call per message (JSON text in, JSON out):
  fast      score.run: the JSON decision tree walked in plain Python
  tutorial  the tutorial's iot_score.run: a one-row pandas DataFrame per message
            and DecisionTreeClassifier.predict on the same tree (trained with
            train.py's functions), loaded from a joblib pickle as it did
Each variant runs in its own subprocess so that cold start (imports + init) and
peak memory of one do not leak into the other. Peak memory is the process's
VmHWM (Linux): unlike ru_maxrss it does not carry over the parent's RSS from
before exec.

Then the HTTP front end: main.py in its own process, POST /score with the same
messages from this process, over one kept-alive connection and with a new
connection per request, next to the in-process score.run figure of this run
(target: kept-alive p50 under 1 ms).

Usage: python bench.py [--repeat 5]
"""

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WARM_UP_CALLS = 20
KEEP_ALIVE_TARGET_MS = 1.0
SCORING_DIR = Path(__file__).resolve().parent
VARIANTS = {
    "fast": "fast: JSON tree (score.py)",
    "tutorial": "tutorial: DataFrame + predict",
}


def load_fast_scorer(_pickle_path):
    import score

    score.init()
    return score.run


def load_tutorial_scorer(pickle_path):
    import joblib
    import pandas

    model = joblib.load(pickle_path)

    def run(input_str):
        # The tutorial's iot_score.run, minus its per-message print().
        input_json = json.loads(input_str)
        input_df = pandas.DataFrame([[input_json["machine"]["temperature"], input_json["machine"]["pressure"],
                                      input_json["ambient"]["temperature"], input_json["ambient"]["humidity"]]])
        pred = model.predict(input_df)
        input_json["anomaly"] = bool(pred[0] == 1)
        return [json.dumps(input_json)]

    return run


def measure(variant, messages_path, pickle_path):
    """Child process: time one variant and print its figures as JSON."""
    started = time.perf_counter()
    run = {"fast": load_fast_scorer, "tutorial": load_tutorial_scorer}[variant](pickle_path)
    cold_start = time.perf_counter() - started

    messages = Path(messages_path).read_text(encoding="utf-8").splitlines()
    for message in messages[:WARM_UP_CALLS]:
        run(message)
    latencies, outputs = [], []
    for message in messages:
        before = time.perf_counter_ns()
        output = run(message)
        latencies.append(time.perf_counter_ns() - before)
        outputs.append(output)

    anomalies = [json.loads(output if variant == "fast" else output[0])["anomaly"] for output in outputs]
    percentiles = statistics.quantiles(latencies, n=100)
    print(json.dumps({
        "p50_us": percentiles[49] / 1000,
        "p99_us": percentiles[98] / 1000,
        "cold_start_ms": cold_start * 1000,
        "peak_rss_mib": peak_rss_mib(),
        "anomalies": anomalies,
    }))


def peak_rss_mib():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # reported in kB
    raise RuntimeError("no VmHWM in /proc/self/status; the benchmark needs Linux")


def interpreter_peak_rss_mib():
    code = "print(next(line for line in open('/proc/self/status') if line.startswith('VmHWM:')).split()[1])"
    return int(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout) / 1024


def http_latencies(port, messages, keep_alive):
    """Latency of each POST /score, in ns, and its anomaly verdict; one connection for all, or one per request."""
    latencies, anomalies = [], []
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10) if keep_alive else None
    for index, message in enumerate(messages[:WARM_UP_CALLS] + messages):
        before = time.perf_counter_ns()
        if not keep_alive:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("POST", "/score", body=message, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        body = response.read()
        if not keep_alive:
            connection.close()
        elapsed = time.perf_counter_ns() - before
        if response.status != 200:
            raise RuntimeError(f"POST /score answered {response.status}: {body[:200]!r}")
        if index >= WARM_UP_CALLS:
            latencies.append(elapsed)
            anomalies.append(json.loads(body)["anomaly"])
    if keep_alive:
        connection.close()
    return latencies, anomalies


def measure_http(messages):
    """{"keep-alive": (p50_ms, p99_ms, anomalies), "new connection": ...} against main.py in a child process."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {name: value for name, value in os.environ.items() if not name.startswith("IOTEDGE_")}
    server = subprocess.Popen([sys.executable, "main.py"], cwd=SCORING_DIR, env={**env, "PORT": str(port), "LOG_LEVEL": "WARNING"})
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("main.py did not start listening")
                time.sleep(0.05)
        results = {}
        for label, keep_alive in (("keep-alive", True), ("new connection", False)):
            latencies, anomalies = http_latencies(port, messages, keep_alive)
            percentiles = statistics.quantiles(latencies, n=100)
            results[label] = (percentiles[49] / 1e6, percentiles[98] / 1e6, anomalies)
        return results
    finally:
        server.terminate()
        server.wait(timeout=10)


def compare(repeat):
    import joblib

    import train
    from reference_data import load_reference_rows, sensor_message

    rows = load_reference_rows()
    messages = [json.dumps(sensor_message(features, index))
                for index, (features, _label) in enumerate(rows * repeat)]
    with tempfile.TemporaryDirectory() as scratch:
        messages_path = Path(scratch, "messages.jsonl")
        messages_path.write_text("\n".join(messages), encoding="utf-8")
        pickle_path = Path(scratch, "model.pkl")
        classifier, _rows, _accuracy = train.train_classifier(*train.simulate_telemetry())
        joblib.dump(classifier, pickle_path)

        results = {}
        for variant in VARIANTS:
            child = subprocess.run(
                [sys.executable, __file__, "--measure", variant, str(messages_path), str(pickle_path)],
                capture_output=True, text=True, check=True)
            results[variant] = json.loads(child.stdout)

    print(f"{len(messages)} messages ({len(rows)} reference rows x {repeat}), one run() call each, "
          f"{WARM_UP_CALLS} warm-up calls not timed\n")
    print(f"{'variant':32}{'p50 (us)':>10}{'p99 (us)':>10}{'cold start (ms)':>17}{'peak RSS (MiB)':>16}")
    for variant, label in VARIANTS.items():
        r = results[variant]
        print(f"{label:32}{r['p50_us']:10.1f}{r['p99_us']:10.1f}{r['cold_start_ms']:17.1f}{r['peak_rss_mib']:16.1f}")
    print(f"{'python interpreter alone':32}{'-':>10}{'-':>10}{'-':>17}{interpreter_peak_rss_mib():16.1f}")

    fast, tutorial = results["fast"], results["tutorial"]
    agreeing = sum(a == b for a, b in zip(fast["anomalies"], tutorial["anomalies"]))
    print(f"\np50 speed-up: {tutorial['p50_us'] / fast['p50_us']:.1f}x; "
          f"predictions agree on {agreeing}/{len(messages)} messages")

    http = measure_http(messages)
    print(f"\nHTTP POST /score: main.py in its own process, {len(messages)} requests from this one per row, "
          f"{WARM_UP_CALLS} warm-up requests not timed\n")
    print(f"{'path':32}{'p50 (ms)':>10}{'p99 (ms)':>10}{'per second':>12}")
    print(f"{'in-process score.run (above)':32}{fast['p50_us'] / 1000:10.3f}{fast['p99_us'] / 1000:10.3f}"
          f"{1e6 / fast['p50_us']:12.0f}")
    for label, (p50, p99, anomalies) in http.items():
        name = "one kept-alive connection" if label == "keep-alive" else "new connection per request"
        print(f"{name:32}{p50:10.3f}{p99:10.3f}{1000 / p50:12.0f}")
        if anomalies != fast["anomalies"]:
            raise SystemExit(f"HTTP ({label}) predictions differ from score.run's")
    keep_alive_p50 = http["keep-alive"][0]
    verdict = "met" if keep_alive_p50 < KEEP_ALIVE_TARGET_MS else "MISSED"
    print(f"\nkept-alive p50 {keep_alive_p50:.3f} ms: target under {KEEP_ALIVE_TARGET_MS:g} ms {verdict}; "
          f"HTTP predictions agree with score.run on all {len(messages)} messages")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="times the reference rows are replayed (default 5)")
    parser.add_argument("--measure", nargs=3, metavar=("VARIANT", "MESSAGES", "PICKLE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(*args.measure)
    else:
        compare(args.repeat)


if __name__ == "__main__":
    main()
