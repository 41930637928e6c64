"""The old tutorial's labelled recording, read in place, as sensor-shaped messages.

Used by this example's tests only (accuracy, parity); never trained on.

The recording is reference data (scripts/references.json lists it with its source and sha256), never copied into
the repository. It is looked for as offline/reference-data.ts does for the TypeScript tests, in the first of:
$EDGEML_REFERENCE_DIR (a relative path is taken from the project's root); <project>/../shared/reference/ if it
exists; <project>/.reference/, where `npm run fetch-references` writes in a clone. Change both together.
"""

import csv
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

# <project>/scoring/examples/temperature-anomaly/tests/reference_data.py
PROJECT_ROOT = Path(__file__).resolve().parents[4]
REFERENCE_DIR_ENV = "EDGEML_REFERENCE_DIR"
# Set to 1 (CI does): a test whose oracle is missing fails instead of being skipped.
REQUIRE_REFERENCES_ENV = "EDGEML_REQUIRE_REFERENCES"
FETCH_COMMAND = "npm run fetch-references"
TEMPERATURE_CSV = "ai-toolkit/temperature_data.csv"
FIRST_MESSAGE_TIME = datetime(2024, 1, 1, tzinfo=timezone.utc)


def reference_dir():
    """(folder, why this one) of the reference data."""
    from_env = os.environ.get(REFERENCE_DIR_ENV)
    if from_env:
        # normpath, as Node's path.resolve: ".." taken away by name, symbolic links left as they are.
        return Path(os.path.normpath(PROJECT_ROOT / from_env)), f"${REFERENCE_DIR_ENV}"
    shared = Path(os.path.normpath(PROJECT_ROOT / ".." / "shared" / "reference"))
    if shared.is_dir():
        return shared, "../shared/reference exists next to the project"
    return (PROJECT_ROOT / ".reference", f"no ${REFERENCE_DIR_ENV} and no ../shared/reference, "
            "so the project's own .reference/")


def reference_path(name):
    """A file of the reference data, e.g. "ai-toolkit/temperature_data.csv"; it may not exist."""
    return reference_dir()[0] / name


def references_required():
    """Whether a missing oracle is a failure rather than a skip."""
    return os.environ.get(REQUIRE_REFERENCES_ENV, "") in ("1", "true")


def looked_in():
    """Where the reference data was looked for, and how to get it."""
    folder, chosen_by = reference_dir()
    return f"(looked in {folder}: {chosen_by}); run `{FETCH_COMMAND}`"


def missing_reference_message(name):
    """Says what is missing, where it was looked for and how to get it (the TypeScript tests' wording)."""
    return f"reference data missing: {name} {looked_in()}"


def load_reference_rows():
    """[(features in train.FEATURES order, label)] for every row of the recording."""
    csv_path = reference_path(TEMPERATURE_CSV)
    if not csv_path.is_file():
        raise FileNotFoundError(missing_reference_message(TEMPERATURE_CSV))
    # utf-8-sig: the file starts with a byte order mark.
    with open(csv_path, encoding="utf-8-sig", newline="") as csv_file:
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
