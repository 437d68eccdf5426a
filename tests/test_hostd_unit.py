"""The systemd unit is hardened: systemd's own offline analysis rates its exposure."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from tests.card_support import require_installed

UNIT = Path(__file__).resolve().parent.parent / "images" / "systemd" / "comptoir.service"


def test_unit_exposure_is_low() -> None:
    require_installed(shutil.which("systemd-analyze") is not None, "systemd-analyze (systemd)")
    done = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", "--threshold=20", str(UNIT)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    level = re.search(r"Overall exposure level for comptoir.service: ([0-9.]+)", done.stdout)
    assert level, done.stdout + done.stderr
    assert float(level.group(1)) <= 2.0
    assert done.returncode == 0


def test_unit_keeps_the_essentials() -> None:
    text = UNIT.read_text()
    for line in (
        "ProtectSystem=strict",
        "PrivateTmp=true",
        "NoNewPrivileges=true",
        "CapabilityBoundingSet=\n",
        "SystemCallFilter=@system-service",
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
        "ReadWritePaths=/var/lib/comptoir",
        "User=comptoir",
    ):
        assert line in text, line
