"""The old tutorial's labelled recording, read in place, as sensor-shaped messages.

Used by the tests (accuracy, parity) and the benchmark only; never trained on.
"""

import csv
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
REFERENCE_CSV = REPO_ROOT.parent / "shared" / "reference" / "ai-toolkit" / "temperature_data.csv"
FIRST_MESSAGE_TIME = datetime(2024, 1, 1, tzinfo=timezone.utc)


def load_reference_rows():
    """[(features in train.FEATURES order, label)] for every row of the recording."""
    if not REFERENCE_CSV.is_file():
        raise FileNotFoundError(f"reference data not found at {REFERENCE_CSV}")
    # utf-8-sig: the file starts with a byte order mark.
    with open(REFERENCE_CSV, encoding="utf-8-sig", newline="") as csv_file:
        return [
            ([float(row["machine_temperature"]), float(row["machine_pressure"]),
              float(row["ambient_temperature"]), int(row["ambient_humidity"])],
             int(row["anomaly"]))
            for row in csv.DictReader(csv_file)
        ]


def sensor_message(features, index=0):
    """A message shaped like the simulated temperature sensor's."""
    machine_temperature, machine_pressure, ambient_temperature, ambient_humidity = features
    return {
        "machine": {"temperature": machine_temperature, "pressure": machine_pressure},
        "ambient": {"temperature": ambient_temperature, "humidity": ambient_humidity},
        "timeCreated": (FIRST_MESSAGE_TIME + timedelta(seconds=index)).isoformat().replace("+00:00", "Z"),
    }
