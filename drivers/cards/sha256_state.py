"""SHA-256 split between host and card, as IAS-ECC PSO HASH requires for the CPS signature key.

IAS-ECC lets the host hash every complete 64-byte block and send the intermediate state (the
eight 32-bit words H0..H7) plus the message bit count so far, with the remaining bytes; the card
runs the last compression(s) itself, so the hash it signs is finished on the card. hashlib does
not expose the intermediate state, so the compression function (FIPS 180-4 §6.2) is written out
here; the host only runs it over the full blocks and the card over the tail.
"""

from __future__ import annotations

import struct

BLOCK = 64

_K = (
    0x428A2F98, 0x71374491, 0xB5C0FBCF, 0xE9B5DBA5, 0x3956C25B, 0x59F111F1, 0x923F82A4, 0xAB1C5ED5,
    0xD807AA98, 0x12835B01, 0x243185BE, 0x550C7DC3, 0x72BE5D74, 0x80DEB1FE, 0x9BDC06A7, 0xC19BF174,
    0xE49B69C1, 0xEFBE4786, 0x0FC19DC6, 0x240CA1CC, 0x2DE92C6F, 0x4A7484AA, 0x5CB0A9DC, 0x76F988DA,
    0x983E5152, 0xA831C66D, 0xB00327C8, 0xBF597FC7, 0xC6E00BF3, 0xD5A79147, 0x06CA6351, 0x14292967,
    0x27B70A85, 0x2E1B2138, 0x4D2C6DFC, 0x53380D13, 0x650A7354, 0x766A0ABB, 0x81C2C92E, 0x92722C85,
    0xA2BFE8A1, 0xA81A664B, 0xC24B8B70, 0xC76C51A3, 0xD192E819, 0xD6990624, 0xF40E3585, 0x106AA070,
    0x19A4C116, 0x1E376C08, 0x2748774C, 0x34B0BCB5, 0x391C0CB3, 0x4ED8AA4A, 0x5B9CCA4F, 0x682E6FF3,
    0x748F82EE, 0x78A5636F, 0x84C87814, 0x8CC70208, 0x90BEFFFA, 0xA4506CEB, 0xBEF9A3F7, 0xC67178F2,
)  # fmt: skip

INITIAL_STATE = (
    0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A,
    0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19,
)  # fmt: skip

_M = 0xFFFFFFFF


def _rotr(x: int, n: int) -> int:
    return ((x >> n) | (x << (32 - n))) & _M


def _compress(state: tuple[int, ...], block: bytes) -> tuple[int, ...]:
    w = list(struct.unpack(">16I", block))
    for i in range(16, 64):
        s0 = _rotr(w[i - 15], 7) ^ _rotr(w[i - 15], 18) ^ (w[i - 15] >> 3)
        s1 = _rotr(w[i - 2], 17) ^ _rotr(w[i - 2], 19) ^ (w[i - 2] >> 10)
        w.append((w[i - 16] + s0 + w[i - 7] + s1) & _M)
    a, b, c, d, e, f, g, h = state
    for i in range(64):
        t1 = h + (_rotr(e, 6) ^ _rotr(e, 11) ^ _rotr(e, 25)) + ((e & f) ^ (~e & g)) + _K[i] + w[i]
        t2 = (_rotr(a, 2) ^ _rotr(a, 13) ^ _rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))
        h, g, f, e, d, c, b, a = g, f, e, (d + t1) & _M, c, b, a, (t1 + t2) & _M
    return tuple((x + y) & _M for x, y in zip(state, (a, b, c, d, e, f, g, h), strict=True))


def split(data: bytes) -> tuple[bytes, bytes]:
    """``(state_and_count, tail)``: the intermediate state after every complete block but the
    tail, packed as H0..H7 then the 64-bit count of bits hashed so far (40 bytes), and the tail
    (0..63 bytes) the card must finish. At least the tail is left to the card, never nothing
    but a finished hash, so the card always computes the last block."""
    full = len(data) - (len(data) % BLOCK)
    state: tuple[int, ...] = INITIAL_STATE
    for off in range(0, full, BLOCK):
        state = _compress(state, data[off : off + BLOCK])
    return struct.pack(">8IQ", *state, full * 8), data[full:]


def finish(state_and_count: bytes, tail: bytes) -> bytes:
    """The SHA-256 digest from :func:`split`'s output (what the card does)."""
    if len(state_and_count) != 40:
        raise ValueError("intermediate SHA-256 state must be 32 bytes + 8-byte bit count")
    if len(tail) >= BLOCK:
        raise ValueError("the tail must be shorter than one 64-byte block")
    *words, bits = struct.unpack(">8IQ", state_and_count)
    if bits % (BLOCK * 8):
        raise ValueError("the bit count must cover whole 64-byte blocks")
    state = tuple(words)
    total_bits = bits + len(tail) * 8
    padded = tail + b"\x80" + b"\x00" * ((55 - len(tail)) % BLOCK) + struct.pack(">Q", total_bits)
    for off in range(0, len(padded), BLOCK):
        state = _compress(state, padded[off : off + BLOCK])
    return struct.pack(">8I", *state)
