"""``comptoir terminal`` as a technician uses it, against the simulated terminal on a pty."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import serial

from drivers.sim.terminal import SimulatedTerminal
from drivers.terminal import TerminalKeyStore


def comptoir(*args: str, state: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hostd.cli", "terminal", *args, "--state-dir", str(state)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[SimulatedTerminal]:
    term = SimulatedTerminal(tmp_path / "ttyTERM0")
    term.plug()
    yield term
    term.unplug()


def test_pair_list_rename_unpair(tmp_path: Path, terminal: SimulatedTerminal) -> None:
    glob = str(tmp_path / "ttyTERM*")
    listed = comptoir("list", "--port", glob, "--wait", "5", state=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert f"{terminal.serial}  NOT PAIRED" in listed.stdout

    def technician() -> None:
        terminal.wait_for(lambda: terminal.screen[0].startswith("Appairage "), 30)
        terminal.press("#")

    threading.Thread(target=technician, daemon=True).start()
    paired = comptoir("pair", "--port", glob, "--name", "Comptoir 1", state=tmp_path)
    assert paired.returncode == 0, paired.stderr
    shown = next(s[0] for s in terminal.screens if s[0].startswith("Appairage ")).split()[1]
    assert f"Code {shown[:3]} {shown[3:]}" in paired.stdout  # the same code on both screens
    assert f"paired terminal {terminal.serial} (Comptoir 1)" in paired.stdout
    keys = TerminalKeyStore(tmp_path / "terminals.json")
    assert keys.key(terminal.serial) == terminal.key
    assert oct((tmp_path / "terminals.json").stat().st_mode & 0o777) == "0o600"

    listed = comptoir("list", "--port", glob, "--wait", "5", state=tmp_path)
    assert f"{terminal.serial}  paired      Comptoir 1" in listed.stdout
    assert "firmware 0.2.0" in listed.stdout

    assert comptoir("rename", terminal.serial, "Comptoir 2", state=tmp_path).returncode == 0
    assert keys.entries() == {terminal.serial: "Comptoir 2"}
    assert comptoir("unpair", terminal.serial, state=tmp_path).returncode == 0
    assert keys.entries() == {}


def test_refused_pairing_and_errors_are_one_line(
    tmp_path: Path, terminal: SimulatedTerminal
) -> None:
    glob = str(tmp_path / "ttyTERM*")

    def technician() -> None:
        terminal.wait_for(lambda: terminal.screen[0].startswith("Appairage "), 30)
        terminal.press("D")

    threading.Thread(target=technician, daemon=True).start()
    refused = comptoir("pair", "--port", glob, state=tmp_path)
    assert refused.returncode == 1
    assert refused.stderr.strip() == "error: not paired: rejected on the terminal"
    assert TerminalKeyStore(tmp_path / "terminals.json").entries() == {}
    for args, message in (
        (("unpair", "NOPE"), "error: terminal NOPE is not paired"),
        (("rename", "NOPE", "x"), "error: terminal NOPE is not paired"),
        (
            ("pair", "--port", str(tmp_path / "nothing*")),
            "error: no terminal answers on the ports (is it plugged in and flashed?)",
        ),
    ):
        done = comptoir(*args, state=tmp_path)
        assert done.returncode == 1
        assert done.stderr.strip() == message
    with serial.Serial(str(terminal.link_path), exclusive=True):  # the daemon holds the port
        busy = comptoir("pair", "--port", glob, state=tmp_path)
    assert busy.returncode == 1
    assert busy.stderr.strip() == (
        f"error: {terminal.link_path} is held by another program (stop the daemon while pairing)"
    )
    missing = comptoir("unpair", "X", state=tmp_path / "absent")
    assert missing.stderr.strip() == f"error: state directory {tmp_path / 'absent'} does not exist"
