"""Shared by the Vitale tests: the sample card files and a direct transport to a sim card."""

from __future__ import annotations

from pathlib import Path

from drivers.sim.card import SimCard

CARDS_DIR = Path(__file__).resolve().parent.parent / "drivers" / "sim" / "cards"
SAMPLE_CARDS = sorted(CARDS_DIR.glob("vitale-*.toml"))


class DirectTransport:
    """The driver's ``transmit`` straight into a simulated card's ``process``, with a log of
    the command APDUs so tests can see how the driver talked to the card."""

    def __init__(self, card: SimCard) -> None:
        self.card = card
        self.sent: list[bytes] = []
        card.power_on()

    def transmit(self, apdu: bytes) -> bytes:
        self.sent.append(bytes(apdu))
        return self.card.process(apdu)
