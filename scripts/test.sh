#!/usr/bin/env bash
# `npm test`: type-check, the mocha suites and the scoring module's pytest suite, then one summary line
# "N passed, N failed" summed over all of them. Exits non-zero if anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
passed=0
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

count() { grep -Eo "[0-9]+ $1" "$log" | tail -n 1 | grep -Eo '^[0-9]+' || echo 0; }

echo "== typecheck (tsc --noEmit)"
if npx --no-install tsc --noEmit -p .; then passed=$((passed + 1)); echo "typecheck passed"; else failed=$((failed + 1)); fi

echo "== mocha"
npx --no-install mocha 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
passed=$((passed + $(count passing)))
failed=$((failed + $(count failing)))
if [ "$status" -ne 0 ] && [ "$(count failing)" = 0 ]; then failed=$((failed + 1)); fi

if [ -d scoring/tests ]; then
    echo "== pytest (scoring/)"
    # The scoring tests need scikit-learn and friends; install the pinned set once if they are missing.
    if ! python3 -c "import pytest, sklearn, pandas" 2>/dev/null; then
        python3 -m pip install -q -r scoring/requirements-dev.txt || failed=$((failed + 1))
    fi
    python3 -m pytest scoring/tests -q -p no:cacheprovider 2>&1 | tee "$log"
    status=${PIPESTATUS[0]}
    passed=$((passed + $(count passed)))
    failed=$((failed + $(count failed) + $(count error)))
    if [ "$status" -ne 0 ] && [ "$(count failed)" = 0 ] && [ "$(count error)" = 0 ]; then failed=$((failed + 1)); fi
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
