"""Terminal link codec: the one module shared by the counter terminal firmware and the box.

Runs unchanged on CPython (the box's driver, tests) and on MicroPython (the terminal), so it
uses only what both have: hashlib.sha256, hmac, struct, binascii.crc32. MicroPython has no AES
(no cryptolib in the builds we target) but has HMAC-SHA256, so HMAC is both the MAC and, as a
PRF in counter mode, the keystream that hides the payload (encrypt-then-MAC): a PIN typed on
the pad must not be readable by anyone who taps the serial cable.

Layers, bottom up:

* Framing. Each frame travels as ``00 || COBS(inner) || 00``. COBS removes every zero byte from
  the frame, so a zero always means "frame boundary": after garbage, a cut cable or a terminal
  plugged in mid-stream the reader loses at most the frame in which the damage lands, and the
  leading zero flushes a half-received frame before the next one starts.
* Inner frame (big-endian)::

      version 1 | type 1 | seq 4 | msg 2 | body | trailer

  Types below 0x10 are *plain* (handshake and pairing, before any shared key exists): the
  trailer is a CRC-32 that catches line noise, nothing more. Types from 0x10 are *sealed*:
  the body is XORed with an HMAC keystream and the trailer is a 16-byte HMAC-SHA256 tag over
  header and ciphertext, with keys that belong to one session and one direction.
* ``seq`` is a per-direction transmission counter, new for every frame sent (retransmissions
  included) and strictly increasing: a replayed or reordered frame is refused. ``msg`` numbers
  the reliable messages (acknowledged, retransmitted); 0 marks an unacknowledged frame
  (acknowledgements, heartbeats).

The key schedule and the pairing computations live here too, so both ends derive the same
bytes from the same inputs by the same code; the state machines that use them are in
``appliance.link``.
"""

import binascii
import hashlib
import hmac
import struct

VERSION = 1
HEADER_LEN = 8
TAG_LEN = 16
CRC_LEN = 4
MAX_BODY = 256
MAX_INNER = HEADER_LEN + MAX_BODY + TAG_LEN
# COBS adds one byte per 254 and the leading code byte.
MAX_ENCODED = MAX_INNER + MAX_INNER // 254 + 2

# Plain frames (no key yet): handshake and pairing.
HELLO = 0x01  # host -> terminal: nonce
HELLO_REPLY = 0x02  # terminal -> host: host nonce echoed, nonce, proof of the key, identity
REFUSED = 0x03  # host -> terminal: reason (unpaired, bad proof)
PAIR_START = 0x04  # host -> terminal: host public key
PAIR_COMMIT = 0x05  # terminal -> host: terminal public key, commitment to its nonce
PAIR_NONCE = 0x06  # host -> terminal: host nonce
PAIR_REVEAL = 0x07  # terminal -> host: terminal nonce
PAIR_WAIT = 0x08  # terminal -> host: code shown, technician has not answered yet
PAIR_DONE = 0x09  # terminal -> host: confirmed (with key confirmation) or rejected

# Sealed frames (session keys).
READY = 0x10  # host -> terminal: first sealed message, proves the host holds the key
ACK = 0x11
HEARTBEAT = 0x12
DISPLAY = 0x20  # host -> terminal: a screen
PIN_REQUEST = 0x21  # host -> terminal: prompt for the PIN
PIN_ENTERED = 0x22  # terminal -> host: the digits (sealed, never in clear)
PIN_CANCELLED = 0x23
PIN_TIMEOUT = 0x24
PIN_ABORT = 0x25  # host -> terminal: stop the entry (unlock given up)
KEY = 0x30  # terminal -> host: a key pressed outside PIN entry
SCAN = 0x31  # terminal -> host: a code read by the QR scanner module

PLAIN_TYPES = (
    HELLO, HELLO_REPLY, REFUSED, PAIR_START, PAIR_COMMIT, PAIR_NONCE, PAIR_REVEAL, PAIR_WAIT,
    PAIR_DONE,
)
SEALED_TYPES = (
    READY, ACK, HEARTBEAT, DISPLAY, PIN_REQUEST, PIN_ENTERED, PIN_CANCELLED, PIN_TIMEOUT,
    PIN_ABORT, KEY, SCAN,
)

NONCE_LEN = 16

# Directions: each has its own keys, so a frame sent by the host and reflected back to it
# never verifies as one from the terminal.
HOST_TO_TERMINAL = 1
TERMINAL_TO_HOST = 2


class FrameError(Exception):
    """A frame is malformed, forged, replayed or too large: the codec's one error."""


def _hmac(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()


def equal(a: bytes, b: bytes) -> bool:
    """Compare secrets in time independent of their content (MicroPython has no compare_digest)."""
    if len(a) != len(b):
        return False
    diff = 0
    for i in range(len(a)):
        diff |= a[i] ^ b[i]
    return diff == 0


# --- COBS (Cheshire & Baker, 1999) ---------------------------------------------------------


def cobs_encode(data: bytes) -> bytes:
    """Encode so that the result holds no zero byte."""
    out = bytearray()
    block = bytearray()
    for byte in data:
        if byte == 0:
            out.append(len(block) + 1)
            out.extend(block)
            block = bytearray()
        else:
            block.append(byte)
            if len(block) == 254:
                out.append(255)
                out.extend(block)
                block = bytearray()
    out.append(len(block) + 1)
    out.extend(block)
    return bytes(out)


def cobs_decode(data: bytes) -> bytes:
    """Decode one COBS block (without its delimiter); FrameError if it is not valid COBS."""
    out = bytearray()
    i = 0
    n = len(data)
    while i < n:
        code = data[i]
        if code == 0:
            raise FrameError("zero byte inside a COBS block")
        end = i + code
        if end > n:
            raise FrameError("COBS block cut short")
        chunk = data[i + 1 : end]
        if 0 in chunk:
            raise FrameError("zero byte inside a COBS block")
        out.extend(chunk)
        i = end
        if code != 255 and i < n:
            out.append(0)
    return bytes(out)


def wrap(inner: bytes) -> bytes:
    """Inner frame -> bytes on the wire."""
    return b"\x00" + cobs_encode(inner) + b"\x00"


class Deframer:
    """Cuts a byte stream at zero bytes and COBS-decodes each piece.

    Never raises: a piece that is not valid COBS, or that grows past the largest frame without
    a delimiter, is dropped and counted, and the stream picks up at the next zero.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._overflow = False
        self.dropped = 0

    def feed(self, data: bytes) -> list[bytes]:
        """Add received bytes; return the inner frames now complete, in order."""
        frames: list[bytes] = []
        for byte in data:
            if byte == 0:
                if self._overflow:
                    self._overflow = False
                    self.dropped += 1
                elif self._buf:
                    try:
                        frames.append(cobs_decode(bytes(self._buf)))
                    except FrameError:
                        self.dropped += 1
                self._buf = bytearray()
            elif not self._overflow:
                if len(self._buf) >= MAX_ENCODED:
                    self._overflow = True
                    self._buf = bytearray()
                else:
                    self._buf.append(byte)
        return frames


# --- Frames ----------------------------------------------------------------------------------


class Frame:
    """One checked frame: plain (CRC verified) or sealed (tag verified, body decrypted)."""

    def __init__(self, ftype: int, seq: int, msg: int, body: bytes | bytearray) -> None:
        self.ftype = ftype
        self.seq = seq
        self.msg = msg
        self.body = body

    def __repr__(self) -> str:
        # Never show the body: it may hold PIN digits.
        return (
            f"Frame(type=0x{self.ftype:02x}, seq={self.seq}, msg={self.msg}, "
            f"{len(self.body)} bytes)"
        )


def _header(ftype: int, seq: int, msg: int, body: bytes | bytearray) -> bytes:
    if not 0 <= seq <= 0xFFFFFFFF:
        raise FrameError("sequence number out of range")
    if not 0 <= msg <= 0xFFFF:
        raise FrameError("message number out of range")
    if len(body) > MAX_BODY:
        raise FrameError("body too large")
    return struct.pack(">BBIH", VERSION, ftype, seq, msg)


def encode_plain(ftype: int, body: bytes) -> bytes:
    """A plain frame (handshake, pairing), ready for the wire."""
    if ftype not in PLAIN_TYPES:
        raise FrameError(f"not a plain frame type: 0x{ftype:02x}")
    inner = _header(ftype, 0, 0, body) + body
    return wrap(inner + struct.pack(">I", binascii.crc32(inner) & 0xFFFFFFFF))


def peek_type(inner: bytes) -> int:
    """The type of an inner frame, after the cheap structural checks."""
    if len(inner) < HEADER_LEN + CRC_LEN:
        raise FrameError("frame too short")
    if inner[0] != VERSION:
        raise FrameError("unknown frame version")
    ftype = inner[1]
    if ftype not in PLAIN_TYPES and ftype not in SEALED_TYPES:
        raise FrameError(f"unknown frame type 0x{ftype:02x}")
    return ftype


def decode_plain(inner: bytes) -> Frame:
    ftype = peek_type(inner)
    if ftype not in PLAIN_TYPES:
        raise FrameError("sealed frame where a plain one was expected")
    data, crc = inner[:-CRC_LEN], inner[-CRC_LEN:]
    if struct.unpack(">I", crc)[0] != binascii.crc32(data) & 0xFFFFFFFF:
        raise FrameError("bad checksum")
    if len(data) - HEADER_LEN > MAX_BODY:
        raise FrameError("body too large")
    return Frame(ftype, 0, 0, data[HEADER_LEN:])


class DirectionKeys:
    """The MAC and keystream keys of one direction of one session."""

    def __init__(self, k_mac: bytes, k_enc: bytes) -> None:
        self.k_mac = k_mac
        self.k_enc = k_enc


def _keystream_xor(k_enc: bytes, seq: int, data: bytes | bytearray) -> bytearray:
    # HMAC as a PRF in counter mode; seq is unique per direction and session, so no keystream
    # block is ever used twice under one key.
    out = bytearray(len(data))
    block = b""
    for i in range(len(data)):
        if i % 32 == 0:
            block = _hmac(k_enc, struct.pack(">II", seq, i // 32))
        out[i] = data[i] ^ block[i % 32]
    return out


def seal(keys: DirectionKeys, ftype: int, seq: int, msg: int, body: bytes | bytearray) -> bytes:
    """A sealed frame, ready for the wire."""
    if ftype not in SEALED_TYPES:
        raise FrameError(f"not a sealed frame type: 0x{ftype:02x}")
    header = _header(ftype, seq, msg, body)
    cipher = bytes(_keystream_xor(keys.k_enc, seq, body))
    tag = _hmac(keys.k_mac, header + cipher)[:TAG_LEN]
    return wrap(header + cipher + tag)


def open_sealed(keys: DirectionKeys, inner: bytes) -> Frame:
    """Check the tag and decrypt; FrameError if the frame was not sealed with these keys."""
    ftype = peek_type(inner)
    if ftype not in SEALED_TYPES:
        raise FrameError("plain frame where a sealed one was expected")
    if len(inner) < HEADER_LEN + TAG_LEN:
        raise FrameError("frame too short")
    signed, tag = inner[:-TAG_LEN], inner[-TAG_LEN:]
    if not equal(_hmac(keys.k_mac, signed)[:TAG_LEN], tag):
        raise FrameError("bad tag")
    _version, _ftype, seq, msg = struct.unpack(">BBIH", signed[:HEADER_LEN])
    cipher = signed[HEADER_LEN:]
    if len(cipher) > MAX_BODY:
        raise FrameError("body too large")
    return Frame(ftype, seq, msg, _keystream_xor(keys.k_enc, seq, cipher))


# --- Key schedule ---------------------------------------------------------------------------


class SessionKeys:
    """Keys of one session: fresh for every handshake, one pair per direction.

    master = HMAC(long-term key, label | host nonce | terminal nonce | SHA-256(identity)), so a
    new session never reuses a keystream even though sequence numbers restart at zero.
    """

    def __init__(self, ltk: bytes, host_nonce: bytes, terminal_nonce: bytes, identity: bytes):
        if len(ltk) != 32:
            raise FrameError("long-term key must be 32 bytes")
        master = _hmac(
            ltk,
            b"comptoir-session" + host_nonce + terminal_nonce + hashlib.sha256(identity).digest(),
        )
        self.host_to_terminal = DirectionKeys(_hmac(master, b"h2t-mac"), _hmac(master, b"h2t-enc"))
        self.terminal_to_host = DirectionKeys(_hmac(master, b"t2h-mac"), _hmac(master, b"t2h-enc"))


def hello_proof(ltk: bytes, host_nonce: bytes, terminal_nonce: bytes, identity: bytes) -> bytes:
    """The terminal's proof that it holds the long-term key, bound to both nonces."""
    return _hmac(ltk, b"comptoir-hello" + host_nonce + terminal_nonce + identity)[:TAG_LEN]


# --- Pairing (numeric comparison, after Bluetooth Secure Simple Pairing) ----------------------


def pair_commitment(terminal_nonce: bytes, terminal_pk: bytes, host_pk: bytes) -> bytes:
    """The terminal commits to its nonce before it sees the host's, so a man in the middle
    must pick its keys before it can know the code they will produce."""
    return _hmac(terminal_nonce, b"comptoir-commit" + terminal_pk + host_pk)


def pair_code(host_pk: bytes, terminal_pk: bytes, host_nonce: bytes, terminal_nonce: bytes) -> str:
    """Six digits both ends show; equal codes mean both saw the same keys and nonces."""
    digest = hashlib.sha256(b"comptoir-code" + host_pk + terminal_pk + host_nonce + terminal_nonce)
    value = struct.unpack(">I", digest.digest()[:4])[0] % 1000000
    return f"{value:06d}"


def pair_ltk(
    shared: bytes, host_pk: bytes, terminal_pk: bytes, host_nonce: bytes, terminal_nonce: bytes
) -> bytes:
    """The long-term key from the X25519 shared secret and the whole pairing transcript."""
    if shared == b"\x00" * 32:
        raise FrameError("degenerate public key")
    return _hmac(shared, b"comptoir-ltk" + host_pk + terminal_pk + host_nonce + terminal_nonce)


def pair_confirmation(ltk: bytes, host_nonce: bytes, terminal_nonce: bytes, serial: bytes) -> bytes:
    """Sent by the terminal once the technician confirmed: proves it derived the same key, and
    binds the serial the box will file the key under (the serial itself travelled in clear)."""
    return _hmac(ltk, b"comptoir-confirm" + host_nonce + terminal_nonce + serial)[:TAG_LEN]
