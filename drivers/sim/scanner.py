"""A simulated serial QR scanner on a pseudo-terminal (tests, demo, technician training).

The box opens the scanner through pyserial exactly as it opens a real one; the simulator
holds the pty's master side and "scans" by writing the framed code into it. The configured
path is a symlink (like ``/dev/serial/by-id/…`` for a real scanner): unplugging closes the pty
and removes the link, plugging in again makes a new pty behind the same link.
"""

from __future__ import annotations

import os
import time
import tty
from pathlib import Path


class PtyScanner:
    """One simulated scanner whose device path is ``link``."""

    def __init__(self, link: Path, *, prefix: bytes = b"", suffix: bytes = b"\r") -> None:
        self.link = link
        self.prefix = prefix
        self.suffix = suffix
        self._master: int | None = None
        self._slave: int | None = None

    def plug(self) -> PtyScanner:
        if self._master is not None:
            return self
        master, slave = os.openpty()
        # Raw mode: no echo back into the master, no CR/LF translation — like a USB CDC port.
        tty.setraw(slave)
        self._master, self._slave = master, slave
        tmp = self.link.with_name(self.link.name + ".new")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(os.ttyname(slave))
        tmp.replace(self.link)
        return self

    def unplug(self) -> None:
        self.link.unlink(missing_ok=True)
        for fd in (self._master, self._slave):
            if fd is not None:
                os.close(fd)
        self._master = self._slave = None

    @property
    def plugged(self) -> bool:
        return self._master is not None

    def write(self, data: bytes) -> None:
        """Raw bytes, as the scanner's UART would send them."""
        if self._master is None:
            raise OSError("the simulated scanner is unplugged")
        view = memoryview(data)
        while view:
            view = view[os.write(self._master, view) :]

    def scan(self, text: str, *, chunks: int = 1, gap_s: float = 0.0) -> None:
        """Sends one framed code, optionally split into ``chunks`` writes ``gap_s`` apart."""
        frame = self.prefix + text.encode("utf-8") + self.suffix
        step = max(1, -(-len(frame) // max(1, chunks)))
        for at in range(0, len(frame), step):
            self.write(frame[at : at + step])
            if gap_s:
                time.sleep(gap_s)

    def __enter__(self) -> PtyScanner:
        return self.plug()

    def __exit__(self, *_exc: object) -> None:
        self.unplug()
