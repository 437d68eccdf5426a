"""The box's side of the counter terminals: discovery on serial ports, the link, reconnection,
PIN requests, events.

Each port found gets a ``TerminalPort`` thread that opens it with pyserial and runs the shared
``appliance.link.Link`` (the same state machine as the firmware) as the host end. A port that
disappears (the terminal unplugged) ends its thread's session; the port is looked for again
and a new handshake starts when it comes back. Terminals are known by the serial they report
in the handshake, never by the port they happen to be on.

The PIN never leaves this module in any form but a ``bytearray`` handed to the caller, who
wipes it after the card's VERIFY; nothing here logs or formats frame bodies.
"""

from __future__ import annotations

import glob
import json
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import serial
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from appliance import link as L
from appliance import protocol as p

log = logging.getLogger(__name__)

BAUD = 115200
# Raspberry Pi Pico boards running MicroPython enumerate as USB CDC with this vendor id; udev
# names them under /dev/serial/by-id/. A configured glob replaces this on other boards and in
# the simulator.
DEFAULT_PORT_GLOBS = ("/dev/serial/by-id/usb-MicroPython_*",)
DISCOVERY_INTERVAL_S = 1.0
REOPEN_DELAY_S = 0.5


class TerminalError(Exception):
    """A terminal operation could not be done (absent, not paired, busy)."""


# --- the long-term keys --------------------------------------------------------------------


class TerminalKeyStore:
    """Paired terminals: serial -> long-term key and a name, in one JSON file (mode 0600).

    The key is a 32-byte HMAC key; it never leaves the box except to a pairing that the
    technician confirmed on the terminal's keypad. (A PKCS#11 generic-secret object would keep
    it inside the token; docs/terminal.md says why this first version does not.)
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def _read(self) -> dict[str, dict[str, str]]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        return data if isinstance(data, dict) else {}

    def _write(self, data: dict[str, dict[str, str]]) -> None:
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=1, sort_keys=True)
        os.replace(tmp, self.path)

    def key(self, serial_no: str) -> bytes | None:
        entry = self._read().get(serial_no)
        return bytes.fromhex(entry["key"]) if entry else None

    def entries(self) -> dict[str, str]:
        """Serial -> name of every paired terminal."""
        return {s: e.get("name", "") for s, e in sorted(self._read().items())}

    def put(self, serial_no: str, key: bytes, name: str = "") -> None:
        with self._lock:
            data = self._read()
            old = data.get(serial_no, {})
            data[serial_no] = {"key": key.hex(), "name": name or old.get("name", "")}
            self._write(data)

    def remove(self, serial_no: str) -> bool:
        with self._lock:
            data = self._read()
            if data.pop(serial_no, None) is None:
                return False
            self._write(data)
            return True

    def rename(self, serial_no: str, name: str) -> None:
        with self._lock:
            data = self._read()
            if serial_no not in data:
                raise TerminalError(f"terminal {serial_no} is not paired")
            data[serial_no]["name"] = name
            self._write(data)


def _keypair() -> tuple[bytes, bytes]:
    private = X25519PrivateKey.generate()
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return private.private_bytes_raw(), public


def _exchange(private: bytes, peer: bytes) -> bytes:
    return X25519PrivateKey.from_private_bytes(private).exchange(
        X25519PublicKey.from_public_bytes(peer)
    )


# --- events and outcomes -------------------------------------------------------------------


@dataclass(frozen=True)
class TerminalEvent:
    """What the daemon hears from the terminals: up, down, refused, key, scan, paired..."""

    kind: str
    serial: str
    port: str
    data: str = ""
    raw: bytes = b""
    """A scan's bytes as the scanner module sent them (``data`` is their lossy decoding)."""


@dataclass(frozen=True)
class TerminalStatus:
    serial: str
    port: str
    connected: bool
    firmware: str
    capabilities: dict[str, object] = field(default_factory=dict)


class PinOutcome:
    ENTERED = "entered"
    CANCELLED = "cancelled"
    TIMEOUT = "timeout"
    ABSENT = "terminal-absent"


@dataclass
class PinReply:
    """The outcome of a PIN request; ``digits`` only when entered, to be wiped by the caller."""

    outcome: str
    digits: bytearray | None = None

    def __repr__(self) -> str:
        return f"PinReply({self.outcome})"

    def wipe(self) -> None:
        if self.digits is not None:
            for i in range(len(self.digits)):
                self.digits[i] = 0


# --- one port ------------------------------------------------------------------------------


class TerminalPort(threading.Thread):
    """Owns one serial port: the link's host end, its reconnection, and its requests."""

    def __init__(
        self,
        port: str,
        keys: TerminalKeyStore,
        on_event: Callable[[TerminalEvent], None],
        baud: int = BAUD,
    ) -> None:
        super().__init__(name=f"terminal {port}", daemon=True)
        self.port = port
        self.keys = keys
        self.on_event = on_event
        self.baud = baud
        self.link = L.Link(
            L.HOST, os.urandom, lookup=keys.key, keypair=_keypair, exchange=_exchange
        )
        self._requests: queue.Queue[Callable[[int], None]] = queue.Queue()
        self._halt = threading.Event()
        self._pin_waiter: queue.Queue[PinReply] | None = None
        self._pair_waiters: list[queue.Queue[tuple[str, str]]] = []
        self.serial = ""
        self.gone = False  # the port disappeared: the manager forgets this thread
        self.busy = False  # another program holds the port (its exclusive lock)

    @staticmethod
    def _now() -> int:
        return int(time.monotonic() * 1000)

    def stop(self) -> None:
        self._halt.set()

    def call(self, fn: Callable[[int], None]) -> None:
        """Run ``fn(now)`` on the port's thread (the Link is not thread-safe)."""
        self._requests.put(fn)

    def run(self) -> None:
        while not self._halt.is_set():
            try:
                # Exclusive (flock): a second owner (the CLI while the daemon runs) is refused
                # instead of both reading half of the frames.
                with serial.Serial(self.port, self.baud, timeout=0.005, exclusive=True) as port:
                    self._session(port)
            except (serial.SerialException, OSError) as exc:
                self.busy = "lock" in str(exc)
                log.info("terminal port %s: %s", self.port, type(exc).__name__)
            self._lost()
            if not os.path.exists(self.port):
                self.gone = True
                return
            self._halt.wait(REOPEN_DELAY_S)

    def _session(self, port: serial.Serial) -> None:
        port.reset_input_buffer()
        self.link.start(self._now())
        while not self._halt.is_set():
            data = port.read(4096)
            now = self._now()
            events = self.link.feed(data, now) if data else []
            while True:
                try:
                    fn = self._requests.get_nowait()
                except queue.Empty:
                    break
                fn(now)
            events.extend(self.link.tick(now))
            for event in events:
                self._dispatch(event)
            out = self.link.take_output()
            if out:
                port.write(out)

    def _lost(self) -> None:
        was_up = self.link.up
        self.link.reset()  # the cable is gone: this session's keys die with it
        if was_up:
            self._emit("down", "port closed")
        self._answer_pin(PinReply(PinOutcome.ABSENT))

    def _emit(self, kind: str, data: str = "", raw: bytes = b"") -> None:
        self.on_event(TerminalEvent(kind, self.serial, self.port, data, raw))

    def _dispatch(self, event: L.Event) -> None:
        kind = event.kind
        if kind == "up":
            self.serial = str(self.link.peer.get("serial", ""))
            self._emit("up")
        elif kind == "down":
            self._emit("down", str(event.info))
            self._answer_pin(PinReply(PinOutcome.ABSENT))
        elif kind == "refused":
            info = event.info if isinstance(event.info, tuple) else ("", "")
            self.serial = str(info[0])
            self._emit("refused", str(info[1]))
        elif kind == "pair_code":
            self._tell_pairing("code", str(event.info))
        elif kind == "paired":
            self.serial = str(event.info)
            self.keys.put(self.serial, bytes(event.body))
            self._emit("paired")
            self._tell_pairing("paired", self.serial)
        elif kind == "pair_failed":
            self._tell_pairing("failed", str(event.info))
        elif kind == "message":
            self._message(event.ftype, event.body)

    def _message(self, ftype: int, body: bytes | bytearray) -> None:
        if ftype == p.PIN_ENTERED:
            digits = bytearray(body)
            if isinstance(body, bytearray):
                body[:] = bytes(len(body))
            if not self._answer_pin(PinReply(PinOutcome.ENTERED, digits)):
                for i in range(len(digits)):
                    digits[i] = 0  # nobody asks any more: drop it
        elif ftype == p.PIN_CANCELLED:
            self._answer_pin(PinReply(PinOutcome.CANCELLED))
        elif ftype == p.PIN_TIMEOUT:
            self._answer_pin(PinReply(PinOutcome.TIMEOUT))
        elif ftype == p.KEY:
            self._emit("key", bytes(body).decode(errors="replace"))
        elif ftype == p.SCAN:
            self._emit("scan", bytes(body).decode(errors="replace"), bytes(body))

    def _answer_pin(self, reply: PinReply) -> bool:
        waiter, self._pin_waiter = self._pin_waiter, None
        if waiter is None:
            return False
        waiter.put(reply)
        return True

    def _tell_pairing(self, what: str, detail: str) -> None:
        for waiter in self._pair_waiters:
            waiter.put((what, detail))
        if what != "code":
            self._pair_waiters.clear()

    # -- requests from other threads ------------------------------------------------------

    def show(self, screen: str, **data: object) -> None:
        body = json.dumps({"screen": screen, **data}).encode()

        def send(now: int) -> None:
            if self.link.up:
                self.link.send(p.DISPLAY, body, now)

        self.call(send)

    def request_pin(self, timeout_s: float, tries_left: int | None = None) -> PinReply:
        """Prompt for the PIN and wait for the person (or the timeout, or the link's loss)."""
        answer: queue.Queue[PinReply] = queue.Queue()
        request = {"timeout_ms": int(timeout_s * 1000)}
        if tries_left is not None:
            request["tries_left"] = tries_left

        def send(now: int) -> None:
            if not self.link.up:
                answer.put(PinReply(PinOutcome.ABSENT))
                return
            if self._pin_waiter is not None:
                self._pin_waiter.put(PinReply(PinOutcome.CANCELLED))
            self._pin_waiter = answer
            self.link.send(p.PIN_REQUEST, json.dumps(request).encode(), now)

        self.call(send)
        try:
            # The terminal times out on its own; this bound covers a terminal that says nothing.
            return answer.get(timeout=timeout_s + 5)
        except queue.Empty:
            self.call(self._abort_pin)
            return PinReply(PinOutcome.TIMEOUT)

    def _abort_pin(self, now: int) -> None:
        self._pin_waiter = None
        if self.link.up:
            self.link.send(p.PIN_ABORT, b"", now)

    @contextmanager
    def pairing(self) -> Iterator[queue.Queue[tuple[str, str]]]:
        """Open the pairing window; yields a queue of ("code", digits), then ("paired", serial)
        or ("failed", reason)."""
        waiter: queue.Queue[tuple[str, str]] = queue.Queue()
        self._pair_waiters.append(waiter)

        def start(now: int) -> None:
            try:
                self.link.start_pairing(now)
            except p.FrameError as exc:
                self._tell_pairing("failed", str(exc))

        deadline = time.monotonic() + 10
        while not self.link.peer and time.monotonic() < deadline:
            time.sleep(0.02)  # the terminal answers the HELLO within a few frames
        self.call(start)
        try:
            yield waiter
        finally:
            if waiter in self._pair_waiters:
                self._pair_waiters.remove(waiter)


def _udev_monitor() -> Any:
    """A udev monitor of tty devices where pyudev and udev are present, else None (polling)."""
    try:
        import pyudev  # type: ignore[import-not-found]
    except ImportError:
        return None
    try:
        monitor = pyudev.Monitor.from_netlink(pyudev.Context())
        monitor.filter_by("tty")
        monitor.start()
    except (OSError, ValueError):
        return None
    return monitor


# --- all ports -----------------------------------------------------------------------------


class TerminalManager:
    """Finds terminal ports, keeps one ``TerminalPort`` per port, and routes by serial."""

    def __init__(
        self,
        keys: TerminalKeyStore,
        on_event: Callable[[TerminalEvent], None] | None = None,
        port_globs: tuple[str, ...] = DEFAULT_PORT_GLOBS,
        baud: int = BAUD,
    ) -> None:
        self.keys = keys
        self.port_globs = port_globs
        self.baud = baud
        self._on_event = on_event
        self._ports: dict[str, TerminalPort] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._discover, name="terminal discovery", daemon=True
        )

    def start(self) -> None:
        self._scan()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            ports = list(self._ports.values())
        for port in ports:
            port.stop()
        for port in ports:
            port.join(timeout=2)

    def _event(self, event: TerminalEvent) -> None:
        if self._on_event is not None:
            self._on_event(event)

    def candidates(self) -> list[str]:
        """Ports that may hold a terminal: the configured globs (udev's by-id names on a box)."""
        found: list[str] = []
        for pattern in self.port_globs:
            found.extend(sorted(glob.glob(pattern)))
        return found

    def _scan(self) -> None:
        with self._lock:
            for name, port in list(self._ports.items()):
                if port.gone or not port.is_alive():
                    del self._ports[name]
            for name in self.candidates():
                if name not in self._ports:
                    port = TerminalPort(name, self.keys, self._event, self.baud)
                    self._ports[name] = port
                    port.start()

    def _discover(self) -> None:
        monitor = _udev_monitor()
        while not self._stop.is_set():
            if monitor is not None:
                # udev says when a tty comes or goes: rescan at once instead of at the next tick.
                monitor.poll(timeout=DISCOVERY_INTERVAL_S)
            elif self._stop.wait(DISCOVERY_INTERVAL_S):
                return
            self._scan()

    def ports(self) -> list[TerminalPort]:
        with self._lock:
            return list(self._ports.values())

    def find(self, serial_no: str) -> TerminalPort | None:
        for port in self.ports():
            if port.serial == serial_no and port.link.up:
                return port
        return None

    def status(self) -> list[TerminalStatus]:
        out = []
        for port in self.ports():
            peer = dict(port.link.peer)
            out.append(
                TerminalStatus(
                    serial=port.serial,
                    port=port.port,
                    connected=port.link.up,
                    firmware=str(peer.get("firmware", "")),
                    capabilities={k: v for k, v in peer.items() if k not in ("serial", "firmware")},
                )
            )
        return out

    def request_pin(
        self, serial_no: str, timeout_s: float, tries_left: int | None = None
    ) -> PinReply:
        port = self.find(serial_no)
        if port is None:
            return PinReply(PinOutcome.ABSENT)
        return port.request_pin(timeout_s, tries_left)

    def show(self, serial_no: str, screen: str, **data: object) -> None:
        port = self.find(serial_no)
        if port is None:
            raise TerminalError(f"terminal {serial_no} is not connected")
        port.show(screen, **data)

    def wait_connected(self, serial_no: str, timeout_s: float) -> TerminalPort:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            port = self.find(serial_no)
            if port is not None:
                return port
            time.sleep(0.02)
        raise TerminalError(f"terminal {serial_no} is not connected")
