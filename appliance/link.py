"""The terminal link's state machine, shared by the firmware and the box (sans I/O).

One ``Link`` per end. It never touches a port or a clock: the caller feeds received bytes and
the current time in milliseconds, calls ``tick`` regularly, and writes what ``take_output``
returns. The same code therefore runs in the firmware's asyncio loop on MicroPython and in the
box's serial thread on CPython, and the tests drive two of them against each other.

What it does:

* Handshake: the host sends a nonce (HELLO); the terminal answers with its own nonce, its
  identity (serial, firmware version, capabilities) and a proof of the long-term key bound to
  both nonces (HELLO_REPLY); the host checks the proof against the key it paired with that
  serial, derives the session keys and sends the first sealed message (READY), which in turn
  proves the host to the terminal. A serial without a key, or a bad proof, gets REFUSED and
  nothing else: no sealed frame is ever accepted from or sent to it.
* Reliable messages (stop-and-wait): each numbered message is retransmitted every
  ``RETRANSMIT_MS`` until acknowledged, at most ``RETRIES`` times, then the link is declared
  down. Every transmission has a fresh ``seq`` and the receiver takes only increasing ones, so
  replayed, reordered or old-session frames are refused; a duplicate of a message already
  delivered (its acknowledgement was lost) is acknowledged again but not delivered twice.
* Heartbeats both ways when nothing else is sent; silence for ``DEAD_MS`` means the cable is
  gone: the link goes down and the host starts a new handshake.
* Pairing by numeric comparison (see ``appliance.protocol``), driven by the host; the terminal
  reports the code and the application answers ``confirm_pairing(True/False)`` from the keypad.
"""

import json
import struct

from appliance import protocol as p
from appliance import x25519

TYPE_CHECKING = False
if TYPE_CHECKING:  # MicroPython has no typing module; annotations are never evaluated there.
    from collections.abc import Callable

    RandomBytes = Callable[[int], bytes]
    KeyPair = Callable[[], tuple[bytes, bytes]]
    Exchange = Callable[[bytes, bytes], bytes]
    Lookup = Callable[[str], bytes | None]

HOST = 1
TERMINAL = 2

HELLO_RETRY_MS = 500
REFUSED_RETRY_MS = 5000
RETRANSMIT_MS = 250
RETRIES = 6
HEARTBEAT_MS = 1000
DEAD_MS = 3500
PAIR_RETRY_MS = 500
PAIR_TRIES = 10
PAIR_WINDOW_MS = 120000

# States.
IDLE = "idle"
HELLO_SENT = "hello"  # host: waiting for HELLO_REPLY
AWAIT_READY = "await-ready"  # terminal: replied, waiting for the host's first sealed frame
UP = "up"
REFUSED = "refused"
PAIRING = "pairing"


class Event:
    """Something the application must know: ``kind`` plus what goes with it."""

    def __init__(
        self, kind: str, ftype: int = 0, body: bytes | bytearray = b"", info: object = None
    ) -> None:
        self.kind = kind
        self.ftype = ftype
        self.body = body
        self.info = info

    def __repr__(self) -> str:
        # The body may hold PIN digits: its length only.
        return f"Event({self.kind}, type=0x{self.ftype:02x}, {len(self.body)} bytes, {self.info!r})"


def _wipe(buf: bytearray) -> None:
    for i in range(len(buf)):
        buf[i] = 0


class _Pairing:
    """What one pairing attempt has seen so far (empty bytes: not yet)."""

    def __init__(self, host_pk: bytes = b"") -> None:
        self.step = 0
        self.tries = 0
        self.next = 0
        self.until = 0
        self.private = b""
        self.host_pk = host_pk
        self.terminal_pk = b""
        self.commit = b""
        self.host_nonce = b""
        self.terminal_nonce = b""
        self.ltk = b""
        self.answer = b""


class Link:
    """One end of the link. ``random_bytes(n)`` must be a cryptographic source.

    Host: set ``lookup(serial) -> long-term key or None`` and call ``start``.
    Terminal: give ``identity`` (serial, firmware, capabilities) and the stored ``ltk``.
    """

    def __init__(
        self,
        role: int,
        random_bytes: "RandomBytes",
        identity: dict[str, object] | None = None,
        ltk: bytes | None = None,
        lookup: "Lookup | None" = None,
        keypair: "KeyPair | None" = None,
        exchange: "Exchange | None" = None,
    ) -> None:
        self.role = role
        self._random = random_bytes
        self.identity = identity or {}
        self.ltk = ltk
        self.lookup = lookup
        self._keypair = keypair
        self._exchange = exchange or x25519.x25519
        self.state = IDLE
        self.peer: dict[str, object] = {}  # host: the terminal's identity once it replied
        self.refused = 0  # frames refused after deframing (checksum, tag, replay, wrong state)
        self.retransmissions = 0
        self._deframer = p.Deframer()
        self._out = bytearray()
        self._events: list[Event] = []
        self._reset_session()
        self._pair: _Pairing | None = None
        self._next_hello = 0
        self._host_nonce = b""

    # -- plumbing ---------------------------------------------------------------------------

    def _rand(self, n: int) -> bytes:
        return bytes(self._random(n))

    def _new_keypair(self) -> tuple[bytes, bytes]:
        if self._keypair is not None:
            private, public = self._keypair()
            return private, bytes(public)
        private = self._rand(32)
        return private, x25519.public_key(private)

    def _reset_session(self) -> None:
        self._keys: p.SessionKeys | None = None
        self._tx_seq = 0
        self._rx_seq = -1
        self._next_msg = 1
        self._expect_msg = 1
        self._pending: list[tuple[int, bytearray]] = []
        self._inflight: tuple[int, int, bytearray] | None = None  # msg, type, body
        self._tries = 0
        self._deadline = 0
        self._last_rx = 0
        self._last_tx = 0

    def _emit(
        self, kind: str, ftype: int = 0, body: bytes | bytearray = b"", info: object = None
    ) -> None:
        self._events.append(Event(kind, ftype, body, info))

    def _drain(self) -> list[Event]:
        events, self._events = self._events, []
        return events

    def take_output(self) -> bytes:
        """The bytes to write to the port now."""
        out = bytes(self._out)
        self._out = bytearray()
        return out

    def _send_keys(self) -> p.DirectionKeys:
        assert self._keys is not None
        if self.role == HOST:
            return self._keys.host_to_terminal
        return self._keys.terminal_to_host

    def _recv_keys(self) -> p.DirectionKeys:
        assert self._keys is not None
        if self.role == HOST:
            return self._keys.terminal_to_host
        return self._keys.host_to_terminal

    def _transmit(self, ftype: int, msg: int, body: bytes | bytearray, now: int) -> None:
        self._out.extend(p.seal(self._send_keys(), ftype, self._tx_seq, msg, body))
        self._tx_seq += 1
        self._last_tx = now

    def _plain(self, ftype: int, body: bytes) -> None:
        self._out.extend(p.encode_plain(ftype, body))

    @property
    def rejected(self) -> int:
        """Everything the line brought that was not accepted: undecodable pieces and refused
        frames."""
        return self.refused + self._deframer.dropped

    @property
    def up(self) -> bool:
        return self.state == UP

    # -- sending ----------------------------------------------------------------------------

    def send(self, ftype: int, body: bytes | bytearray, now: int) -> None:
        """Queue a reliable message (acknowledged, retransmitted). The body is copied and the
        copy wiped once acknowledged or dropped, so PIN digits do not linger in the queue."""
        if self.state != UP:
            raise p.FrameError("link is not up")
        self._pending.append((ftype, bytearray(body)))
        self._pump(now)

    def _pump(self, now: int) -> None:
        if self._inflight is None and self._pending:
            ftype, body = self._pending.pop(0)
            msg = self._next_msg
            self._next_msg = self._next_msg % 0xFFFF + 1
            self._inflight = (msg, ftype, body)
            self._tries = 1
            self._deadline = now + RETRANSMIT_MS
            self._transmit(ftype, msg, body, now)

    @property
    def idle(self) -> bool:
        """Nothing waiting for an acknowledgement."""
        return self._inflight is None and not self._pending

    def _down(self, reason: str, now: int) -> None:
        was_up = self.state == UP
        if self._inflight is not None:
            _wipe(self._inflight[2])
        for _t, body in self._pending:
            _wipe(body)
        self._reset_session()
        self.state = IDLE
        if was_up or reason:
            self._emit("down", info=reason)
        if self.role == HOST:
            self.start(now)

    # -- host side --------------------------------------------------------------------------

    def start(self, now: int) -> None:
        """Host: begin (or restart) the handshake."""
        self._reset_session()
        self._host_nonce = self._rand(p.NONCE_LEN)
        self.state = HELLO_SENT
        self._plain(p.HELLO, self._host_nonce)
        self._next_hello = now + HELLO_RETRY_MS

    def start_pairing(self, now: int) -> None:
        """Host: open the pairing window with the terminal on this port (once it has said who
        it is in a HELLO_REPLY: the key is filed under that serial)."""
        if "serial" not in self.peer:
            raise p.FrameError("the terminal has not identified itself yet")
        private, public = self._new_keypair()
        if self.state == UP:
            self._emit("down", info="pairing")
        self._reset_session()
        self.state = PAIRING
        pr = _Pairing(public)
        pr.private, pr.step, pr.tries = private, p.PAIR_START, 1
        pr.next, pr.until = now + PAIR_RETRY_MS, now + PAIR_WINDOW_MS
        self._pair = pr
        self._plain(p.PAIR_START, public)

    def _host_plain(self, frame: p.Frame, now: int) -> None:
        body = frame.body
        if frame.ftype == p.HELLO_REPLY and self.state == HELLO_SENT:
            self._on_hello_reply(bytes(body), now)
        elif self.state == PAIRING:
            self._host_pairing(frame, now)
        else:
            self.refused += 1

    def _on_hello_reply(self, body: bytes, now: int) -> None:
        n = p.NONCE_LEN
        if len(body) < 2 * n + 1 + p.TAG_LEN:
            self.refused += 1
            return
        if not p.equal(body[:n], self._host_nonce):
            # An answer to an earlier HELLO (ours or a previous owner's of the port): stale.
            self.refused += 1
            return
        body = body[n:]
        t_nonce, flag = body[:n], body[n]
        proof, ident = body[n + 1 : n + 1 + p.TAG_LEN], body[n + 1 + p.TAG_LEN :]
        try:
            peer = json.loads(ident)
            serial = str(peer["serial"])
        except (ValueError, KeyError, TypeError):
            self.refused += 1
            return
        self.peer = peer
        ltk = self.lookup(serial) if self.lookup is not None else None
        if ltk is None or not flag:
            self._refuse(b"unpaired", serial, now)
            return
        if not p.equal(p.hello_proof(ltk, self._host_nonce, t_nonce, ident), proof):
            self._refuse(b"bad-proof", serial, now)
            return
        self._keys = p.SessionKeys(ltk, self._host_nonce, t_nonce, ident)
        self.state = UP
        self._last_rx = now
        self._emit("up", info=peer)
        self.send(p.READY, b"", now)

    def _refuse(self, reason: bytes, serial: str, now: int) -> None:
        self._plain(p.REFUSED, reason)
        self.state = REFUSED
        self._next_hello = now + REFUSED_RETRY_MS
        self._emit("refused", info=(serial, reason.decode()))

    def _host_pairing(self, frame: p.Frame, now: int) -> None:
        pr = self._pair
        body = bytes(frame.body)
        if pr is None:
            self.refused += 1
        elif frame.ftype == p.PAIR_COMMIT and pr.step == p.PAIR_START and len(body) == 64:
            pr.terminal_pk, pr.commit = body[:32], body[32:]
            pr.host_nonce = self._rand(p.NONCE_LEN)
            pr.step, pr.tries, pr.next = p.PAIR_NONCE, 1, now + PAIR_RETRY_MS
            self._plain(p.PAIR_NONCE, pr.host_nonce)
        elif frame.ftype == p.PAIR_REVEAL and pr.step == p.PAIR_NONCE and len(body) == p.NONCE_LEN:
            if not p.equal(p.pair_commitment(body, pr.terminal_pk, pr.host_pk), pr.commit):
                self._pair_failed("commitment mismatch", now)
                return
            shared = bytes(self._exchange(pr.private, pr.terminal_pk))
            try:
                pr.ltk = p.pair_ltk(shared, pr.host_pk, pr.terminal_pk, pr.host_nonce, body)
            except p.FrameError:
                self._pair_failed("degenerate key", now)
                return
            pr.terminal_nonce, pr.private = body, b""
            pr.step, pr.next = p.PAIR_DONE, now + PAIR_RETRY_MS
            code = p.pair_code(pr.host_pk, pr.terminal_pk, pr.host_nonce, body)
            self._emit("pair_code", info=code)
        elif frame.ftype == p.PAIR_DONE and pr.step == p.PAIR_DONE and body:
            serial = str(self.peer.get("serial", "")).encode()
            expected = p.pair_confirmation(pr.ltk, pr.host_nonce, pr.terminal_nonce, serial)
            if body[0] == 1 and p.equal(body[1:], expected):
                self._pair = None
                self._emit("paired", body=pr.ltk, info=self.peer.get("serial"))
                self.start(now)
            elif body[0] == 0:
                self._pair_failed("rejected on the terminal", now)
            else:
                self._pair_failed("bad key confirmation", now)
        else:
            self.refused += 1

    def _pair_failed(self, reason: str, now: int) -> None:
        self._pair = None
        self._emit("pair_failed", info=reason)
        self.start(now)

    def _host_tick(self, now: int) -> None:
        pr = self._pair
        if self.state in (HELLO_SENT, REFUSED) and now >= self._next_hello:
            self.start(now)
        elif self.state == PAIRING and pr is not None:
            if now >= pr.until:
                self._pair_failed("pairing window closed", now)
            elif now >= pr.next:
                if pr.step != p.PAIR_DONE and pr.tries >= PAIR_TRIES:
                    self._pair_failed("terminal does not answer", now)
                    return
                pr.tries += 1
                pr.next = now + PAIR_RETRY_MS
                if pr.step == p.PAIR_START:
                    self._plain(p.PAIR_START, pr.host_pk)
                else:  # PAIR_NONCE again: asks for the reveal, then for the technician's answer
                    self._plain(p.PAIR_NONCE, pr.host_nonce)

    # -- terminal side ----------------------------------------------------------------------

    def _identity_bytes(self) -> bytes:
        return json.dumps(self.identity).encode()

    def _terminal_plain(self, frame: p.Frame, now: int) -> None:
        body = bytes(frame.body)
        if frame.ftype == p.HELLO and len(body) == p.NONCE_LEN:
            if self.state == UP:
                self._down("host restarted the handshake", now)
            self._reset_session()
            self._pair = None
            t_nonce = self._rand(p.NONCE_LEN)
            ident = self._identity_bytes()
            if self.ltk is not None:
                proof = p.hello_proof(self.ltk, body, t_nonce, ident)
                self._keys = p.SessionKeys(self.ltk, body, t_nonce, ident)
                self.state = AWAIT_READY
                self._plain(p.HELLO_REPLY, body + t_nonce + b"\x01" + proof + ident)
            else:
                self.state = IDLE
                self._plain(p.HELLO_REPLY, body + t_nonce + b"\x00" + bytes(p.TAG_LEN) + ident)
        elif frame.ftype == p.REFUSED:
            self._reset_session()
            self.state = REFUSED
            self._emit("refused", info=body.decode())
        elif frame.ftype == p.PAIR_START and len(body) == 32:
            self._terminal_pair_start(body, now)
        elif frame.ftype == p.PAIR_NONCE and len(body) == p.NONCE_LEN:
            self._terminal_pair_nonce(body)
        else:
            self.refused += 1

    def _terminal_pair_start(self, host_pk: bytes, now: int) -> None:
        pr = self._pair
        if pr is not None and pr.host_pk == host_pk:  # a retransmission: same answer
            self._plain(p.PAIR_COMMIT, pr.terminal_pk + pr.commit)
            return
        if self.state == UP:
            self._down("pairing", now)
        self._reset_session()
        self.state = PAIRING
        pr = _Pairing(host_pk)
        pr.private, pr.terminal_pk = self._new_keypair()
        pr.terminal_nonce = self._rand(p.NONCE_LEN)
        pr.commit = p.pair_commitment(pr.terminal_nonce, pr.terminal_pk, host_pk)
        self._pair = pr
        self._plain(p.PAIR_COMMIT, pr.terminal_pk + pr.commit)

    def _terminal_pair_nonce(self, host_nonce: bytes) -> None:
        pr = self._pair
        if pr is None:
            self.refused += 1
            return
        if not pr.host_nonce:
            shared = bytes(self._exchange(pr.private, pr.host_pk))
            pr.private = b""
            try:
                pr.ltk = p.pair_ltk(
                    shared, pr.host_pk, pr.terminal_pk, host_nonce, pr.terminal_nonce
                )
            except p.FrameError:
                self._pair = None
                self.state = IDLE
                self._emit("pair_failed", info="degenerate key")
                return
            pr.host_nonce = host_nonce
            code = p.pair_code(pr.host_pk, pr.terminal_pk, host_nonce, pr.terminal_nonce)
            self._emit("pair_code", info=code)
        elif pr.host_nonce != host_nonce:  # the code on screen was computed with the first one
            self.refused += 1
            return
        if pr.answer:
            self._plain(p.PAIR_DONE, pr.answer)
        else:
            self._plain(p.PAIR_REVEAL, pr.terminal_nonce)

    def confirm_pairing(self, accepted: bool) -> None:
        """Terminal: the technician's answer on the keypad (codes equal, or not)."""
        pr = self._pair
        if pr is None or not pr.host_nonce or pr.answer:
            return
        if accepted:
            serial = str(self.identity.get("serial", "")).encode()
            confirmation = p.pair_confirmation(pr.ltk, pr.host_nonce, pr.terminal_nonce, serial)
            pr.answer = b"\x01" + confirmation
            self.ltk = pr.ltk
            self._emit("paired", body=pr.ltk)
        else:
            pr.answer = b"\x00"
            self._emit("pair_failed", info="rejected on the terminal")
        self._plain(p.PAIR_DONE, pr.answer)

    @property
    def pairing_code_shown(self) -> bool:
        """Terminal: a code is on screen and waits for the technician."""
        return self._pair is not None and bool(self._pair.host_nonce) and not self._pair.answer

    def reset(self) -> None:
        """The port is gone: drop the session (its keys die with it) and wait for a new start."""
        if self._inflight is not None:
            _wipe(self._inflight[2])
        for _t, body in self._pending:
            _wipe(body)
        self._reset_session()
        self.state = IDLE

    def forget(self) -> None:
        """Terminal: drop the long-term key (unpaired on the keypad or by a factory reset)."""
        self.ltk = None
        self._pair = None
        self._reset_session()
        self.state = IDLE

    # -- receiving --------------------------------------------------------------------------

    def feed(self, data: bytes, now: int) -> list[Event]:
        """Bytes from the port; returns what the application must handle."""
        for inner in self._deframer.feed(data):
            self._on_inner(inner, now)
        return self._drain()

    def _on_inner(self, inner: bytes, now: int) -> None:
        try:
            ftype = p.peek_type(inner)
            if ftype in p.PLAIN_TYPES:
                frame = p.decode_plain(inner)
            else:
                if self._keys is None:
                    raise p.FrameError("no session")
                frame = p.open_sealed(self._recv_keys(), inner)
        except p.FrameError:
            self.refused += 1
            return
        if ftype in p.PLAIN_TYPES:
            if self.role == HOST:
                self._host_plain(frame, now)
            else:
                self._terminal_plain(frame, now)
            return
        if frame.seq <= self._rx_seq:  # replayed or reordered
            self.refused += 1
            return
        if self.state == AWAIT_READY and frame.ftype == p.READY:
            self.state = UP
            self._emit("up")
        elif self.state != UP:
            self.refused += 1
            return
        self._rx_seq = frame.seq
        self._last_rx = now
        if frame.ftype == p.ACK:
            acked = struct.unpack(">H", frame.body)[0] if len(frame.body) == 2 else -1
            if self._inflight is not None and self._inflight[0] == acked:
                _wipe(self._inflight[2])
                self._inflight = None
                self._pump(now)
            return
        if frame.ftype == p.HEARTBEAT or frame.msg == 0:
            return
        if frame.msg == self._expect_msg:
            self._expect_msg = self._expect_msg % 0xFFFF + 1
            self._transmit(p.ACK, 0, struct.pack(">H", frame.msg), now)
            if frame.ftype != p.READY:
                self._emit("message", frame.ftype, frame.body)
        elif frame.msg < self._expect_msg:  # already delivered; our ACK was lost
            self._transmit(p.ACK, 0, struct.pack(">H", frame.msg), now)
        else:
            self.refused += 1

    def tick(self, now: int) -> list[Event]:
        """Timers: retransmission, heartbeat, silence, handshake retries."""
        if self.state == UP:
            if self._inflight is not None and now >= self._deadline:
                if self._tries >= RETRIES:
                    self._down("no acknowledgement", now)
                    return self._drain()
                msg, ftype, body = self._inflight
                self._tries += 1
                self.retransmissions += 1
                self._deadline = now + RETRANSMIT_MS
                self._transmit(ftype, msg, body, now)
            if now - self._last_rx > DEAD_MS:
                self._down("peer silent", now)
                return self._drain()
            if now - self._last_tx >= HEARTBEAT_MS:
                self._transmit(p.HEARTBEAT, 0, b"", now)
        elif self.role == HOST:
            self._host_tick(now)
        return self._drain()
