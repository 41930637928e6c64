#!/usr/bin/env bash
# Runs Python with the scoring module's packages: scoring/.venv's interpreter (made by `npm test`) if it is
# there, else python3. Usage: bash scripts/python.sh scoring/runtime/bench.py [args...]
set -euo pipefail
venv="$(cd "$(dirname "$0")/.." && pwd)/scoring/.venv"
if [ -x "$venv/bin/python" ]; then exec "$venv/bin/python" "$@"; fi
exec python3 "$@"
