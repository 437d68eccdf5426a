"""``comptoir sim``: a long-running simulator in its own process, driven from the command line,
seen by an independent PC/SC client (OpenSC's opensc-tool) through the printed environment."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.pcsc

ROOT = Path(__file__).resolve().parent.parent
CARDS = ROOT / "drivers/sim/cards"
COMPTOIR = [sys.executable, "-c", "from hostd.cli import main; main()"]


def comptoir(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [*COMPTOIR, *args], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture
def sim_dir() -> Iterator[Path]:
    # Short path: it holds unix sockets (107-byte limit).
    with tempfile.TemporaryDirectory(prefix="comptoir-sim-") as tmp:
        directory = Path(tmp)
        proc = subprocess.Popen(
            [
                *(*COMPTOIR, "sim", "run", "--dir", str(directory), "--readers", "1"),
                *("--timing", "zero", "--insert", f"0={CARDS / 'cps-titulaire-lefevre.toml'}"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=ROOT,
        )
        try:
            deadline = time.monotonic() + 30
            while not (directory / "sim.sock").exists():
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                assert time.monotonic() < deadline, "simulator did not start"
                time.sleep(0.05)
            yield directory
        finally:
            if proc.poll() is None:
                comptoir("sim", "stop", "--dir", str(directory), check=False)
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)


def opensc_readers(directory: Path) -> str:
    line = comptoir("sim", "env", "--dir", str(directory)).stdout.strip()
    name, _, value = line.removeprefix("export ").partition("=")
    assert name == "PCSCLITE_CSOCK_NAME"
    env = {**os.environ, name: value}
    return subprocess.run(
        ["opensc-tool", "--list-readers"], env=env, capture_output=True, text=True, timeout=30
    ).stdout


def test_insert_remove_and_status_seen_by_another_pcsc_client(sim_dir: Path) -> None:
    listing = opensc_readers(sim_dir)
    assert "Comptoir sim 0 00 00" in listing and "Comptoir sim 0 00 01" in listing

    status = comptoir("sim", "status", "--dir", str(sim_dir)).stdout
    assert "cps-titulaire-lefevre.toml" in status

    vitale = CARDS / "vitale-famille-martin.toml"
    out = comptoir("sim", "insert", "--dir", str(sim_dir), "--slot", "1", str(vitale)).stdout
    assert "Comptoir sim 0 00 01" in out
    rows = [r for r in opensc_readers(sim_dir).splitlines() if "Comptoir sim" in r]
    assert all(" Yes " in r for r in rows), rows  # both slots hold a card

    comptoir("sim", "remove", "--dir", str(sim_dir), "--slot", "0")
    rows = [r for r in opensc_readers(sim_dir).splitlines() if "Comptoir sim 0 00 00" in r]
    assert " No " in rows[0], rows


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("comptoir sim: "), result.stderr
    return lines[0]


def test_bad_requests_get_clear_errors(sim_dir: Path, tmp_path: Path) -> None:
    bad_slot = comptoir("sim", "remove", "--dir", str(sim_dir), "--slot", "7", check=False)
    assert "slot must be 0..1" in one_error_line(bad_slot)
    missing = comptoir(
        "sim", "insert", "--dir", str(sim_dir), "--slot", "1", "/nonexistent.toml", check=False
    )
    assert "nonexistent.toml: cannot read" in one_error_line(missing)
    bad_card = tmp_path / "bad-card.toml"
    bad_card.write_text('kind = "cps"\natr = "3B0"\n', encoding="utf-8")
    broken = comptoir("sim", "insert", "--dir", str(sim_dir), "--slot", "1", str(bad_card),
                      check=False)  # fmt: skip
    assert "bad-card.toml: atr: must be hex bytes" in one_error_line(broken)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--timing", "fast"], "--timing wants realistic, zero or a scale factor, got 'fast'"),
        (["--timing", "500"], "--timing scale factor must be between 0 and 100"),
        (["--insert", "zero"], "--insert wants SLOT=CARD_FILE, got 'zero'"),
        (["--insert", "0=BAD"], "bad-card.toml: kind: must be one of cps, vitale"),
    ],
)
def test_run_errors_are_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    bad_card = tmp_path / "bad-card.toml"
    bad_card.write_text('kind = "cpx"\n', encoding="utf-8")
    args = [a.replace("BAD", str(bad_card)) for a in args]
    with tempfile.TemporaryDirectory(prefix="comptoir-sim-") as tmp:
        result = comptoir("sim", "run", "--dir", tmp, "--readers", "1", *args, check=False)
        assert message in one_error_line(result)
        # The failed start leaves no simulator behind.
        assert "no simulator running" in one_error_line(
            comptoir("sim", "status", "--dir", tmp, check=False)
        )


def test_no_simulator_is_a_clear_error(tmp_path: Path) -> None:
    result = comptoir("sim", "status", "--dir", str(tmp_path), check=False)
    assert "no simulator running" in one_error_line(result)
