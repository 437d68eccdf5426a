"""Terminal link codec tests, written in the MicroPython subset.

pytest runs them on CPython; tests/mpy/run.mjs runs the same file on the MicroPython
interpreter, so the firmware and the box are proven to speak the same frames.
"""

from appliance import protocol as p

SECRET = b"0123456789abcdef-pairing-secret"


def _pair():
    keys = p.LinkKeys(SECRET)
    return p.Sender(keys, p.TERMINAL_TO_HOST), p.Receiver(keys, p.TERMINAL_TO_HOST)


def test_round_trip_hides_pin_digits():
    sender, receiver = _pair()
    wire = sender.seal(p.PIN_ENTERED, b"1234")
    assert b"1234" not in wire
    frames = receiver.feed(wire)
    assert len(frames) == 1
    assert frames[0].ftype == p.PIN_ENTERED
    assert frames[0].payload == b"1234"
    assert "1234" not in repr(frames[0])


def test_split_stream_and_leading_noise():
    sender, receiver = _pair()
    wire = b"\x00\xc5garbage" + sender.seal(p.KEY, b"OK") + sender.seal(p.KEY, b"C")
    got = []
    for i in range(len(wire)):
        got.extend(receiver.feed(wire[i : i + 1]))
    assert [f.payload for f in got] == [b"OK", b"C"]


def test_tampered_frame_is_dropped_and_stream_recovers():
    sender, receiver = _pair()
    bad = bytearray(sender.seal(p.KEY, b"A"))
    bad[12] ^= 0x01
    good = sender.seal(p.KEY, b"B")
    frames = receiver.feed(bytes(bad) + good)
    assert [f.payload for f in frames] == [b"B"]
    assert receiver.rejected >= 1


def test_replay_and_wrong_direction_refused():
    sender, receiver = _pair()
    first = sender.seal(p.ACK)
    assert len(receiver.feed(first)) == 1
    assert receiver.feed(first) == []
    host = p.Sender(p.LinkKeys(SECRET), p.HOST_TO_TERMINAL, first_seq=100)
    assert receiver.feed(host.seal(p.ACK)) == []


def test_other_secret_refused():
    sender, _ = _pair()
    stranger = p.Receiver(p.LinkKeys(b"another-secret-of-16+"), p.TERMINAL_TO_HOST)
    assert stranger.feed(sender.seal(p.PIN_ENTERED, b"0000")) == []


def test_limits_raise_frame_error():
    keys = p.LinkKeys(SECRET)
    for args in (
        (0x55, 1, 0, b""),
        (p.ACK, 3, 0, b""),
        (p.ACK, 1, -1, b""),
        (p.ACK, 1, 0, b"x" * (p.MAX_PAYLOAD + 1)),
    ):
        try:
            p.encode(keys, *args)
        except p.FrameError:
            continue
        raise AssertionError(f"accepted {args!r}")
    try:
        p.LinkKeys(b"short")
    except p.FrameError:
        return
    raise AssertionError("short secret accepted")


def test_known_answer_vector():
    # Fixed inputs give a fixed frame on both interpreters: byte-for-byte compatibility.
    keys = p.LinkKeys(SECRET)
    frame = p.encode(keys, p.DISPLAY, p.HOST_TO_TERMINAL, 7, b"Bonjour")
    assert frame[:11] == b"\xc5\x4d\x01\x10\x01\x00\x00\x00\x07\x00\x07"
    assert len(frame) == 11 + 7 + 16
