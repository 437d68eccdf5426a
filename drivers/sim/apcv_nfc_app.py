"""A simulated phone running the application carte Vitale, laid on a contactless reader.

Speaks the *modelled* APDUs of :mod:`drivers.cards.apcv_nfc` (the real AID and APDUs are not
public). Each GET DATA hands over the next single-use payload of its card file, as the app
would generate a fresh one per tap; ``locked = true`` models a phone whose app is not
unlocked (``6A88``). Card file (``kind = "apcv-nfc"``)::

    kind = "apcv-nfc"
    description = "..."
    payloads = ["APCV1....", "APCV1...."]   # accepted by the ApCV double's fixtures
    locked = false
"""

from __future__ import annotations

from typing import Any

from drivers.apdu import ApduFormatError, Command
from drivers.cards.apcv_nfc import APCV_AID
from drivers.sim.card_table import CardConfigError, Table
from drivers.sim.timing import Timing

CONTACTLESS_ATR = bytes.fromhex("3B80800101")
"""PC/SC part 3 ATR of an ISO 14443-4 type A card without historical bytes (TCK 01)."""
TOP = {"kind", "description", "payloads", "locked"}


class ApcvNfcApplication:
    """Implements :class:`drivers.sim.card.SimCard`."""

    def __init__(self, payloads: list[str], *, locked: bool = False,
                 timing: Timing | None = None) -> None:
        self.payloads = list(payloads)
        self.locked = locked
        self.timing = timing or Timing.zero()
        self._selected = False

    @classmethod
    def from_config(cls, table: dict[str, Any], timing: Timing) -> ApcvNfcApplication:
        top = Table(table, "", TOP)
        payloads = top.get("payloads", list)
        if not payloads or not all(isinstance(p, str) and p.isascii() and 0 < len(p) <= 255
                                   for p in payloads):
            raise CardConfigError("payloads: a list of 1-255 character ASCII strings")
        locked = top.get("locked", bool, required=False)
        return cls(list(payloads), locked=bool(locked), timing=timing)

    @property
    def atr(self) -> bytes:
        return CONTACTLESS_ATR

    def power_on(self) -> None:
        self._selected = False

    def power_off(self) -> None:
        self._selected = False

    def process(self, apdu: bytes) -> bytes:
        self.timing.spend()
        try:
            cmd = Command.parse(apdu)
        except ApduFormatError:
            return b"\x67\x00"
        if cmd.ins == 0xA4 and cmd.p1 == 0x04:
            self._selected = cmd.data == APCV_AID
            return b"\x90\x00" if self._selected else b"\x6a\x82"
        if cmd.cla == 0x80 and cmd.ins == 0xCA and (cmd.p1, cmd.p2) == (0x01, 0x00):
            if not self._selected:
                return b"\x69\x85"
            if self.locked or not self.payloads:
                return b"\x6a\x88"
            return self.payloads.pop(0).encode("ascii") + b"\x90\x00"
        return b"\x6d\x00"
