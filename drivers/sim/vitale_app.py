"""A simulated carte Vitale: the VITALE application and its files, answering real APDUs.

What it models (see ``drivers.cards.vitale_layout`` for the file layout and its sources):
the Vitale 2 ATR shape ``3B 75 13 00 00 4x 09 EA 90 00`` (T=0, five historical bytes), the
VITALE application selected by AID, three transparent EFs selected by FID, and READ BINARY by
offset or by short file identifier. Everything here is freely readable: on a real card part
of the data is protected and only the GIE SESAM-Vitale library (with a CPS) reads it.

Status words follow ISO 7816-4: 6A82 unknown file/application, 6986 READ BINARY with no EF
selected, 6B00 offset beyond the end, 6282 when fewer than Le bytes remain, 6700 for a
malformed APDU or an extended Le (a T=0 card has no extended length), 6D00/6E00/6A86 for
unsupported INS/CLA/P1-P2.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drivers.apdu import ApduFormatError, Command, Response
from drivers.cards import vitale_layout as layout
from drivers.cards.vitale_model import VitaleRead
from drivers.sim.timing import Timing
from drivers.sim.vitale_config import DEFAULT_ATR, parse_card_config
from drivers.tlv import Tlv

MF = 0x3F00

SW_OK = 0x9000
SW_END_OF_FILE = 0x6282
SW_WRONG_LENGTH = 0x6700
SW_NO_CURRENT_EF = 0x6986
SW_NOT_FOUND = 0x6A82
SW_WRONG_P1P2 = 0x6A86
SW_OFFSET_BEYOND_END = 0x6B00
SW_INS_NOT_SUPPORTED = 0x6D00
SW_CLA_NOT_SUPPORTED = 0x6E00


def _fcp(fid: int, size: int) -> bytes:
    # ISO 7816-4 FCP template: 80 size, 82 descriptor (01 = transparent working EF), 83 FID,
    # 88 short file identifier.
    return Tlv(
        0x62,
        children=(
            Tlv(0x80, size.to_bytes(2, "big")),
            Tlv(0x82, b"\x01"),
            Tlv(0x83, fid.to_bytes(2, "big")),
            Tlv(0x88, bytes([layout.SFI[fid] << 3])),
        ),
    ).encode()


class VitaleApplication:
    """Implements :class:`drivers.sim.card.SimCard` for one carte Vitale's content."""

    def __init__(
        self,
        content: VitaleRead,
        timing: Timing | None = None,
        *,
        atr: bytes = DEFAULT_ATR,
        files: Mapping[int, bytes] | None = None,
    ) -> None:
        """``files`` overrides the encoded EFs (tests use it to serve corrupt card data)."""
        self.content = content
        self.timing = timing or Timing.zero()
        self._atr = atr
        self.files: dict[int, bytes] = dict(
            files if files is not None else layout.encode_files(content)
        )
        self._app_selected = False
        self._current_ef: int | None = None

    @classmethod
    def from_config(cls, table: dict[str, Any], timing: Timing) -> VitaleApplication:
        """Build from a parsed ``kind = "vitale"`` card file; raises ``CardConfigError``."""
        config = parse_card_config(table)
        return cls(config.content, timing, atr=config.atr)

    @property
    def atr(self) -> bytes:
        return self._atr

    def power_on(self) -> None:
        self._reset()

    def power_off(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._app_selected = False
        self._current_ef = None

    def process(self, apdu: bytes) -> bytes:
        try:
            cmd = Command.parse(apdu)
        except ApduFormatError:
            self.timing.spend()
            return SW_WRONG_LENGTH.to_bytes(2, "big")
        if cmd.ins == 0xB0:
            self.timing.spend("read")
        else:
            self.timing.spend()
        return self._answer(cmd).to_bytes()

    def _answer(self, cmd: Command) -> Response:
        if cmd.cla != 0x00:
            return Response(b"", SW_CLA_NOT_SUPPORTED)
        if cmd.le is not None and cmd.le > 0x100:
            return Response(b"", SW_WRONG_LENGTH)
        if cmd.ins == 0xA4:
            return self._select(cmd)
        if cmd.ins == 0xB0:
            return self._read_binary(cmd)
        return Response(b"", SW_INS_NOT_SUPPORTED)

    def _select(self, cmd: Command) -> Response:
        if cmd.p2 not in (0x00, 0x04, 0x0C):
            return Response(b"", SW_WRONG_P1P2)
        if cmd.p1 == 0x04:
            if cmd.data != layout.AID_VITALE:
                return Response(b"", SW_NOT_FOUND)
            self._app_selected, self._current_ef = True, None
            fci = Tlv(0x6F, children=(Tlv(0x84, layout.AID_VITALE),)).encode()
            return Response(b"" if cmd.p2 == 0x0C else fci, SW_OK)
        if cmd.p1 in (0x00, 0x02):
            if len(cmd.data) != 2:
                return Response(b"", SW_WRONG_LENGTH)
            fid = int.from_bytes(cmd.data, "big")
            if fid == MF and cmd.p1 == 0x00:
                self._app_selected, self._current_ef = False, None
                return Response(b"", SW_OK)
            if not self._app_selected or fid not in self.files:
                return Response(b"", SW_NOT_FOUND)
            self._current_ef = fid
            fcp = _fcp(fid, len(self.files[fid]))
            return Response(b"" if cmd.p2 == 0x0C else fcp, SW_OK)
        return Response(b"", SW_WRONG_P1P2)

    def _read_binary(self, cmd: Command) -> Response:
        if cmd.data:
            return Response(b"", SW_WRONG_LENGTH)
        if cmd.p1 & 0x80:
            # P1 = 100xxxxx: short file identifier, P2 = offset; the EF becomes current.
            if cmd.p1 & 0x60:
                return Response(b"", SW_WRONG_P1P2)
            by_sfi = {sfi: fid for fid, sfi in layout.SFI.items() if fid in self.files}
            fid = by_sfi.get(cmd.p1 & 0x1F)
            if not self._app_selected or fid is None:
                return Response(b"", SW_NOT_FOUND)
            self._current_ef, offset = fid, cmd.p2
        else:
            if self._current_ef is None:
                return Response(b"", SW_NO_CURRENT_EF)
            offset = (cmd.p1 << 8) | cmd.p2
        data = self.files[self._current_ef]
        if offset > len(data):
            return Response(b"", SW_OFFSET_BEYOND_END)
        want = cmd.le or 0x100
        chunk = data[offset : offset + want]
        return Response(chunk, SW_OK if len(chunk) == want else SW_END_OF_FILE)
