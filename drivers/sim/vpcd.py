"""The card side of vsmartcard's vpcd: puts a :class:`SimCard` into a pcscd virtual reader.

vpcd (``libifdvpcd.so``, Debian ``vsmartcard-vpcd``) is a pcscd reader driver that listens on
TCP port CHANNELID (slot 0) and CHANNELID+1 (slot 1). A card is whatever connects there.
Every frame, both ways, is a 2-byte big-endian length and a payload. A 1-byte payload from
vpcd is a control message (00 power off, 01 power on, 02 reset, 04 get ATR); only "get ATR" is
answered, with the ATR. A longer payload is a command APDU, answered with response data + SW.

How pcscd learns that a card is present (vsmartcard ``vpcd.c: vicc_present``): at each
presence poll (every 400 ms for these readers) vpcd accepts a waiting connection if it has
none, then asks for the ATR; if the exchange fails it closes the connection and reports "no
card". So inserting a card is connecting, and pulling it is closing the connection: an APDU in
flight fails in vpcd exactly as a card leaving the contacts mid-command does.

Latency: with Nagle and delayed ACKs a trivial APDU took 48 ms round trip; TCP_NODELAY plus
TCP_QUICKACK re-armed after every recv and send (Linux clears QUICKACK on its own) brings it to
about 0.1 ms (NOTES.md).
"""

from __future__ import annotations

import contextlib
import logging
import select
import socket
import struct
import threading

from drivers.sim.card import SimCard

log = logging.getLogger(__name__)

CTRL_POWER_OFF = 0x00
CTRL_POWER_ON = 0x01
CTRL_RESET = 0x02
CTRL_GET_ATR = 0x04
SW_NO_PRECISE_DIAGNOSIS = b"\x6f\x00"

_POLL_S = 0.25
"""Longest the slot thread blocks before looking at its flags again."""
_CONNECT_RETRY_S = 0.05
_CONNECT_TIMEOUT_S = 1.0


class _Pulled(Exception):
    """The connection ended: card removed by the simulator, or vpcd went away."""


class VirtualSlot:
    """One vpcd slot on ``host:port`` and the simulated card currently in it (if any).

    A background thread connects whenever a card is inserted and serves vpcd's requests from
    that card. :meth:`insert` and :meth:`remove` are what a person does at the reader; pcscd is
    never restarted for them. If pcscd restarts while a card is in, the thread reconnects, as a
    card that stays in a reader is seen again by a restarted pcscd.
    """

    def __init__(self, port: int, host: str = "127.0.0.1", *, name: str | None = None) -> None:
        if host not in ("127.0.0.1", "localhost", "::1"):
            # vpcd has no authentication: a simulated card must only ever reach a local pcscd.
            raise ValueError(f"a virtual slot only connects to loopback, not {host!r}")
        if not 0 < port < 65536:
            raise ValueError(f"port out of range: {port}")
        self.host = host
        self.port = port
        self.name = name or f"vpcd:{port}"
        self._lock = threading.Condition()
        self._card: SimCard | None = None
        self._generation = 0
        self._sock: socket.socket | None = None
        self._seen = threading.Event()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=f"vpcd-slot-{port}", daemon=True)
        self._thread.start()

    # -- what a person does at the reader -------------------------------------------------------

    @property
    def card(self) -> SimCard | None:
        return self._card

    def insert(self, card: SimCard) -> None:
        """Put ``card`` in the slot (pulling whatever card was there first)."""
        with self._lock:
            if self._closed:
                raise RuntimeError(f"{self.name} is closed")
            self._pull_locked()
            self._card = card
            self._lock.notify_all()

    def remove(self) -> None:
        """Pull the card out, even in the middle of a command (a no-op if the slot is empty)."""
        with self._lock:
            self._pull_locked()
            self._card = None
            self._lock.notify_all()

    def wait_seen(self, timeout: float) -> bool:
        """True once pcscd has read the current card's ATR (it then reports it present)."""
        return self._seen.wait(timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Pull the card and stop the thread."""
        with self._lock:
            self._closed = True
            self._pull_locked()
            self._card = None
            self._lock.notify_all()
        self._thread.join(timeout)

    def __enter__(self) -> VirtualSlot:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _pull_locked(self) -> None:
        self._generation += 1
        self._seen.clear()
        sock, self._sock = self._sock, None
        if sock is not None:
            # shutdown (not close) wakes the slot thread, which owns and closes the socket;
            # vpcd sees end-of-stream on its next read: the card has left the contacts.
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    # -- slot thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._lock:
                if self._closed:
                    return
                if self._card is None:
                    self._lock.wait(_POLL_S)
                    continue
                card, generation = self._card, self._generation
            sock = self._connect()
            if sock is None:
                with self._lock:
                    self._lock.wait(_CONNECT_RETRY_S)
                continue
            with self._lock:
                if generation != self._generation or self._closed:
                    sock.close()
                    continue
                self._sock = sock
            try:
                self._serve(sock, card, generation)
            except (_Pulled, OSError) as exc:
                log.debug("%s: connection ended (%s)", self.name, exc)
            finally:
                with self._lock:
                    if self._sock is sock:
                        self._sock = None
                sock.close()
                with contextlib.suppress(Exception):
                    card.power_off()

    def _connect(self) -> socket.socket | None:
        try:
            sock = socket.create_connection((self.host, self.port), timeout=_CONNECT_TIMEOUT_S)
        except OSError:
            return None  # pcscd not (yet) listening: a reader that is unplugged or starting
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(None)
        _quickack(sock)
        return sock

    def _serve(self, sock: socket.socket, card: SimCard, generation: int) -> None:
        while True:
            message = self._recv_frame(sock, generation)
            if len(message) == 1:
                ctrl = message[0]
                if ctrl == CTRL_GET_ATR:
                    self._send_frame(sock, card.atr)
                    self._seen.set()
                elif ctrl == CTRL_POWER_ON:
                    card.power_on()
                elif ctrl == CTRL_POWER_OFF:
                    card.power_off()
                elif ctrl == CTRL_RESET:
                    card.power_off()
                    card.power_on()
                else:
                    log.warning("%s: unknown vpcd control byte %#04x", self.name, ctrl)
                continue
            if not message:
                continue
            response = self._process(card, message)
            if generation != self._generation:
                raise _Pulled("card pulled during the command")
            self._send_frame(sock, response)

    def _process(self, card: SimCard, apdu: bytes) -> bytes:
        # vpcd reads an empty frame as "more to come" and blocks pcscd's reader thread, and a
        # crashed card application must not kill the slot: both become 6F00 ("no precise
        # diagnosis"), which is what a real card answers when its own code fails.
        try:
            response = card.process(apdu)
        except Exception:
            log.exception("%s: the card application failed on %s", self.name, apdu[:4].hex())
            return SW_NO_PRECISE_DIAGNOSIS
        if len(response) < 2:
            log.error("%s: the card application answered without a status word", self.name)
            return SW_NO_PRECISE_DIAGNOSIS
        return response

    def _recv_frame(self, sock: socket.socket, generation: int) -> bytes:
        (length,) = struct.unpack(">H", self._recv_exact(sock, 2, generation))
        return self._recv_exact(sock, length, generation) if length else b""

    def _recv_exact(self, sock: socket.socket, n: int, generation: int) -> bytes:
        buf = bytearray()
        while len(buf) < n:
            if generation != self._generation:
                raise _Pulled("card pulled")
            ready, _, _ = select.select([sock], [], [], _POLL_S)
            if not ready:
                continue
            chunk = sock.recv(n - len(buf))
            _quickack(sock)
            if not chunk:
                raise _Pulled("vpcd closed the connection")
            buf += chunk
        return bytes(buf)

    @staticmethod
    def _send_frame(sock: socket.socket, payload: bytes) -> None:
        if len(payload) > 0xFFFF:
            raise ValueError("vpcd frames carry at most 65535 bytes")
        sock.sendall(struct.pack(">H", len(payload)) + payload)
        _quickack(sock)


def _quickack(sock: socket.socket) -> None:
    with contextlib.suppress(OSError, AttributeError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
