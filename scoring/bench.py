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

Usage: python bench.py [--repeat 5]
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WARM_UP_CALLS = 20
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
