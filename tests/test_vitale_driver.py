"""The Vitale driver: the documented layout byte for byte, and corrupt or foreign cards giving
``CardProtocolError`` instead of a crash."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.cards import nir, vitale_layout
from drivers.cards.vitale import VitaleCard
from drivers.cards.vitale_model import (
    AmcContract,
    Beneficiary,
    BirthDate,
    CardInfo,
    Exemption,
    Insured,
    RightsPeriod,
    Scheme,
    VitaleRead,
)
from drivers.errors import CardProtocolError, CardRemoved
from drivers.sim.vitale_app import VitaleApplication
from drivers.sim.vitale_config import load_vitale_file
from tests.card_support import CARDS_DIR, DirectTransport

FAMILY = load_vitale_file(CARDS_DIR / "vitale-famille-martin.toml").content
SMALL = load_vitale_file(CARDS_DIR / "vitale-corse-2b.toml").content


def _read_files(files: dict[int, bytes]) -> VitaleRead:
    return VitaleCard(DirectTransport(VitaleApplication(FAMILY, files=files))).read()


def _obj(tag: int, *parts: bytes) -> bytes:
    body = b"".join(parts)
    assert len(body) < 0x80
    return bytes([tag, len(body)]) + body


def _p(tag: int, text: str) -> bytes:
    return _obj(tag, text.encode("utf-8"))


def test_layout_bytes_as_documented() -> None:
    # Written by hand from the layout in docs/cards-vitale.md, not from the encoder.
    ef2001 = _obj(0x66, _p(0x80, "20200210"), _p(0x81, "V2"), _p(0x82, "2300000268")) + _obj(
        0x67,
        _p(0x93, "268072B30208844"),
        _obj(0xA0, _p(0x80, "01"), _p(0x81, "202"), _p(0x82, "0001"), _p(0x83, "10")),
        _obj(0xA1, _p(0x80, "20250401"), _p(0x81, "20270331")),
    )
    ef2002 = _obj(
        0x65,
        _p(0x80, "PAOLI"),
        _p(0x81, "Marie-Dominique"),
        _p(0x82, "19680719"),
        _p(0x83, "FILIPPI"),
        _p(0x84, "1"),
        _p(0x85, "00"),
        _p(0x93, "268072B30208844"),
    )
    files = vitale_layout.encode_files(SMALL)
    assert files == {0x2001: ef2001, 0x2002: ef2002, 0x2003: b""}
    assert vitale_layout.decode_files(files) == SMALL


def test_padding_and_unknown_tags_are_skipped() -> None:
    files = vitale_layout.encode_files(FAMILY)
    nationality = bytes.fromhex("90 03") + b"FRA"
    beneficiaries = files[0x2002]
    # Insert a 90 (nationality, shown by cardpeek) into the first beneficiary, and pad.
    first_len = beneficiaries[1]
    patched = bytes([0x65, first_len + 5]) + beneficiaries[2 : 2 + first_len] + nationality
    files[0x2002] = patched + beneficiaries[2 + first_len :] + b"\xff" * 40
    files[0x2001] = b"\x00\x00" + files[0x2001] + b"\x00" * 17
    assert _read_files(files) == FAMILY


@pytest.mark.parametrize(
    ("fid", "content", "message"),
    [
        (0x2001, b"", "EF 2001: constructed tag 66 missing"),
        (0x2001, bytes.fromhex("66 05 80 01"), "EF 2001: truncated"),
        (0x2002, b"", "1 to 6 expected, got 0"),
        (0x2002, _obj(0x65, _p(0x80, "X")), "beneficiary 1: tag 81 missing"),
        (
            0x2002,
            _obj(0x65, _p(0x80, "X"), _obj(0x81, b"\xe9"), _p(0x82, "20000101")),
            "beneficiary 1: tag 81 is not UTF-8",
        ),
        (
            0x2002,
            _obj(
                0x65,
                _p(0x80, "X"),
                _p(0x81, "Y"),
                _p(0x82, "20001301"),
                _p(0x84, "1"),
                _p(0x85, "00"),
            ),
            "beneficiary 1: birth_date: month must be 00-12",
        ),
        (
            0x2002,
            _obj(
                0x65,
                _p(0x80, "X"),
                _p(0x81, "Y"),
                _p(0x82, "20000101"),
                _p(0x84, "0"),
                _p(0x85, "00"),
            ),
            "beneficiary 1: rang must be one digit",
        ),
        (0x2003, _obj(0x68, _p(0x80, "12"), _p(0x81, "M")), "AMC contract 1: tag 83 missing"),
    ],
)
def test_corrupt_files_give_card_protocol_error(fid: int, content: bytes, message: str) -> None:
    files = vitale_layout.encode_files(FAMILY)
    files[fid] = content
    with pytest.raises(CardProtocolError, match=message):
        _read_files(files)


class ScriptedCard:
    """A card that answers every APDU the same way (for protocol failures)."""

    def __init__(self, answer: bytes) -> None:
        self.answer = answer

    def transmit(self, apdu: bytes) -> bytes:
        return self.answer


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (b"\x6a\x82", "no VITALE application"),
        (b"\x90", "malformed response APDU"),
        (b"\x69\x85", "unexpected answer from the card"),
    ],
)
def test_foreign_or_broken_card(answer: bytes, message: str) -> None:
    with pytest.raises(CardProtocolError, match=message):
        VitaleCard(ScriptedCard(answer)).read()


def test_card_removed_passes_through() -> None:
    class Removed:
        def transmit(self, apdu: bytes) -> bytes:
            raise CardRemoved("card left the reader")

    with pytest.raises(CardRemoved):
        VitaleCard(Removed()).read()


def test_short_read_from_card_is_an_error() -> None:
    class ShortReads(DirectTransport):
        def transmit(self, apdu: bytes) -> bytes:
            answer = super().transmit(apdu)
            if apdu[1] == 0xB0 and len(answer) > 3:
                return answer[:1] + answer[-2:]  # one byte but 9000
            return answer

    with pytest.raises(CardProtocolError, match="returned 1 bytes"):
        VitaleCard(ShortReads(VitaleApplication(FAMILY))).read()


def test_fcp_without_size_is_an_error() -> None:
    class NoSize(DirectTransport):
        def transmit(self, apdu: bytes) -> bytes:
            answer = super().transmit(apdu)
            if apdu[1] == 0xA4 and apdu[2] == 0x02:
                return bytes.fromhex("6203 8201 01 9000")
            return answer

    with pytest.raises(CardProtocolError, match="EF 2001: bad FCP"):
        VitaleCard(NoSize(VitaleApplication(FAMILY))).read()


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from([0x2001, 0x2002, 0x2003]), st.data())
def test_truncated_or_flipped_card_data_never_crashes(fid: int, data: st.DataObject) -> None:
    files = vitale_layout.encode_files(FAMILY)
    raw = bytearray(files[fid])
    cut = data.draw(st.integers(0, len(raw)))
    raw = raw[:cut]
    if raw and data.draw(st.booleans()):
        raw[data.draw(st.integers(0, len(raw) - 1))] ^= data.draw(st.integers(1, 255))
    files[fid] = bytes(raw)
    try:
        read = _read_files(files)
    except CardProtocolError:
        return
    assert isinstance(read, VitaleRead)


def test_truncated_card_file_always_detected() -> None:
    full = vitale_layout.encode_files(FAMILY)[0x2001]
    for cut in range(len(full)):
        files = vitale_layout.encode_files(FAMILY)
        files[0x2001] = full[:cut]
        with pytest.raises(CardProtocolError):
            _read_files(files)


# --- layout round trip over generated content ------------------------------------------------

_dates = st.dates(dt.date(1900, 1, 1), dt.date(2099, 12, 31))
_names = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp", "Co", "Cn")),
    min_size=1,
    max_size=40,
).filter(lambda s: s.strip() != "" and s.isprintable())


def _digits(n: int) -> st.SearchStrategy[str]:
    return st.text("0123456789", min_size=n, max_size=n)


@st.composite
def _period(draw: st.DrawFn) -> tuple[dt.date, dt.date | None]:
    start = draw(_dates)
    end = draw(st.none() | st.dates(start, dt.date(2099, 12, 31)))
    return start, end


_birth = st.builds(
    lambda y, m, d: BirthDate(f"{y:04d}{m:02d}{d:02d}"),
    st.integers(1900, 2030),
    st.integers(0, 12),
    st.integers(0, 31),
)
_nir_text = st.builds(lambda body, key: nir.check(body + key), _digits(13), _digits(2))
_beneficiary = st.builds(
    Beneficiary,
    nom_usuel=_names,
    prenom=_names,
    birth_date=_birth,
    rang=st.integers(1, 9),
    qualite=_digits(2),
    nom_naissance=st.none() | _names,
    nir=st.none() | _nir_text,
    rights_end=st.none() | _dates,
)
_amc = _period().flatmap(
    lambda p: st.builds(
        AmcContract,
        organisme=st.integers(8, 10).flatmap(_digits),
        name=_names,
        adherent=st.none() | _names.filter(lambda s: len(s) <= 20),
        start=st.just(p[0]),
        end=st.just(p[1]),
    )
)
_content = st.builds(
    VitaleRead,
    card=st.builds(
        CardInfo,
        card_type=st.sampled_from(["V1", "V2"]),
        serial=st.integers(8, 20).flatmap(_digits),
        valid_from=_dates,
    ),
    insured=st.builds(
        Insured,
        nir=_nir_text,
        scheme=st.builds(Scheme, _digits(2), _digits(3), _digits(4), _digits(2)),
        rights=st.lists(_period().map(lambda p: RightsPeriod(*p)), max_size=3).map(tuple),
        exemptions=st.lists(
            st.tuples(st.integers(1, 2).flatmap(_digits), _period()).map(
                lambda t: Exemption(t[0], *t[1])
            ),
            max_size=2,
        ).map(tuple),
    ),
    beneficiaries=st.lists(_beneficiary, min_size=1, max_size=6).map(tuple),
    amc=st.lists(_amc, max_size=2).map(tuple),
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(_content)
def test_any_valid_content_survives_card_and_driver(content: VitaleRead) -> None:
    card = VitaleApplication(content)
    assert VitaleCard(DirectTransport(card)).read() == content
