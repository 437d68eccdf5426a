"""Where the box image's boot and its commands spend their time in the boot test's VM.

    .venv/bin/python -m bench.image_boot_phases [--firmware direct|uefi] [--commands]

Builds (or reuses) the image, boots it once exactly as ``tests/image_boot.py`` does (QEMU, swtpm,
restricted user networking, the serial console; ``--firmware uefi`` through OVMF and
systemd-boot as a box boots), and prints: power-on to the console's root shell, systemd's own
split (kernel + initramfs, userspace) and the slowest units, and with ``--commands`` the time of
typical Python starts in the guest, plus how many modules Python had to compile from source
(0 when the image's bytecode is valid: the root is read-only, nothing can be cached there).
Under TCG (no usable KVM) figures are minutes and follow the machine's load: compare runs made
at the same moment. Every wait is bounded; the VM is stopped at the end.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from tests.vm_support import Vm, build_image

SYSTEMD = [
    "systemctl is-system-running --wait >/dev/null; systemd-analyze",
    "systemd-analyze blame --no-pager | head -15",
]
COMMANDS = [
    "time /opt/comptoir/.venv/bin/python -c pass",
    "/opt/comptoir/.venv/bin/python -v -c 'import hostd.cli' 2>&1 | grep -c 'bytecode is stale'",
    "time /opt/comptoir/.venv/bin/python -c 'import hostd.cli'",
    "time /opt/comptoir/.venv/bin/comptoir --help >/dev/null",
    "time comptoir provision status",
    "time /opt/comptoir/.venv/bin/python -c 'import hostd.app'",
    "time /usr/lib/comptoir/comptoir-todo >/dev/null",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--firmware", choices=("direct", "uefi"), default="direct")
    parser.add_argument("--commands", action="store_true", help="also time Python starts")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per step")
    args = parser.parse_args()
    disk, built_s = build_image()
    print(f"image {disk} (build or cache: {built_s:.1f} s)")
    with tempfile.TemporaryDirectory(prefix="comptoir-bench-vm-") as tmp:
        vm = Vm(disk, Path(tmp), firmware=args.firmware)
        vm.prepare()
        try:
            vm.boot()
            assert vm.console is not None
            vm.console.login(timeout_s=args.timeout)
            smp = os.environ.get("COMPTOIR_VM_SMP", "2")
            print(f"[{args.firmware}, {smp} vCPU] power on -> console shell: "
                  f"{time.monotonic() - vm.started_at:.1f} s", flush=True)
            for command in SYSTEMD + (COMMANDS if args.commands else []):
                start = time.monotonic()
                code, out = vm.console.run(command, args.timeout)
                print(f"--- {time.monotonic() - start:.1f} s (exit {code}): {command}\n"
                      f"{out.strip()}", flush=True)
        finally:
            vm.stop()


if __name__ == "__main__":
    main()
