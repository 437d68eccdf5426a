"""Property tests of the terminal link's framing and codec (appliance/protocol.py).

What a user relies on: whatever the cable delivers, the box's reader neither crashes nor loses
its footing. Arbitrary bytes raise nothing but the codec's own ``FrameError``, and garbage
costs at most the one frame it lands in.
"""

from __future__ import annotations

import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st

from appliance import protocol as p

KEYS = p.SessionKeys(b"L" * 32, b"h" * 16, b"t" * 16, b'{"serial": "X"}').terminal_to_host
bodies = st.lists(st.binary(max_size=p.MAX_BODY), min_size=1, max_size=6)


def _seqs(stream: bytes) -> list[int]:
    """Sequence numbers of the frames that open, in the order they came out of the stream."""
    got = []
    for inner in p.Deframer().feed(stream):
        with contextlib.suppress(p.FrameError):
            got.append(p.open_sealed(KEYS, inner).seq)
    return got


@given(st.binary(max_size=2000))
def test_cobs_round_trip(data: bytes) -> None:
    encoded = p.cobs_encode(data)
    assert 0 not in encoded
    assert p.cobs_decode(encoded) == data


@given(st.binary(max_size=600))
def test_decoders_raise_only_frame_error(data: bytes) -> None:
    for decode in (p.cobs_decode, p.decode_plain, lambda b: p.open_sealed(KEYS, b)):
        with contextlib.suppress(p.FrameError):
            decode(data)


@given(bodies, st.integers(min_value=1, max_value=64))
def test_sealed_frames_round_trip_in_any_chunking(payloads: list[bytes], chunk: int) -> None:
    wire = b"".join(p.seal(KEYS, p.SCAN, i, i + 1, b) for i, b in enumerate(payloads))
    deframer = p.Deframer()
    inner: list[bytes] = []
    for i in range(0, len(wire), chunk):
        inner.extend(deframer.feed(wire[i : i + chunk]))
    assert [bytes(p.open_sealed(KEYS, f).body) for f in inner] == payloads
    assert deframer.dropped == 0


@given(st.binary(max_size=3000))
def test_arbitrary_bytes_never_raise_from_the_deframer(data: bytes) -> None:
    assert _seqs(data) == []


@settings(max_examples=300)
@given(bodies, st.data())
def test_garbage_costs_at_most_the_frame_it_lands_in(
    payloads: list[bytes], data: st.DataObject
) -> None:
    frames = [p.seal(KEYS, p.SCAN, i, i + 1, b) for i, b in enumerate(payloads)]
    wire = b"".join(frames)
    at = data.draw(st.integers(min_value=0, max_value=len(wire)), label="position")
    garbage = data.draw(st.binary(min_size=1, max_size=600), label="garbage")
    got = _seqs(wire[:at] + garbage + wire[at:])
    # The frame whose bytes were split by the insertion (if any) may be lost; no other.
    ends = [sum(len(f) for f in frames[: i + 1]) for i in range(len(frames))]
    starts = [end - len(f) for end, f in zip(ends, frames, strict=True)]
    hit = [i for i in range(len(frames)) if starts[i] < at < ends[i]]
    expected = [i for i in range(len(frames)) if i not in hit]
    assert [s for s in got if s in expected] == expected
    assert set(got) <= set(range(len(frames)))  # garbage never becomes a frame


@given(bodies, st.integers(min_value=0, max_value=5000), st.integers(min_value=1, max_value=255))
def test_a_corrupted_byte_loses_one_frame_at_most(
    payloads: list[bytes], pos: int, flip: int
) -> None:
    frames = [p.seal(KEYS, p.SCAN, i, i + 1, b) for i, b in enumerate(payloads)]
    wire = bytearray(b"".join(frames))
    pos %= len(wire)
    wire[pos] ^= flip
    got = _seqs(bytes(wire))
    # Frames are sent as 00 COBS 00, so even a corrupted delimiter leaves the neighbour's own.
    assert len(got) == len(frames) - 1
    assert got == sorted(set(got))
