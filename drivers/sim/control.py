"""The control socket of ``comptoir sim run``: insert and pull simulated cards from other
processes (the demo script, a trainer's terminal) while the simulator keeps running.

One JSON object per line over a unix socket (``DIR/sim.sock``, mode 0600): a request
``{"op": "insert", "slot": 0, "card": "/path/card.toml"}`` gets one reply ``{"ok": true, ...}``
or ``{"ok": false, "error": "..."}``. Operations: ``status``, ``insert``, ``remove``, ``plug``,
``unplug``, ``restart``, ``stop``. The reply to insert/remove is sent once pcscd itself reports
the change, so a script can use the card right after the command returns.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
from pathlib import Path
from typing import Any

from drivers.pcsc import wait_for_card
from drivers.sim.cardfile import load_card
from drivers.sim.pcscd import PrivatePcscd
from drivers.sim.timing import Timing

SOCKET_NAME = "sim.sock"
_MAX_REQUEST = 64 * 1024
_IO_TIMEOUT_S = 10.0
_CARD_WAIT_S = 5.0


class ControlError(RuntimeError):
    """A request the simulator refused, or no simulator answering."""


class SimController:
    """Owns the private pcscd and the cards; serves requests on the control socket."""

    def __init__(self, pcscd: PrivatePcscd, socket_path: Path, timing: Timing) -> None:
        self.pcscd = pcscd
        self.socket_path = socket_path
        self.timing = timing
        self.cards: dict[int, str] = {}
        self.stopped = threading.Event()
        self._lock = threading.Lock()

    # -- operations -----------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        names = self.pcscd.reader_names()
        plugged = set(self.pcscd.plugged_reader_names())
        return {
            "pcscd_pid": self.pcscd.pid,
            "socket": str(self.pcscd.socket_path),
            "slots": [
                {
                    "slot": i,
                    "reader": name,
                    "plugged": name in plugged,
                    "card": self.cards.get(i),
                }
                for i, name in enumerate(names)
            ],
        }

    def insert(self, slot: int, card_path: str) -> dict[str, Any]:
        self._check_slot(slot)
        card = load_card(Path(card_path), self.timing)
        self.pcscd.slot(slot).insert(card)
        self.cards[slot] = str(Path(card_path).resolve())
        reader = self.pcscd.reader_names()[slot]
        if reader in self.pcscd.plugged_reader_names() and not wait_for_card(
            reader, True, _CARD_WAIT_S
        ):
            raise ControlError(f"pcscd did not report the card in {reader}")
        return {"slot": slot, "reader": reader, "card": self.cards[slot]}

    def remove(self, slot: int) -> dict[str, Any]:
        self._check_slot(slot)
        self.pcscd.slot(slot).remove()
        self.cards.pop(slot, None)
        reader = self.pcscd.reader_names()[slot]
        if reader in self.pcscd.plugged_reader_names():
            wait_for_card(reader, False, _CARD_WAIT_S)
        return {"slot": slot, "reader": reader}

    def set_plugged(self, reader: int, plugged: bool) -> dict[str, Any]:
        if not 0 <= reader < len(self.pcscd.readers):
            raise ControlError(f"reader must be 0..{len(self.pcscd.readers) - 1}")
        self.pcscd.set_plugged(reader, plugged)
        return {"reader": reader, "plugged": plugged}

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        with self._lock:
            if op == "status":
                return self.status()
            if op == "insert":
                return self.insert(_int(request, "slot"), str(request.get("card", "")))
            if op == "remove":
                return self.remove(_int(request, "slot"))
            if op in ("plug", "unplug"):
                return self.set_plugged(_int(request, "reader"), op == "plug")
            if op == "restart":
                self.pcscd.restart()
                return {"pcscd_pid": self.pcscd.pid}
            if op == "stop":
                self.stopped.set()
                return {}
        raise ControlError(f"unknown operation {op!r}")

    def _check_slot(self, slot: int) -> None:
        if not 0 <= slot < len(self.pcscd.slots):
            raise ControlError(f"slot must be 0..{len(self.pcscd.slots) - 1}")

    # -- socket server --------------------------------------------------------------------------

    def serve(self) -> None:
        """Answer requests until ``stop`` (or :attr:`stopped` set from a signal handler)."""
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            server.bind(str(self.socket_path))
            os.chmod(self.socket_path, 0o600)
            server.listen(8)
            server.settimeout(0.5)
            while not self.stopped.is_set():
                try:
                    conn, _ = server.accept()
                except TimeoutError:
                    continue
                with conn:
                    self._answer(conn)
        finally:
            server.close()
            with contextlib.suppress(FileNotFoundError):
                self.socket_path.unlink()

    def _answer(self, conn: socket.socket) -> None:
        conn.settimeout(_IO_TIMEOUT_S)
        try:
            request = json.loads(_read_line(conn))
            if not isinstance(request, dict):
                raise ControlError("a request is a JSON object")
            reply: dict[str, Any] = {"ok": True, **self.handle(request)}
        except (ControlError, ValueError, OSError, RuntimeError) as exc:
            reply = {"ok": False, "error": str(exc)}
        with contextlib.suppress(OSError):
            conn.sendall(json.dumps(reply).encode() + b"\n")


def _int(request: dict[str, Any], field: str) -> int:
    value = request.get(field)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ControlError(f"{field} must be an integer")
    return value


def _read_line(conn: socket.socket) -> bytes:
    buf = bytearray()
    while not buf.endswith(b"\n"):
        chunk = conn.recv(4096)
        if not chunk:
            break
        buf += chunk
        if len(buf) > _MAX_REQUEST:
            raise ControlError("request too long")
    return bytes(buf)


def request(directory: Path, message: dict[str, Any], timeout: float = 30.0) -> dict[str, Any]:
    """Send one request to the simulator running under ``directory``; ControlError if refused."""
    path = directory / SOCKET_NAME
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(str(path))
        except OSError as exc:
            raise ControlError(f"no simulator running under {directory} ({exc.strerror})") from exc
        sock.sendall(json.dumps(message).encode() + b"\n")
        raw = _read_line(sock)
    try:
        reply = json.loads(raw)
    except ValueError as exc:
        raise ControlError("the simulator answered something that is not JSON") from exc
    if not isinstance(reply, dict) or not reply.get("ok"):
        raise ControlError(str(reply.get("error") if isinstance(reply, dict) else reply))
    return reply
