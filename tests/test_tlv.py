"""BER-TLV codec: known encodings from ISO 7816-4 / X.690 examples, round trips, hostile input."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers import tlv
from drivers.tlv import Tlv, TlvError

# --- known encodings -----------------------------------------------------------------------


def test_primitive_short_form() -> None:
    obj = tlv.decode(bytes.fromhex("80 03 41 42 43"))
    assert obj == Tlv(0x80, b"ABC")
    assert not obj.constructed
    assert obj.encode() == bytes.fromhex("80 03 41 42 43")


def test_two_byte_tag_and_long_form_length() -> None:
    value = bytes(range(200))
    raw = bytes.fromhex("5F 20 81 C8") + value
    obj = tlv.decode(raw)
    assert obj.tag == 0x5F20 and obj.tag_hex == "5F20"
    assert obj.value == value
    assert obj.encode() == raw


def test_three_byte_tag_and_two_byte_length() -> None:
    value = b"\x01" * 300
    raw = bytes.fromhex("DF 81 02 82 01 2C") + value
    obj = tlv.decode(raw)
    assert obj.tag == 0xDF8102
    assert len(obj.value) == 300
    assert obj.encode() == raw


def test_emv_style_tag_with_small_number_is_kept() -> None:
    # 9F02 encodes tag number 2 in the long form, which X.690 DER forbids but EMV/7816 use.
    assert tlv.decode(bytes.fromhex("9F 02 01 00")).tag == 0x9F02


def test_non_minimal_length_accepted_and_reencoded_minimally() -> None:
    obj = tlv.decode(bytes.fromhex("80 81 02 AA BB"))
    assert obj.value == b"\xaa\xbb"
    assert obj.encode() == bytes.fromhex("80 02 AA BB")


def test_constructed_children_and_lookup() -> None:
    raw = bytes.fromhex("65 0C 80 02 41 42 81 01 43 93 03 31 32 33")
    obj = tlv.decode(raw)
    assert obj.constructed
    assert [c.tag for c in obj] == [0x80, 0x81, 0x93]
    assert obj.require(0x81).value == b"C"
    assert obj.find(0x82) is None
    assert obj.content == raw[2:]
    assert obj.encode() == raw


def test_find_all_keeps_card_order() -> None:
    objs = tlv.decode_all(bytes.fromhex("65 03 80 01 31 66 00 65 03 80 01 32"))
    assert [o.require(0x80).value for o in tlv.find_all(objs, 0x65)] == [b"1", b"2"]
    assert tlv.find(objs, 0x66) == Tlv(0x66)


def test_require_names_missing_tag_and_parent() -> None:
    with pytest.raises(TlvError, match="tag 93 missing in 65"):
        Tlv(0x65, children=(Tlv(0x80, b"x"),)).require(0x93)


def test_padding_skipped_only_when_asked() -> None:
    raw = bytes.fromhex("00 80 01 41 FF FF 81 01 42 00 00")
    assert tlv.decode_all(raw, padding=True) == (Tlv(0x80, b"A"), Tlv(0x81, b"B"))
    with pytest.raises(TlvError):
        tlv.decode_all(bytes.fromhex("80 01 41 FF"))


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "tag expected"),
        ("80", "length expected"),
        ("80 05 41", "announces 5 bytes, 1 left"),
        ("5F", "never ends"),
        ("5F 81 82 83 84 01", "longer than 4 bytes"),
        ("80 80", "indefinite length"),
        ("80 85 00 00 00 00 01", "uses 5 bytes"),
        ("80 82 01", "truncated"),
        ("80 01 41 42", "1 trailing bytes"),
        ("65 03 80 05 41", "announces 5 bytes"),
    ],
)
def test_malformed_input_clear_error(raw: str, message: str) -> None:
    with pytest.raises(TlvError, match=message):
        tlv.decode(bytes.fromhex(raw))


def test_nesting_limit() -> None:
    raw = b""
    for _ in range(tlv.MAX_DEPTH + 2):
        raw = bytes([0x65, len(raw)]) + raw
    with pytest.raises(TlvError, match="nesting deeper"):
        tlv.decode(raw)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"tag": 0x1F}, "not a single well-formed"),
        ({"tag": 0x0F1F}, "not a single well-formed"),
        ({"tag": 0x65, "value": b"x"}, "constructed: give children"),
        ({"tag": 0x80, "children": (Tlv(0x80),)}, "primitive: give a value"),
        ({"tag": -1}, "non-negative"),
    ],
)
def test_invalid_objects_refused_at_construction(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(TlvError, match=message):
        Tlv(**kwargs)  # type: ignore[arg-type]


# --- properties ------------------------------------------------------------------------------


def _tags(constructed: bool) -> st.SearchStrategy[int]:
    flag = 0x20 if constructed else 0x00
    single = st.integers(0, 30).flatmap(
        lambda n: st.sampled_from([0x00, 0x40, 0x80, 0xC0]).map(lambda cls: cls | flag | n)
    )
    multi = st.tuples(
        st.sampled_from([0x1F, 0x5F, 0x9F, 0xDF]),
        st.lists(st.integers(0x80, 0xFF), max_size=2),
        st.integers(0x00, 0x7F),
    ).map(lambda t: int.from_bytes(bytes([t[0] | flag, *t[1], t[2]]), "big"))
    return st.one_of(single, multi)


def _primitive() -> st.SearchStrategy[Tlv]:
    return st.builds(Tlv, _tags(False), st.binary(max_size=300))


trees = st.recursive(
    _primitive(),
    lambda kids: st.builds(
        lambda tag, children: Tlv(tag, children=tuple(children)),
        _tags(True),
        st.lists(kids, max_size=4),
    ),
    max_leaves=12,
)


@settings(max_examples=300)
@given(trees)
def test_round_trip_one(obj: Tlv) -> None:
    assert tlv.decode(obj.encode()) == obj


@settings(max_examples=200)
@given(st.lists(trees, max_size=4))
def test_round_trip_sequence(objs: list[Tlv]) -> None:
    assert tlv.decode_all(tlv.encode(objs)) == tuple(objs)


@settings(max_examples=1000)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_only_raise_tlv_error(raw: bytes) -> None:
    for padding in (False, True):
        try:
            objs = tlv.decode_all(raw, padding=padding)
        except TlvError:
            continue
        # Whatever decodes must re-encode to something that decodes to the same objects.
        assert tlv.decode_all(tlv.encode(objs)) == objs


@settings(max_examples=300)
@given(trees, st.data())
def test_truncation_and_bit_flips_only_raise_tlv_error(obj: Tlv, data: st.DataObject) -> None:
    raw = bytearray(obj.encode())
    cut = data.draw(st.integers(0, len(raw) - 1))
    with pytest.raises(TlvError):
        tlv.decode(bytes(raw[:cut]))
    index = data.draw(st.integers(0, len(raw) - 1))
    raw[index] ^= data.draw(st.integers(1, 255))
    with contextlib.suppress(TlvError):
        tlv.decode(bytes(raw))
