"""SIGTERM and SIGHUP stop long-running commands as Ctrl-C does (issue 11): nothing they
started is left behind (no orphan `comptoir serve`, `sim run` or pcscd)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _processes_mentioning(text: str) -> dict[int, str]:
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().split(") ", 1)[1][0]
        except OSError:
            continue
        if text in cmdline and state != "Z":
            found[int(entry.name)] = cmdline
    return found


def _gone(text: str, timeout_s: float) -> dict[int, str]:
    deadline = time.monotonic() + timeout_s
    while (left := _processes_mentioning(text)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PCSCLITE_CSOCK_NAME"}
    env["COLUMNS"] = "120"
    return env


def test_sigterm_stops_the_demo_and_everything_it_started(tmp_path: Path) -> None:
    directory = tmp_path / "demo"
    proc = subprocess.Popen(
        [sys.executable, "-m", "hostd.cli", "demo", "--keep-running", "--dir", str(directory),
         "--api-port", str(_free_port()), "--enrol-port", str(_free_port())],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO, env=_env(),
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 240
        seen = ""
        while "keeps running" not in seen:
            assert time.monotonic() < deadline and proc.poll() is None, seen[-2000:]
            seen += proc.stdout.readline()
        started = _processes_mentioning(str(directory))
        kinds = " ".join(started.values())
        assert " serve " in kinds and " sim run " in kinds and "pcscd" in kinds, started
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
        left = _gone(str(directory), 20)
        assert not left, left
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_sighup_stops_sim_run_and_its_pcscd(tmp_path: Path) -> None:
    directory = tmp_path / "sim"
    proc = subprocess.Popen(
        [sys.executable, "-m", "hostd.cli", "sim", "run", "--dir", str(directory),
         "--readers", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO, env=_env(),
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        while not (directory / "sim.sock").exists():
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.1)
        assert any("pcscd" in c for c in _processes_mentioning(str(directory)).values())
        proc.send_signal(signal.SIGHUP)
        proc.wait(30)
        left = _gone(str(directory), 20)
        assert not left, left
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
