#!/usr/bin/env bash
# Builds (or reuses) the box image and boots it under QEMU with swtpm as its TPM, then checks it
# from outside as a counter PC would (tests/image_boot.py). Not part of ./test.sh: on machines
# whose /dev/kvm cannot run an ordinary guest (kvm-pvm) it runs under TCG and takes ~40 minutes,
# beyond the suite's 15-minute budget. COMPTOIR_VM_ACCEL=kvm uses KVM where it works.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
apt_install "${APT_RUNTIME[@]}" "${APT_TEST[@]}" "${APT_IMAGE[@]}"
setup_venv
exec .venv/bin/pytest tests/image_boot.py -s "$@"
