"""Terminal link frames: the one codec shared by the counter terminal firmware and the box.

Runs unchanged on CPython (the box's driver, tests) and on MicroPython (the terminal), so it
uses only what both have: hashlib.sha256, hmac, struct. MicroPython has no AES (no cryptolib in
the builds we target) but has HMAC-SHA256, so HMAC is both the MAC and, in counter mode, the
keystream that hides the payload: a PIN typed on the pad must not be readable by anyone who taps
the serial cable.

Wire format (big-endian)::

    magic 0xC5 0x4D | version 1 | type 1 | direction 1 | seq 4 | length 2 | payload | tag 16

The tag is HMAC-SHA256(k_mac, header || ciphertext) truncated to 16 bytes. Each direction has
its own strictly increasing sequence number, so a replayed or reordered frame is refused.
"""

import hashlib
import hmac
import struct

MAGIC = b"\xc5\x4d"
VERSION = 1
HEADER_LEN = 11
TAG_LEN = 16
MAX_PAYLOAD = 512
MAX_FRAME = HEADER_LEN + MAX_PAYLOAD + TAG_LEN

# Directions: a frame sent by the host must never be accepted as one sent by the terminal.
HOST_TO_TERMINAL = 1
TERMINAL_TO_HOST = 2

# Frame types.
HELLO = 0x01
DISPLAY = 0x10
PIN_REQUEST = 0x20
PIN_ENTERED = 0x21
PIN_CANCELLED = 0x22
KEY = 0x30
ACK = 0x7E
ERROR = 0x7F

TYPES = (HELLO, DISPLAY, PIN_REQUEST, PIN_ENTERED, PIN_CANCELLED, KEY, ACK, ERROR)


class FrameError(Exception):
    """A frame is malformed, forged, replayed or too large."""


def _hmac(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()


def _equal(a: bytes, b: bytes) -> bool:
    # MicroPython's hmac has no compare_digest: compare in time independent of the content.
    if len(a) != len(b):
        return False
    diff = 0
    for i in range(len(a)):
        diff |= a[i] ^ b[i]
    return diff == 0


def _keystream_xor(k_enc: bytes, direction: int, seq: int, data: bytes) -> bytes:
    out = bytearray(len(data))
    block = b""
    for i in range(len(data)):
        if i % 32 == 0:
            block = _hmac(k_enc, struct.pack(">BII", direction, seq, i // 32))
        out[i] = data[i] ^ block[i % 32]
    return bytes(out)


class LinkKeys:
    """Keys derived from the pairing secret shared by one terminal and the box."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise FrameError("link secret must be at least 16 bytes")
        self.k_mac = _hmac(secret, b"comptoir-link-mac")
        self.k_enc = _hmac(secret, b"comptoir-link-enc")


def encode(keys: LinkKeys, ftype: int, direction: int, seq: int, payload: bytes) -> bytes:
    """Build one sealed frame."""
    if ftype not in TYPES:
        raise FrameError(f"unknown frame type 0x{ftype:02x}")
    if direction not in (HOST_TO_TERMINAL, TERMINAL_TO_HOST):
        raise FrameError("bad direction")
    if not 0 <= seq <= 0xFFFFFFFF:
        raise FrameError("sequence number out of range")
    if len(payload) > MAX_PAYLOAD:
        raise FrameError("payload too large")
    header = MAGIC + struct.pack(">BBBIH", VERSION, ftype, direction, seq, len(payload))
    body = _keystream_xor(keys.k_enc, direction, seq, payload)
    tag = _hmac(keys.k_mac, header + body)[:TAG_LEN]
    return header + body + tag


class Frame:
    """One authenticated, decrypted frame."""

    def __init__(self, ftype: int, direction: int, seq: int, payload: bytes) -> None:
        self.ftype = ftype
        self.direction = direction
        self.seq = seq
        self.payload = payload

    def __repr__(self) -> str:
        # Never show the payload: it may hold PIN digits.
        return (
            f"Frame(type=0x{self.ftype:02x}, dir={self.direction}, seq={self.seq}, "
            f"{len(self.payload)} bytes)"
        )


class Receiver:
    """Reassembles frames from a byte stream for one direction and refuses replays.

    Bytes before a magic are skipped (a terminal plugged in mid-stream); a frame whose tag does
    not verify is dropped and counted, and the stream resynchronises on the next magic.
    """

    def __init__(self, keys: LinkKeys, direction: int) -> None:
        self.keys = keys
        self.direction = direction
        self.last_seq = -1
        self.rejected = 0
        self._buf = b""

    def feed(self, data: bytes) -> list[Frame]:
        """Add received bytes; return the frames now complete, in order."""
        self._buf += bytes(data)
        frames: list[Frame] = []
        for _ in range(64):  # bounded: at most 64 frames per call, the rest stays buffered
            frame = self._next()
            if frame is None:
                break
            frames.append(frame)
        return frames

    def _next(self) -> Frame | None:
        # MicroPython's bytearray has no slice deletion, so the buffer is rebuilt by slicing.
        while True:
            buf = self._buf
            start = buf.find(MAGIC)
            if start < 0:
                # Keep a possible first magic byte at the end for the next feed.
                self._buf = buf[-1:] if buf and buf[-1] == MAGIC[0] else b""
                return None
            if start:
                buf = self._buf = buf[start:]
            if len(buf) < HEADER_LEN:
                return None
            version, ftype, direction, seq, length = struct.unpack(">BBBIH", buf[2:HEADER_LEN])
            if version != VERSION or length > MAX_PAYLOAD or ftype not in TYPES:
                self.rejected += 1
                self._buf = buf[2:]
                continue
            total = HEADER_LEN + length + TAG_LEN
            if len(buf) < total:
                return None
            header, body = buf[:HEADER_LEN], buf[HEADER_LEN : total - TAG_LEN]
            tag = buf[total - TAG_LEN : total]
            good = _equal(_hmac(self.keys.k_mac, header + body)[:TAG_LEN], tag)
            if not good or direction != self.direction or seq <= self.last_seq:
                self.rejected += 1
                self._buf = buf[2:]
                continue
            self._buf = buf[total:]
            self.last_seq = seq
            payload = _keystream_xor(self.keys.k_enc, direction, seq, body)
            return Frame(ftype, direction, seq, payload)


class Sender:
    """Numbers outgoing frames for one direction."""

    def __init__(self, keys: LinkKeys, direction: int, first_seq: int = 0) -> None:
        self.keys = keys
        self.direction = direction
        self.seq = first_seq

    def seal(self, ftype: int, payload: bytes = b"") -> bytes:
        frame = encode(self.keys, ftype, self.direction, self.seq, payload)
        self.seq += 1
        return frame
