"""A serial QR scanner (USB CDC-ACM or RS-232) bound to one counter, through pyserial.

One thread per scanner reads whatever arrives, cuts it into codes with the configured
:class:`~drivers.scan.framing.Framing` and hands each item to a callback. When the scanner is
unplugged the port raises; the thread reports ``disconnected``, reports the partial code it
held (``cut``), and tries to open the same path again (a scanner comes back under the same
``/dev/serial/by-id/…`` name) with a bounded back-off until it is stopped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import serial

from drivers.scan.framing import Assembler, Framing, Item

log = logging.getLogger(__name__)

READ_TIMEOUT_S = 0.1
RETRY_MIN_S = 0.1
RETRY_MAX_S = 2.0


@dataclass(frozen=True)
class ScannerSpec:
    """One configured scanner: where it is, which counter it serves, how it frames codes."""

    name: str
    port: str  # device path (/dev/serial/by-id/...) or a pyserial URL
    counter: str
    framing: Framing = field(default_factory=Framing)
    baudrate: int = 9600


@dataclass(frozen=True)
class ScannerStatus:
    scanner: str
    counter: str
    state: str  # connected | disconnected
    detail: str = ""


OnItem = Callable[[ScannerSpec, Item], None]
OnStatus = Callable[[ScannerStatus], None]


class SerialScanner:
    """Reads one scanner on its own thread until :meth:`stop`."""

    def __init__(
        self, spec: ScannerSpec, on_item: OnItem, on_status: OnStatus | None = None
    ) -> None:
        self.spec = spec
        self._on_item = on_item
        self._on_status = on_status or (lambda _s: None)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"scanner-{spec.name}", daemon=True)
        self.connected = threading.Event()

    def start(self) -> SerialScanner:
        self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _status(self, state: str, detail: str = "") -> None:
        self._on_status(ScannerStatus(self.spec.name, self.spec.counter, state, detail))

    def _emit(self, items: list[Item]) -> None:
        for item in items:
            try:
                self._on_item(self.spec, item)
            except Exception:  # a consumer bug must not kill the scanner thread
                log.exception("scan consumer failed for scanner %s", self.spec.name)

    def _run(self) -> None:
        delay = RETRY_MIN_S
        was_connected = False
        while not self._stop.is_set():
            try:
                port = serial.serial_for_url(
                    self.spec.port, baudrate=self.spec.baudrate, timeout=READ_TIMEOUT_S
                )
            except (serial.SerialException, OSError, ValueError) as exc:
                if was_connected:
                    self._status("disconnected", str(exc).splitlines()[0][:120])
                    was_connected = False
                self._stop.wait(delay)
                delay = min(delay * 2, RETRY_MAX_S)
                continue
            delay = RETRY_MIN_S
            was_connected = True
            self.connected.set()
            self._status("connected")
            assembler = Assembler(self.spec.framing)
            try:
                self._read(port, assembler)
            except (serial.SerialException, OSError) as exc:
                self._emit(assembler.flush())
                self.connected.clear()
                self._status("disconnected", str(exc).splitlines()[0][:120])
                was_connected = False
            finally:
                port.close()
        self.connected.clear()

    def _read(self, port: serial.Serial, assembler: Assembler) -> None:
        while not self._stop.is_set():
            data = port.read(max(1, port.in_waiting))
            if data:
                self._emit(assembler.feed(data))


def wait_until(predicate: Callable[[], bool], timeout: float) -> bool:
    """Polls ``predicate`` for at most ``timeout`` seconds (tests and the demo)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()
