"""The simulated Vitale application answers APDUs the way an ISO 7816-4 card does."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from drivers import tlv
from drivers.cards import vitale_layout as layout
from drivers.sim.card import SimCard
from drivers.sim.timing import Timing
from drivers.sim.vitale_app import VitaleApplication
from drivers.sim.vitale_config import load_vitale_file
from tests.card_support import CARDS_DIR

SELECT_VITALE = bytes.fromhex("00A4040C0B") + layout.AID_VITALE


@pytest.fixture
def app() -> VitaleApplication:
    card = VitaleApplication(load_vitale_file(CARDS_DIR / "vitale-famille-martin.toml").content)
    card.power_on()
    return card


def sw(answer: bytes) -> int:
    return int.from_bytes(answer[-2:], "big")


def test_is_a_sim_card_with_vitale_atr(app: VitaleApplication) -> None:
    card: SimCard = app
    atr = card.atr
    # 3B 75 13 00 00 4x 09 EA 90 00: T0=75 announces TA1 TB1 TC1 and 5 historical bytes.
    assert atr[:5] == bytes.fromhex("3B75130000") and atr[5] & 0xF0 == 0x40
    assert atr[6:] == bytes.fromhex("09EA9000") and len(atr) == 5 + 5


def test_select_application_then_file_returns_fcp(app: VitaleApplication) -> None:
    assert app.process(SELECT_VITALE) == b"\x90\x00"
    answer = app.process(bytes.fromhex("00A4020402200200"))
    assert sw(answer) == 0x9000
    fcp = tlv.decode(answer[:-2])
    assert fcp.tag == 0x62
    assert int.from_bytes(fcp.require(0x80).value, "big") == len(app.files[0x2002])
    assert fcp.require(0x83).value == b"\x20\x02"


def test_select_with_fci(app: VitaleApplication) -> None:
    answer = app.process(bytes.fromhex("00A404000B") + layout.AID_VITALE + b"\x00")
    assert sw(answer) == 0x9000
    assert tlv.decode(answer[:-2]).require(0x84).value == layout.AID_VITALE


def test_read_binary_offsets_and_end_of_file(app: VitaleApplication) -> None:
    app.process(SELECT_VITALE)
    app.process(bytes.fromhex("00A4020C022002"))
    content = app.files[0x2002]
    assert len(content) > 256
    first = app.process(bytes.fromhex("00B0000000"))  # Le=00: 256 bytes
    assert sw(first) == 0x9000 and first[:-2] == content[:256]
    rest = app.process(bytes.fromhex("00B0010000"))  # fewer than 256 left: 6282 + data
    assert sw(rest) == 0x6282 and rest[:-2] == content[256:]
    exact = app.process(bytes.fromhex("00B0010003"))
    assert exact == content[256:259] + b"\x90\x00"
    assert sw(app.process(bytes.fromhex("00B07F0001"))) == 0x6B00


def test_read_binary_by_short_file_identifier(app: VitaleApplication) -> None:
    app.process(SELECT_VITALE)
    answer = app.process(bytes.fromhex("00B0810004"))  # SFI 1 = EF 2001, offset 0
    assert answer == app.files[0x2001][:4] + b"\x90\x00"
    # The SFI read made EF 2001 current.
    assert app.process(bytes.fromhex("00B0000104")) == app.files[0x2001][1:5] + b"\x90\x00"
    assert sw(app.process(bytes.fromhex("00B0870004"))) == 0x6A82


@pytest.mark.parametrize(
    ("apdu", "status"),
    [
        ("00B0000010", 0x6986),  # no current EF
        ("00A4020C022001", 0x6A82),  # EF before the application is selected
        ("00A4040C06A00000000101", 0x6A82),  # another application
        ("80A4040C0B" + layout.AID_VITALE.hex(), 0x6E00),
        ("00CA000000", 0x6D00),
        ("00A4", 0x6700),  # not an APDU
        ("00A40201022001", 0x6A86),
        ("00B00000000200", 0x6700),  # extended Le: a T=0 card has none
    ],
)
def test_error_status_words(app: VitaleApplication, apdu: str, status: int) -> None:
    assert sw(app.process(bytes.fromhex(apdu))) == status


def test_power_cycle_forgets_selection(app: VitaleApplication) -> None:
    app.process(SELECT_VITALE)
    app.process(bytes.fromhex("00A4020C022001"))
    assert sw(app.process(bytes.fromhex("00B0000001"))) == 0x9000
    app.power_off()
    app.power_on()
    assert sw(app.process(bytes.fromhex("00B0000001"))) == 0x6986
    assert sw(app.process(bytes.fromhex("00A4020C022001"))) == 0x6A82


@dataclass(frozen=True)
class RecordingTiming(Timing):
    spent: list[str | None] = field(default_factory=list)

    def spend(self, operation: str | None = None) -> None:
        self.spent.append(operation)


def test_reads_cost_read_time_other_commands_plain_apdu_time() -> None:
    timing = RecordingTiming()
    card = VitaleApplication(load_vitale_file(CARDS_DIR / "vitale-corse-2a.toml").content, timing)
    card.process(SELECT_VITALE)
    card.process(bytes.fromhex("00A4020C022001"))
    card.process(bytes.fromhex("00B0000010"))
    assert timing.spent == [None, None, "read"]
