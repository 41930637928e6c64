"""The image and environment files, checked by parsing them; `npm run test:image` builds and runs the image."""

import ast
import fnmatch
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import conda_pip_requirements
import score

SCORING_DIR = Path(__file__).resolve().parent.parent
PINNED = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*==[0-9][A-Za-z0-9.+!-]*$")


def dockerfile_instructions():
    """[(INSTRUCTION, arguments)] with line continuations joined and comments dropped."""
    logical, pending = [], ""
    for line in (SCORING_DIR / "Dockerfile").read_text().splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    return [(text.split(None, 1)[0].upper(), text.split(None, 1)[1].strip()) for text in logical]


def final_stage():
    instructions = dockerfile_instructions()
    last_from = max(i for i, (name, _) in enumerate(instructions) if name == "FROM")
    return instructions[last_from + 1:]


def arguments(instructions, name):
    return [args for instruction, args in instructions if instruction == name]


def copied_sources(instructions):
    """Build-context paths of COPY instructions (not --from copies)."""
    return [source for args in arguments(instructions, "COPY") if not args.startswith("--from")
            for source in args.split()[:-1]]


def local_imports(module_file):
    tree = ast.parse(module_file.read_text())
    names = {alias.name.split(".")[0]
             for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    names |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    return {name for name in names if (SCORING_DIR / f"{name}.py").is_file()}


def image_modules():
    """main.py and every local module it imports, directly or not."""
    modules, pending = set(), ["main"]
    while pending:
        name = pending.pop()
        if name not in modules:
            modules.add(name)
            pending.extend(local_imports(SCORING_DIR / f"{name}.py"))
    return modules


def test_dockerfile_is_multi_stage_on_a_configurable_base():
    instructions = dockerfile_instructions()
    first_from = next(i for i, (name, _) in enumerate(instructions) if name == "FROM")
    global_args = arguments(instructions[:first_from], "ARG")
    froms = arguments(instructions, "FROM")

    assert "BASE_IMAGE=python:3.11-slim" in global_args
    assert len(froms) >= 2
    assert all(f.startswith("${BASE_IMAGE}") for f in froms)


def test_dockerfile_builds_offline_with_the_classic_builder_and_buildkit():
    # `# syntax=` makes BuildKit pull a frontend image; the classic builder sets no TARGETPLATFORM or
    # BUILDPLATFORM, so `FROM --platform=$TARGETPLATFORM` fails there with '"" is an invalid component'.
    text = (SCORING_DIR / "Dockerfile").read_text()
    assert not re.search(r"^#\s*syntax\s*=", text, re.IGNORECASE | re.MULTILINE)
    assert not any("--platform" in args for args in arguments(dockerfile_instructions(), "FROM"))


def test_final_stage_runs_the_entry_point_as_a_non_root_user_on_port_5001():
    stage = final_stage()
    users = arguments(stage, "USER")

    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert arguments(stage, "EXPOSE") == ["5001"]
    assert arguments(stage, "CMD") == ['["python", "main.py"]']
    assert arguments(stage, "HEALTHCHECK")


def test_image_records_the_registered_model_it_carries():
    stage = final_stage()
    args = [arg.split("=")[0] for arg in arguments(stage, "ARG")]
    labels = " ".join(arguments(stage, "LABEL"))
    env = " ".join(arguments(stage, "ENV"))

    for name in ("MODEL_NAME", "MODEL_VERSION"):
        assert name in args
        assert f'"${{{name}}}"' in labels
        assert f"{name}=${{{name}}}" in env


def test_image_copies_the_model_and_every_module_the_entry_point_needs():
    sources = copied_sources(final_stage())
    assert "model/model.json" in sources
    assert {f"{module}.py" for module in image_modules()} <= set(sources)


def test_builder_installs_the_pip_section_of_myenv_yml():
    instructions = dockerfile_instructions()
    last_from = max(i for i, (name, _) in enumerate(instructions) if name == "FROM")
    builder = instructions[:last_from]
    assert {"myenv.yml", "conda_pip_requirements.py"} <= set(copied_sources(builder))
    assert any("conda_pip_requirements.py myenv.yml" in run and re.search(r"\bpip\b.* install -r requirements.txt", run)
               for run in arguments(builder, "RUN"))


def dockerignored(path):
    """Simplified .dockerignore semantics: the last matching pattern wins and a
    pattern matching a directory matches everything below it."""
    patterns = [line.strip() for line in (SCORING_DIR / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    parts = path.split("/")
    ignored = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        pattern = pattern.lstrip("!").strip("/")
        if any(fnmatch.fnmatchcase("/".join(parts[:depth]), pattern) for depth in range(1, len(parts) + 1)):
            ignored = not negated
    return ignored


def test_dockerignore_keeps_tests_benchmarks_and_caches_out_but_not_what_the_image_copies():
    for path in ["tests/test_score.py", "bench.py", "train.py", ".venv/bin/python",
                 "__pycache__/score.cpython-311.pyc", ".pytest_cache/v/cache", "model/__pycache__/x.pyc"]:
        assert dockerignored(path), path
    for source in copied_sources(dockerfile_instructions()):
        assert (SCORING_DIR / source).is_file(), source
        assert not dockerignored(source), source


def test_runtime_modules_import_only_the_standard_library_at_module_level():
    # The image has no scikit-learn/numpy; the IoT Edge SDK is imported lazily.
    for module in image_modules():
        tree = ast.parse((SCORING_DIR / f"{module}.py").read_text())
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module]
                for name in names:
                    top = name.split(".")[0]
                    assert top in sys.stdlib_module_names or top in image_modules(), f"{module}.py imports {name}"


@pytest.fixture(scope="module")
def conda_env():
    return yaml.safe_load((SCORING_DIR / "myenv.yml").read_text())


def test_myenv_yml_pins_every_dependency(conda_env):
    conda_deps = [dep for dep in conda_env["dependencies"] if isinstance(dep, str)]
    [pip_section] = [dep["pip"] for dep in conda_env["dependencies"] if isinstance(dep, dict)]

    for dependency in conda_deps + pip_section:
        assert PINNED.match(dependency), f"not pinned with ==: {dependency}"
    assert {"python", "pip"} <= {dep.split("==")[0] for dep in conda_deps}
    assert "azure-iot-device" in {dep.split("==")[0] for dep in pip_section}


def test_myenv_python_matches_the_image_python(conda_env):
    [python] = [dep.split("==")[1] for dep in conda_env["dependencies"]
                if isinstance(dep, str) and dep.startswith("python==")]
    [base_image] = [arg.split("=", 1)[1] for arg in arguments(dockerfile_instructions(), "ARG")
                    if arg.startswith("BASE_IMAGE=")]
    assert base_image.startswith(f"python:{'.'.join(python.split('.')[:2])}-")


def test_the_image_reads_the_same_pip_pins_as_a_yaml_parser(conda_env):
    [pip_section] = [dep["pip"] for dep in conda_env["dependencies"] if isinstance(dep, dict)]
    text = (SCORING_DIR / "myenv.yml").read_text()
    assert conda_pip_requirements.pip_requirements(text) == pip_section


def test_pins_can_be_left_out_by_name_as_pip_compares_names():
    pins = ["azure-iot-device==2.14.0", "PySocks==1.7.1", "typing_extensions==4.12.2", "idna==3.10"]
    kept, left_out = conda_pip_requirements.without(pins, ["Azure_IoT.Device", "pysocks", "typing-extensions", ""])
    assert kept == ["idna==3.10"]
    assert left_out == ["azure-iot-device==2.14.0", "PySocks==1.7.1", "typing_extensions==4.12.2"]
    assert conda_pip_requirements.without(pins, [""]) == (pins, [])


def test_the_builder_script_omits_named_pins_and_refuses_unknown_names(tmp_path):
    env_file = tmp_path / "env.yml"
    env_file.write_text("dependencies:\n  - pip:\n      - a-b==1.0\n      - c==2.0\n")
    script = [sys.executable, str(SCORING_DIR / "conda_pip_requirements.py"), str(env_file)]
    kept = subprocess.run(script + ["--omit", "A_B"], capture_output=True, text=True, check=True)
    assert kept.stdout.split() == ["c==2.0"]
    assert "a-b==1.0" in kept.stderr
    assert subprocess.run(script + ["--omit", ""], capture_output=True, text=True, check=True).stdout.split() == ["a-b==1.0", "c==2.0"]
    unknown = subprocess.run(script + ["--omit", "d"], capture_output=True, text=True)
    assert unknown.returncode != 0 and "does not pin: d" in unknown.stderr


@pytest.mark.parametrize("file_name", ["requirements-train.txt", "requirements-dev.txt"])
def test_python_requirements_are_pinned(file_name):
    for line in (SCORING_DIR / file_name).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            assert (SCORING_DIR / line[3:].strip()).is_file(), line
        elif line:
            assert PINNED.match(line), f"{file_name}: not pinned with ==: {line}"


def test_the_committed_model_was_trained_with_the_pinned_scikit_learn():
    pins = dict(line.split("==") for line in (SCORING_DIR / "requirements-train.txt").read_text().splitlines()
                if "==" in line and not line.startswith("#"))
    model = json.loads((score.DEFAULT_MODEL_DIR / "model.json").read_text())
    assert model["frameworkVersion"] == pins["scikit-learn"]
