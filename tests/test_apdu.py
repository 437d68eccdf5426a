"""The APDU codec and channel: encoding per ISO 7816-4 cases, status words as typed errors,
61xx / 6Cxx handling."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers import apdu
from drivers.apdu import ApduChannel, ApduFormatError, Command, Response
from drivers.errors import CardProtocolError, PinBlocked, SecurityNotSatisfied, WrongPin

byte = st.integers(0, 255)


@st.composite
def commands(draw: st.DrawFn) -> Command:
    data = draw(st.one_of(st.binary(max_size=300), st.binary(min_size=250, max_size=600)))
    le = draw(st.one_of(st.none(), st.integers(1, 0x10000)))
    return Command(draw(byte), draw(byte), draw(byte), draw(byte), data, le)


@given(commands())
def test_command_round_trip(cmd: Command) -> None:
    assert Command.parse(cmd.to_bytes()) == cmd


@given(st.binary(max_size=600))
def test_parse_arbitrary_bytes_only_raises_codec_error(raw: bytes) -> None:
    try:
        cmd = Command.parse(raw)
    except ApduFormatError:
        return
    # Whatever parsed must re-encode to a valid APDU that parses back to the same command.
    assert Command.parse(cmd.to_bytes()) == cmd


@given(st.binary(max_size=300))
def test_response_from_arbitrary_bytes(raw: bytes) -> None:
    try:
        resp = Response.from_bytes(raw)
    except ApduFormatError:
        assert len(raw) < 2
        return
    assert resp.to_bytes() == raw


def test_short_encodings_by_case() -> None:
    assert Command(0, 0xA4, 4, 0x0C).to_bytes() == bytes.fromhex("00A4040C")
    assert Command(0, 0xB0, 0, 0, le=256).to_bytes() == bytes.fromhex("00B0000000")
    assert Command(0, 0x20, 0, 1, b"\x31\x32").to_bytes() == bytes.fromhex("00200001023132")
    assert Command(0, 0x88, 0, 0, b"\x01", le=256).to_bytes() == bytes.fromhex("00880000010100")


def test_extended_when_data_over_255_or_le_over_256() -> None:
    raw = Command(0, 0x2A, 0x80, 0x86, bytes(256), le=256).to_bytes()
    assert raw[4:7] == b"\x00\x01\x00" and raw[-2:] == b"\x01\x00" and len(raw) == 4 + 3 + 256 + 2
    assert Command(0, 0xB0, 0, 0, le=65536).to_bytes() == bytes.fromhex("00B00000000000")
    assert Command(0, 0xB0, 0, 0, le=257).to_bytes() == bytes.fromhex("00B00000000101")


@pytest.mark.parametrize(
    "raw",
    ["00A404", "00A4040C0331", "00A4040C0000", "00A4040C00000231", "00A4040C00000000"],
)
def test_malformed_commands_are_rejected(raw: str) -> None:
    with pytest.raises(ApduFormatError):
        Command.parse(bytes.fromhex(raw))


def test_field_ranges_are_checked() -> None:
    with pytest.raises(ApduFormatError):
        Command(0x100, 0, 0, 0)
    with pytest.raises(ApduFormatError):
        Command(0, 0, 0, 0, le=0)
    with pytest.raises(ApduFormatError):
        Command(0, 0, 0, 0, bytes(65536))


def test_repr_never_shows_data() -> None:
    assert "31323334" not in repr(Command(0, 0x20, 0, 1, b"1234"))
    assert "1234" not in repr(Command(0, 0x20, 0, 1, b"1234"))


def test_status_words_map_to_person_meaningful_errors() -> None:
    err = apdu.status_error(0x63C2)
    assert isinstance(err, WrongPin) and err.tries_left == 2 and err.sw == 0x63C2
    assert isinstance(apdu.status_error(0x6983), PinBlocked)
    assert isinstance(apdu.status_error(0x6982), SecurityNotSatisfied)
    assert isinstance(apdu.status_error(0x6A82), apdu.FileNotFound)
    assert isinstance(apdu.status_error(0x6D00), apdu.InsNotSupported)
    other = apdu.status_error(0x6F12)
    assert type(other) is apdu.StatusWordError and "6F12" in str(other)


class ScriptedCard:
    """A transport that answers from a script and records what it was sent."""

    def __init__(self, answers: list[str]) -> None:
        self.answers = [bytes.fromhex(a) for a in answers]
        self.sent: list[bytes] = []

    def transmit(self, raw: bytes) -> bytes:
        self.sent.append(raw)
        return self.answers.pop(0)


def test_channel_follows_61xx_with_get_response() -> None:
    card = ScriptedCard(["AAAA6104", "BBBBBBBB6102", "CCCC9000"])
    assert ApduChannel(card).send(Command(0, 0xB0, 0, 0, le=256)) == bytes.fromhex(
        "AAAABBBBBBBBCCCC"
    )
    assert card.sent[1] == bytes.fromhex("00C0000004")
    assert card.sent[2] == bytes.fromhex("00C0000002")


def test_channel_resends_with_le_from_6cxx() -> None:
    card = ScriptedCard(["6C03", "0102039000"])
    assert ApduChannel(card).send(Command(0, 0xCA, 0, 0, le=256)) == b"\x01\x02\x03"
    assert card.sent[1] == bytes.fromhex("00CA000003")


def test_channel_raises_typed_errors_and_transceive_keeps_warnings() -> None:
    with pytest.raises(WrongPin) as exc:
        ApduChannel(ScriptedCard(["63C1"])).send(Command(0, 0x20, 0, 1, b"0000"))
    assert exc.value.tries_left == 1
    resp = ApduChannel(ScriptedCard(["01026282"])).transceive(apdu.read_binary(0))
    assert resp.data == b"\x01\x02" and resp.sw == 0x6282


def test_channel_bounds_endless_61xx() -> None:
    card = ScriptedCard(["6101"] * (apdu.MAX_GET_RESPONSE_ROUNDS + 2))
    # The card's fault: a card error (502 card-protocol-error on the API), not a ValueError.
    with pytest.raises(CardProtocolError) as exc:
        ApduChannel(card).send(Command(0, 0xB0, 0, 0, le=256))
    assert not isinstance(exc.value, ValueError)


def test_command_builders() -> None:
    aid = bytes.fromhex("E828BD080F80250000 01FF0010".replace(" ", ""))
    assert apdu.select_aid(aid).to_bytes() == bytes.fromhex("00A4040C0D") + aid
    assert apdu.select_path(bytes.fromhex("3F002F01")).to_bytes() == bytes.fromhex(
        "00A4080C043F002F01"
    )
    assert apdu.read_binary(0x1234, 16).to_bytes() == bytes.fromhex("00B0123410")
    with pytest.raises(ApduFormatError):
        apdu.read_binary(0x8000)
    with pytest.raises(ApduFormatError):
        apdu.select_path(b"\x3f")
