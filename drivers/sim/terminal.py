"""A simulated counter terminal: the real firmware on the real MicroPython interpreter.

``tests/mpy/terminal.mjs`` runs ``appliance/`` on MicroPython's WebAssembly build under Node
with a simulated board whose link UART is the master side of a pty; the box opens the slave
side with pyserial, through a stable symlink (``link_path``) the way udev gives a real
terminal a stable /dev/serial/by-id/ name. This object starts and stops that process, types
on its keypad, feeds its QR scanner, reads its screen and keeps its paired key across
"unplug" and "plug" (a real terminal keeps it in flash).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
import tty
from collections.abc import Callable
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[2]
BRIDGE = ROOT / "tests" / "mpy" / "terminal.mjs"


class SimulatedTerminal:
    def __init__(self, link_path: Path, serial: str = "E66141040317", baud: int = 115200) -> None:
        self.link_path = link_path
        self.serial = serial
        self.baud = baud
        self.key: bytes | None = None
        self.screen: list[str] = ["", ""]
        self.screens: list[list[str]] = []
        self.stats: dict[str, int] = {}
        self.last_press: tuple[str, float] = ("", 0.0)  # key, time.monotonic() it went down
        self.wire_rx: list[bytes] = []  # box -> terminal, while tapped
        self.wire_tx: list[bytes] = []  # terminal -> box, while tapped
        self._proc: subprocess.Popen[str] | None = None
        self._master = -1
        self._slave = -1
        self._cond = threading.Condition()
        self._reader: threading.Thread | None = None

    # -- power and cable ------------------------------------------------------------------

    def plug(self, timeout_s: float = 30.0) -> None:
        """Power the terminal and connect its cable: a new pty, the same link path."""
        node = shutil.which("node")
        if node is None:
            raise RuntimeError("node is not installed (./test.sh installs it)")
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo, no line discipline: a UART carries bytes as they are
        slave_name = os.ttyname(self._slave)
        tmp = self.link_path.with_suffix(".new")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(slave_name)
        os.replace(tmp, self.link_path)
        cmd = [
            node, str(BRIDGE), "--fd", str(self._master), "--serial", self.serial,
            "--seed", os.urandom(32).hex(), "--key", self.key.hex() if self.key else "",
            "--baud", str(self.baud),
        ]
        self._proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True, pass_fds=(self._master,), cwd=str(BRIDGE.parent),
        )
        os.close(self._master)  # the interpreter's process holds it now
        self._master = -1
        self._reader = threading.Thread(target=self._read, args=(self._proc.stdout,), daemon=True)
        self._reader.start()
        self.wait_for(lambda: self.screen[0] != "", timeout_s)

    def unplug(self) -> None:
        """Pull the cable (and the power): the pty goes away with the interpreter."""
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.stdin is not None:
                proc.stdin.close()
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._slave >= 0:
            os.close(self._slave)
            self._slave = -1
        self.link_path.unlink(missing_ok=True)
        if self._reader is not None:
            self._reader.join(timeout=5)

    close = unplug

    def __enter__(self) -> SimulatedTerminal:
        self.plug()
        return self

    def __exit__(self, *exc: object) -> None:
        self.unplug()

    # -- the person in front of it --------------------------------------------------------

    def _command(self, line: str) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        self._proc.stdin.write(line + "\n")
        self._proc.stdin.flush()

    def press(self, keys: str) -> None:
        """Press keys one after the other on the matrix (60 ms held, 60 ms released)."""
        self._command("press " + keys)

    def scan(self, text: str) -> None:
        self._command("scan " + text)

    def mute(self, on: bool) -> None:
        """Cut the cable's conductors without powering off (nothing in, nothing out)."""
        self._command("mute on" if on else "mute off")

    def tap(self, on: bool) -> None:
        """Record every byte on the cable (``wire_rx``, ``wire_tx``), as a probe on the line."""
        self._command("tap on" if on else "tap off")

    def inject_to_box(self, data: bytes) -> None:
        """Bytes on the line towards the box, from a device spliced into the cable."""
        self._command("inject " + data.hex())

    def inject_to_terminal(self, data: bytes) -> None:
        """Bytes on the line towards the terminal (written on the box's side of the pty)."""
        os.write(self._slave, data)

    # -- what it shows --------------------------------------------------------------------

    def _read(self, stream: IO[str] | None) -> None:
        assert stream is not None
        for line in stream:
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            with self._cond:
                if "pressed" in msg:
                    self.last_press = (msg["pressed"], time.monotonic())
                elif "screen" in msg:
                    self.screen = [s.rstrip() for s in msg["screen"]]
                    self.screens.append(self.screen)
                elif "key" in msg:
                    self.key = bytes.fromhex(msg["key"]) if msg["key"] else None
                elif "stats" in msg:
                    self.stats = msg["stats"]
                elif "rx" in msg:
                    self.wire_rx.append(bytes.fromhex(msg["rx"]))
                elif "tx" in msg:
                    self.wire_tx.append(bytes.fromhex(msg["tx"]))
                self._cond.notify_all()

    def wait_for(self, predicate: Callable[[], bool], timeout_s: float = 10.0) -> None:
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"terminal screen stayed {self.screen!r}")
                self._cond.wait(left)

    def wait_screen(self, text: str, timeout_s: float = 10.0) -> list[str]:
        """Wait until ``text`` appears on either line; returns the screen."""
        self.wait_for(lambda: any(text in line for line in self.screen), timeout_s)
        return list(self.screen)
