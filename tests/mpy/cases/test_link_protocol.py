"""Terminal link codec tests, written in the MicroPython subset.

pytest runs them on CPython; tests/mpy/run.mjs runs the same file on the MicroPython
interpreter, so the firmware and the box are proven to speak the same frames.
"""

from appliance import protocol as p

LTK = b"L" * 32
H_NONCE = b"h" * 16
T_NONCE = b"t" * 16
IDENT = b'{"serial": "E6614103E7"}'


def _keys():
    return p.SessionKeys(LTK, H_NONCE, T_NONCE, IDENT)


def _open(keys, wire):
    frames = p.Deframer().feed(wire)
    assert len(frames) == 1
    return p.open_sealed(keys, frames[0])


def test_cobs_known_vectors():
    # Cheshire & Baker's examples: zeros vanish from the encoding, a 254-byte run ends a block.
    assert p.cobs_encode(b"") == b"\x01"
    assert p.cobs_encode(b"\x00") == b"\x01\x01"
    assert p.cobs_encode(b"\x11\x22\x00\x33") == b"\x03\x11\x22\x02\x33"
    assert p.cobs_encode(b"\x11\x00\x00\x00") == b"\x02\x11\x01\x01\x01"
    run = bytes(range(1, 255))
    assert p.cobs_encode(run) == b"\xff" + run + b"\x01"
    for data in (b"", b"\x00", b"\x00\x00", run, run + b"\x00", b"\x01" * 600):
        encoded = p.cobs_encode(data)
        assert 0 not in encoded
        assert p.cobs_decode(encoded) == data


def test_sealed_round_trip_hides_pin_digits():
    keys = _keys()
    wire = p.seal(keys.terminal_to_host, p.PIN_ENTERED, 5, 3, b"1234")
    assert b"1234" not in wire
    assert wire[0] == 0 and wire[-1] == 0 and 0 not in wire[1:-1]
    frame = _open(keys.terminal_to_host, wire)
    assert (frame.ftype, frame.seq, frame.msg, bytes(frame.body)) == (p.PIN_ENTERED, 5, 3, b"1234")
    assert "1234" not in repr(frame)


def test_directions_and_sessions_have_their_own_keys():
    keys = _keys()
    wire = p.seal(keys.host_to_terminal, p.DISPLAY, 0, 1, b"Bonjour")
    frame = p.Deframer().feed(wire)[0]
    other_session = p.SessionKeys(LTK, H_NONCE, b"u" * 16, IDENT)
    for other in (keys.terminal_to_host, other_session.host_to_terminal):
        try:
            p.open_sealed(other, frame)
        except p.FrameError:
            continue
        raise AssertionError("opened with the wrong keys")


def test_every_flipped_bit_is_refused():
    keys = _keys().host_to_terminal
    inner = p.Deframer().feed(p.seal(keys, p.DISPLAY, 1, 1, b"abc"))[0]
    for i in range(len(inner) * 8):
        bad = bytearray(inner)
        bad[i // 8] ^= 1 << (i % 8)
        try:
            p.open_sealed(keys, bytes(bad))
        except p.FrameError:
            continue
        raise AssertionError(f"bit {i} flipped and accepted")


def test_plain_frames_checked_by_crc():
    wire = p.encode_plain(p.HELLO, H_NONCE)
    inner = p.Deframer().feed(wire)[0]
    assert bytes(p.decode_plain(inner).body) == H_NONCE
    bad = bytearray(inner)
    bad[10] ^= 0x40
    try:
        p.decode_plain(bytes(bad))
    except p.FrameError:
        return
    raise AssertionError("corrupted plain frame accepted")


def test_deframer_resyncs_after_garbage_and_cut_frames():
    keys = _keys().terminal_to_host
    a = p.seal(keys, p.KEY, 0, 1, b"A")
    b = p.seal(keys, p.KEY, 1, 2, b"B")
    c = p.seal(keys, p.KEY, 2, 3, b"C")
    # Garbage, then a frame cut in half (the cable pulled), then two whole frames.
    stream = b"\xc5\x4d\xff garbage" + a[: len(a) // 2] + b + c
    deframer = p.Deframer()
    got = []
    for i in range(len(stream)):  # byte by byte, as a UART delivers them
        got.extend(deframer.feed(stream[i : i + 1]))
    assert [bytes(p.open_sealed(keys, f).body) for f in got if _valid(keys, f)] == [b"B", b"C"]


def _valid(keys, inner):
    try:
        p.open_sealed(keys, inner)
    except p.FrameError:
        return False
    return True


def test_oversized_run_without_delimiter_is_dropped():
    keys = _keys().terminal_to_host
    deframer = p.Deframer()
    assert deframer.feed(b"\x01" * (p.MAX_ENCODED * 3)) == []
    frames = deframer.feed(p.seal(keys, p.KEY, 0, 1, b"ok"))
    assert [bytes(p.open_sealed(keys, f).body) for f in frames] == [b"ok"]
    assert deframer.dropped == 1


def test_limits_raise_frame_error():
    keys = _keys().host_to_terminal
    for args in (
        (0x55, 0, 0, b""),
        (p.HELLO, 0, 0, b""),
        (p.ACK, -1, 0, b""),
        (p.ACK, 0, 0x10000, b""),
        (p.ACK, 0, 0, b"x" * (p.MAX_BODY + 1)),
    ):
        try:
            p.seal(keys, *args)
        except p.FrameError:
            continue
        raise AssertionError(f"accepted {args!r}")
    for bad in (b"", b"\x01", b"\x02\x10" + b"\x00" * 30, b"\x01\x99" + b"\x00" * 30):
        try:
            p.open_sealed(keys, bad)
        except p.FrameError:
            continue
        raise AssertionError(f"accepted {bad!r}")


def test_pairing_values_agree_and_code_is_six_digits():
    commit = p.pair_commitment(T_NONCE, b"T" * 32, b"H" * 32)
    assert commit != p.pair_commitment(T_NONCE, b"T" * 32, b"X" * 32)
    code = p.pair_code(b"H" * 32, b"T" * 32, H_NONCE, T_NONCE)
    assert len(code) == 6 and code.isdigit()
    assert code != p.pair_code(b"H" * 32, b"U" * 32, H_NONCE, T_NONCE)
    try:
        p.pair_ltk(b"\x00" * 32, b"H" * 32, b"T" * 32, H_NONCE, T_NONCE)
    except p.FrameError:
        return
    raise AssertionError("all-zero shared secret accepted")


def test_known_answer_vector():
    # Fixed inputs give a fixed frame on both interpreters: byte-for-byte compatibility.
    wire = p.seal(_keys().host_to_terminal, p.DISPLAY, 7, 2, b"Bonjour")
    inner = p.cobs_decode(wire[1:-1])
    assert inner[:8] == b"\x01\x20\x00\x00\x00\x07\x00\x02"
    assert len(inner) == 8 + 7 + 16
    import binascii

    assert binascii.hexlify(inner[8:]) == (
        b"89b66a74529920518017e02dce98c198c47b32ee020ac6"
    )
