#!/usr/bin/env bash
# Builds (or reuses) the box image and boots it under QEMU with swtpm as its TPM, then checks it
# from outside as a counter PC would (tests/image_boot.py), alone: ./test.sh also runs it, beside
# the rest of the suite. Without usable KVM (kvm-pvm) QEMU emulates the CPU (TCG): about 8 minutes
# on a quiet 2-core machine, 20-25 when the machine is loaded.
# COMPTOIR_VM_ACCEL=kvm uses KVM where it works; COMPTOIR_VM_FIRMWARE=uefi boots through OVMF
# and systemd-boot as a box does (default: the image's kernel started directly).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
apt_install "${APT_RUNTIME[@]}" "${APT_TEST[@]}" "${APT_IMAGE[@]}"
setup_venv
exec .venv/bin/pytest tests/image_boot.py -s "$@"
