"""The private pcscd itself: isolation, start/stop, and no pcscd outliving its owner."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from drivers.sim.pcscd import PcscdError, PrivatePcscd, pick_channels
from tests.rig import PcscRig

pytestmark = pytest.mark.pcsc


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0): look at its state.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_pcscd_dies_with_its_owner_process(tmp_path: Path) -> None:
    owner = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from drivers.sim.pcscd import PrivatePcscd
        p = PrivatePcscd(Path({str(tmp_path)!r}) / "p", 1)
        p.start()
        print(p.pid, flush=True)
        time.sleep(60)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", owner],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parent.parent,
    )
    try:
        assert proc.stdout is not None
        pid = int(proc.stdout.readline())
        assert _alive(pid)
    finally:
        proc.send_signal(signal.SIGKILL)  # no cleanup code runs in the owner
        proc.wait(10)
    deadline = time.monotonic() + 5
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(pid), "pcscd outlived the process that started it"


def test_stop_and_kill_end_pcscd(pcsc_rig: PcscRig) -> None:
    pid = pcsc_rig.pcscd.pid
    assert pid is not None and _alive(pid)
    pcsc_rig.kill_pcscd()
    assert not _alive(pid)
    assert not pcsc_rig.pcscd.running
    pcsc_rig.start()
    pid = pcsc_rig.pcscd.pid
    assert pid is not None
    pcsc_rig.stop_pcscd()
    assert not _alive(pid)
    assert not pcsc_rig.pcscd.socket_path.exists()


def test_private_socket_is_where_clients_look(pcsc_rig: PcscRig) -> None:
    assert os.environ["PCSCLITE_CSOCK_NAME"] == str(pcsc_rig.pcscd.socket_path)
    assert pcsc_rig.pcscd.client_env() == {"PCSCLITE_CSOCK_NAME": str(pcsc_rig.pcscd.socket_path)}


def test_one_private_pcscd_per_process(pcsc_rig: PcscRig, tmp_path: Path) -> None:
    other = PrivatePcscd(tmp_path / "other", 1)
    try:
        with pytest.raises(PcscdError, match="once per process"):
            other.use_in_this_process()
    finally:
        other.close()


def test_channels_are_free_and_paired() -> None:
    channels = pick_channels(3)
    assert len(channels) == 3
    assert all(c % 2 == 0 for c in channels)
    assert [b - a for a, b in itertools.pairwise(channels)] == [2, 2]


def test_too_long_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PcscdError, match="too long"):
        PrivatePcscd(tmp_path / ("x" * 120), 1)
