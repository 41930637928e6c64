#!/usr/bin/env bash
# `npm test`: type-check, Prettier's check, ESLint, the mocha suites and the scoring folder's pytest suites (the
# runtime's and every example's, as scoring/pytest.ini collects them), then one summary line "N passed, N failed,
# N skipped" summed over all of them. Exits non-zero if anything failed.
# Skipped tests are those whose oracle (reference data, offline/reference-data.ts) is missing: the line before the
# summary names the missing files. With EDGEML_REQUIRE_REFERENCES=1 (CI) they fail instead.
# The pytest suites run in their own virtual environment, scoring/.venv, made here when missing and remade when the
# scoring requirements change (nothing is installed into the system's python3, which Debian refuses: PEP 668). It is
# made before mocha, whose stack tests need the examples' trained models (train_missing_models below).
set -uo pipefail
cd "$(dirname "$0")/.."
passed=0
failed=0
skipped=0
# The reference files the skipped tests named ("oracle missing: <file>, <file>" in mocha's titles and pytest's reasons).
missing_oracles=""
log=$(mktemp)
trap 'rm -f "$log"' EXIT

count() { grep -Eo "[0-9]+ $1" "$log" | tail -n 1 | grep -Eo '^[0-9]+' || echo 0; }
oracles_named() { grep -Eo 'oracle missing: [^]()]+' "$log" | sed -E 's/^oracle missing: //; s/ +$//' | tr -s ',' '\n' | sed -E 's/^ +//'; }

# One counted step: 1 passed or 1 failed.
step() {
    local name=$1
    shift
    echo "== $name"
    if "$@"; then
        passed=$((passed + 1))
        echo "$name passed"
    else
        failed=$((failed + 1))
        echo "$name failed"
    fi
}

step "typecheck (tsc --noEmit)" npx --no-install tsc --noEmit -p .
step "format:check (prettier --check .)" npx --no-install prettier --check .
step "lint (eslint .)" npx --no-install eslint .

VENV=scoring/.venv
STAMP=$VENV/.requirements.sha256

# The hash of the scoring requirements: requirements-dev.txt and the files it includes (-r requirements-train.txt).
requirements_sha256() { cat scoring/requirements-*.txt | sha256sum | cut -d ' ' -f 1; }

# Makes scoring/.venv if it is missing, broken or older than the requirements; prints why and fails if it cannot.
scoring_venv() {
    local want
    want=$(requirements_sha256)
    if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "" 2>/dev/null && [ "$(cat "$STAMP" 2>/dev/null)" = "$want" ]; then
        return 0
    fi
    if ! command -v python3 >/dev/null; then
        echo "python3 not found: install Python 3.11 (apt-get install python3 python3-venv) to run the scoring tests"
        return 1
    fi
    # Debian's python3 has venv but not ensurepip without python3-venv, and `python3 -m venv` then fails halfway.
    if ! python3 -c "import venv, ensurepip" 2>/dev/null; then
        echo "python3 cannot make virtual environments (no venv/ensurepip module): apt-get install python3-venv"
        return 1
    fi
    local started=$SECONDS
    echo "making $VENV ($(python3 --version 2>&1)) and installing scoring/requirements-dev.txt"
    rm -rf "$VENV"
    # --retries 0: an index that cannot be reached (the default one, offline) fails at once instead of backing off
    # five times per package; pip's own configuration names the indexes to use.
    if python3 -m venv "$VENV" &&
        "$VENV/bin/python" -m pip install --quiet --retries 0 --disable-pip-version-check -r scoring/requirements-dev.txt; then
        echo "$want" >"$STAMP"
        echo "$VENV ready in $((SECONDS - started)) s"
        return 0
    fi
    rm -rf "$VENV"
    echo "could not make $VENV: see pip's message above"
    return 1
}

# Whether the example in folder $1 has a model: a file in its model/ folder, where its train.py writes by default.
has_model() { [ -n "$(find "$1/model" -type f -print -quit 2>/dev/null)" ]; }

# Trains the examples whose model is missing. The rule: for each scoring/examples/<name>/train.py, when
# scoring/examples/<name>/model/ holds no file, that train.py runs with the venv's python and no arguments (it writes
# its default, model/<file>); an example whose model/ holds a file (committed, or trained before) is left as it is.
# Trained models are gitignored, and mocha's stack tests plan every Pulumi.<stack>.yaml, whose modelPath must exist.
# A training that fails, or writes no file to model/, counts as one failure.
train_missing_models() {
    local train example
    for train in scoring/examples/*/train.py; do
        [ -f "$train" ] || continue
        example=$(dirname "$train")
        has_model "$example" && continue
        echo "== train $example (its model/ holds no file)"
        if ! "$VENV/bin/python" "$train"; then
            failed=$((failed + 1))
            echo "training $example failed: $train exited non-zero (see above); the stack deploying it and its tests need its model"
        elif ! has_model "$example"; then
            failed=$((failed + 1))
            echo "training $example failed: $train exited 0 but wrote no file to $example/model/"
        fi
    done
}

# The venv first: the examples' models are trained with it before mocha plans their stacks.
echo "== scoring/.venv"
venv_ready=0
if scoring_venv; then
    venv_ready=1
    train_missing_models
else
    failed=$((failed + 1))
    echo "without $VENV the examples whose model is missing are not trained and the pytest suites do not run"
fi

echo "== mocha"
npx --no-install mocha 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
passed=$((passed + $(count passing)))
failed=$((failed + $(count failing)))
skipped=$((skipped + $(count pending)))
missing_oracles+=$(oracles_named)$'\n'
if [ "$status" -ne 0 ] && [ "$(count failing)" = 0 ]; then failed=$((failed + 1)); fi

# The pytest suites, in one run over scoring/ (its pytest.ini's testpaths: runtime/tests and examples/, where each
# example keeps its tests in tests/): skipped only in a tree that has none of them.
if [ -d scoring/runtime/tests ] || compgen -G "scoring/examples/*/tests" >/dev/null; then
    echo "== pytest (scoring/: runtime/tests, examples/*/tests)"
    if [ "$venv_ready" = 1 ]; then
        "$VENV/bin/python" -m pytest scoring -q -p no:cacheprovider 2>&1 | tee "$log"
        status=${PIPESTATUS[0]}
        passed=$((passed + $(count passed)))
        failed=$((failed + $(count failed) + $(count error)))
        skipped=$((skipped + $(count skipped)))
        missing_oracles+=$(oracles_named)$'\n'
        if [ "$status" -ne 0 ] && [ "$(count failed)" = 0 ] && [ "$(count error)" = 0 ]; then failed=$((failed + 1)); fi
    fi
fi

# Each name once, and a file left out when its whole folder ("azure-types/") is named.
missing_oracles=$(printf '%s' "$missing_oracles" | sed '/^$/d' | sort -u | awk '
    { names[NR] = $0 }
    END {
        for (i = 1; i <= NR; i++) {
            covered = 0
            for (j = 1; j <= NR; j++) if (j != i && names[j] ~ /\/$/ && index(names[i], names[j]) == 1) covered = 1
            if (!covered) print names[i]
        }
    }' | paste -sd ',' - | sed 's/,/, /g')
if [ -n "$missing_oracles" ]; then
    echo "skipped for want of reference data (get it with \`npm run fetch-references\`): $missing_oracles"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
