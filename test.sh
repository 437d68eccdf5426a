#!/usr/bin/env bash
# Installs everything the tests need, then runs every check: ruff, mypy, the MicroPython tests,
# pytest, and the box image's boot test (tests/image_boot.py: the image built or reused, booted in
# QEMU with swtpm as its TPM, checked from outside).
#
# The boot test runs beside the rest, niced: without usable KVM, QEMU emulates the CPU and the
# VM needs ~8 minutes of its own (~550 CPU-seconds); the pytest suite leaves about a core and a
# third idle on a 2-core machine, waiting on simulated cards and servers, and the VM takes it.
# Its output is printed when it ends; either failing fails the run. Arguments go to both pytest
# runs (e.g. `./test.sh --collect-only -q` only collects).
set -euo pipefail
cd "$(dirname "$0")"
source scripts/setup.sh
apt_install "${APT_RUNTIME[@]}" "${APT_TEST[@]}" "${APT_IMAGE[@]}"
setup_venv
setup_npm
setup_client_tools

PY=.venv/bin
BOOT_LOG="$(mktemp -t comptoir-image-boot.XXXXXX.log)"
echo "== image boot test: started in the background (log: $BOOT_LOG)"
# Its own session, so an interrupted run stops it (and the VM it started) as a whole.
setsid --wait nice -n 10 "$PY/pytest" tests/image_boot.py -s -p no:cacheprovider "$@" \
  >"$BOOT_LOG" 2>&1 &
BOOT_PID=$!
stop_boot_test() { kill -TERM -- "-$BOOT_PID" 2>/dev/null || true; }
trap stop_boot_test EXIT

echo "== ruff";  "$PY/ruff" check .
echo "== mypy";  "$PY/mypy"
if [[ -f tests/mpy/run.mjs ]]; then
  echo "== MicroPython (WebAssembly, Node)"; node tests/mpy/run.mjs
fi
echo "== pytest"
suite=0
"$PY/pytest" "$@" || suite=$?

echo "== image boot test (waiting for it to end)"
boot=0
wait "$BOOT_PID" || boot=$?
trap - EXIT
cat "$BOOT_LOG"
# 5 = no test selected: only when arguments chose tests elsewhere (e.g. -k).
if (( boot == 5 && $# > 0 )); then boot=0; fi
if (( suite != 0 || boot != 0 )); then
  echo "FAILED: pytest exit $suite, image boot test exit $boot" >&2
  exit 1
fi
