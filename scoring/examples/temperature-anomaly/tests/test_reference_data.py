"""Where the reference data is looked for, and what a test whose oracle is missing does: skip, or fail in CI."""

import json
from pathlib import Path

import pytest

import reference_data
from reference_data import PROJECT_ROOT, REFERENCE_DIR_ENV, REQUIRE_REFERENCES_ENV, reference_dir, reference_path
from temperature_example_support import REPO_ROOT, require_reference


def test_the_project_root_is_the_one_offline_reference_data_ts_resolves_from():
    # offline/reference-data.ts: PROJECT_ROOT = path.resolve(__dirname, ".."); both must find the same files.
    assert PROJECT_ROOT == REPO_ROOT
    assert (PROJECT_ROOT / "offline" / "reference-data.ts").is_file()
    assert (PROJECT_ROOT / "scripts" / "references.json").is_file()
    listed = json.loads((PROJECT_ROOT / "scripts" / "references.json").read_text(encoding="utf-8"))
    assert reference_data.TEMPERATURE_CSV in [entry["path"] for entry in listed["files"]]


def test_the_environment_variable_comes_first_and_a_relative_one_is_taken_from_the_project_root(monkeypatch, tmp_path):
    monkeypatch.setenv(REFERENCE_DIR_ENV, str(tmp_path))
    assert reference_dir() == (tmp_path, f"${REFERENCE_DIR_ENV}")
    monkeypatch.setenv(REFERENCE_DIR_ENV, "some/where")
    assert reference_path("a/b.csv") == PROJECT_ROOT / "some" / "where" / "a" / "b.csv"


def test_then_shared_reference_next_to_the_project_then_the_projects_own_folder(monkeypatch, tmp_path):
    monkeypatch.delenv(REFERENCE_DIR_ENV, raising=False)
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.setattr(reference_data, "PROJECT_ROOT", project)
    assert reference_dir()[0] == project / ".reference"
    (tmp_path / "shared" / "reference").mkdir(parents=True)
    assert reference_dir()[0] == tmp_path / "shared" / "reference"


def test_a_missing_oracle_skips_naming_it_or_fails_when_references_are_required(monkeypatch, tmp_path):
    monkeypatch.setenv(REFERENCE_DIR_ENV, str(tmp_path))
    monkeypatch.delenv(REQUIRE_REFERENCES_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"^oracle missing: x/y\.csv \(looked in .*npm run fetch-references"):
        require_reference("x/y.csv")
    monkeypatch.setenv(REQUIRE_REFERENCES_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match=rf"reference data missing: x/y\.csv \(looked in {tmp_path}"):
        require_reference("x/y.csv")
    Path(tmp_path, "x").mkdir()
    Path(tmp_path, "x", "y.csv").write_text("a,b\n")
    require_reference("x/y.csv")
