#!/usr/bin/env bash
# Installs everything the tests need, then runs every check: ruff, mypy, pytest, MicroPython tests.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/setup.sh
apt_install "${APT_RUNTIME[@]}" "${APT_TEST[@]}"
setup_venv
setup_npm

PY=.venv/bin
echo "== ruff";  "$PY/ruff" check .
echo "== mypy";  "$PY/mypy"
if [[ -f tests/mpy/run.mjs ]]; then
  echo "== MicroPython (WebAssembly, Node)"; node tests/mpy/run.mjs
fi
echo "== pytest"; "$PY/pytest" "$@"
