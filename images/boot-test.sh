#!/usr/bin/env bash
# Builds (or reuses) the box image and boots it under QEMU with swtpm as its TPM, then checks it
# from outside as a counter PC would (tests/image_boot.py). Not part of ./test.sh: on machines
# whose /dev/kvm cannot run an ordinary guest (kvm-pvm) it runs under TCG and a warm run takes
# 20-25 minutes on a loaded 2-core machine, beyond the suite's 15-minute budget.
# COMPTOIR_VM_ACCEL=kvm uses KVM where it works; COMPTOIR_VM_FIRMWARE=uefi boots through OVMF
# and systemd-boot as a box does (default: the image's kernel started directly).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
apt_install "${APT_RUNTIME[@]}" "${APT_TEST[@]}" "${APT_IMAGE[@]}"
setup_venv
exec .venv/bin/pytest tests/image_boot.py -s "$@"
