"""X25519 (RFC 7748) in plain integer arithmetic, for the terminal's pairing.

MicroPython's builds have no elliptic-curve module, but they have arbitrary-precision integers
and three-argument ``pow``; the Montgomery ladder below is RFC 7748 section 5 line by line.
It runs once per pairing (a few hundred milliseconds on an RP2040), never per frame. It is
not constant-time at the machine level (big-integer arithmetic is not); the private key is
ephemeral (one per pairing) and the pairing happens with the technician in front of the box,
which is the limit docs/terminal.md states. The box uses ``cryptography``'s X25519; the tests
check both against the RFC vectors and against each other.
"""

P = 2**255 - 19
A24 = 121665


def _decode_scalar(k: bytes) -> int:
    b = bytearray(k)
    b[0] &= 248
    b[31] &= 127
    b[31] |= 64
    return int.from_bytes(bytes(b), "little")


def _decode_u(u: bytes) -> int:
    b = bytearray(u)
    b[31] &= 127
    return int.from_bytes(bytes(b), "little") % P


def x25519(k: bytes, u: bytes) -> bytes:
    """Scalar multiplication: ``k`` the 32-byte private scalar, ``u`` a 32-byte public point."""
    if len(k) != 32 or len(u) != 32:
        raise ValueError("X25519 inputs are 32 bytes")
    scalar = _decode_scalar(k)
    x1 = _decode_u(u)
    x2, z2, x3, z3 = 1, 0, x1, 1
    swap = 0
    for t in range(254, -1, -1):
        bit = (scalar >> t) & 1
        swap ^= bit
        if swap:
            x2, x3 = x3, x2
            z2, z3 = z3, z2
        swap = bit
        a = (x2 + z2) % P
        aa = a * a % P
        b = (x2 - z2) % P
        bb = b * b % P
        e = (aa - bb) % P
        c = (x3 + z3) % P
        d = (x3 - z3) % P
        da = d * a % P
        cb = c * b % P
        x3 = (da + cb) % P
        x3 = x3 * x3 % P
        z3 = (da - cb) % P
        z3 = x1 * (z3 * z3 % P) % P
        x2 = aa * bb % P
        z2 = e * (aa + A24 * e % P) % P
    if swap:
        x2, x3 = x3, x2
        z2, z3 = z3, z2
    result = x2 * pow(z2, P - 2, P) % P
    return result.to_bytes(32, "little")


BASE = b"\x09" + b"\x00" * 31


def public_key(private: bytes) -> bytes:
    return x25519(private, BASE)
