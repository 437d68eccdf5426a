#!/usr/bin/env bash
# Installs what the demo needs, then starts the appliance on simulated readers and cards:
# the card layer, the technician's provisioning, the daemon, and two counters sharing one CPS.
# On a terminal it keeps running until Ctrl-C; otherwise it stops after the tour.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/setup.sh
apt_install "${APT_RUNTIME[@]}"
setup_venv
keep=--no-keep-running
[[ -t 0 && -t 1 ]] && keep=--keep-running
exec .venv/bin/comptoir demo --dir demo-state "$keep" "$@"
