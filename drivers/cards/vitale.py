"""Reading a carte Vitale over any transport (pcsc, the simulator, a replay).

This driver speaks the card model described in ``drivers.cards.vitale_layout``, built from
public reverse engineering. A deployed box reads Vitale through the GIE SESAM-Vitale reading
library (licensed; protected data needs a CPS; readers named through GALSS) behind this same
:class:`VitaleCard` interface, so the daemon does not change.

Errors: a card that answers nonsense (bad status word, bad TLV, a value the layout forbids)
raises :class:`~drivers.errors.CardProtocolError`; a card without the VITALE application too,
with a message saying so. ``CardRemoved``/``ReaderUnavailable`` from the transport pass
through untouched. A NIR with a wrong key is not an error: it is reported in the read.
"""

from __future__ import annotations

from drivers.apdu import (
    ApduChannel,
    ApduFormatError,
    Command,
    FileNotFound,
    StatusWordError,
    Transport,
    read_binary,
    select_aid,
)
from drivers.cards import vitale_layout as layout
from drivers.cards.vitale_model import VitaleRead
from drivers.errors import CardProtocolError
from drivers.tlv import LayoutError, TlvError, decode

__all__ = ["VitaleCard"]

def is_vitale_atr(atr: bytes) -> bool:
    """Vitale 2 ATR shape from public dumps: ``3B 75 13 00 00 4x 09 EA 90 00``."""
    return (
        len(atr) == 10
        and atr[:5] == bytes.fromhex("3B75130000")
        and atr[5] & 0xF0 == 0x40
        and atr[6:] == bytes.fromhex("09EA9000")
    )


CHUNK = 0x100
"""Bytes per READ BINARY: Le=00 asks for 256, the most a short APDU returns."""
MAX_EF_SIZE = 0x7FFF
"""READ BINARY offsets are 15 bits (P1 bit 8 set means an SFI), which bounds every read loop
to 128 APDUs."""


def _select_ef_with_fcp(fid: int) -> Command:
    # P2=04: return the FCP, whose tag 80 gives the file size, so the read loop knows its end
    # instead of probing with 6282/6B00.
    return Command(0x00, 0xA4, 0x02, 0x04, fid.to_bytes(2, "big"), le=0x100)


def _file_size(fcp: bytes, fid: int) -> int:
    try:
        template = decode(fcp)
        size = template.require(0x80).value if template.tag == 0x62 else b""
    except TlvError as exc:
        raise CardProtocolError(f"EF {fid:04X}: bad FCP: {exc}") from None
    if not 1 <= len(size) <= 2:
        raise CardProtocolError(f"EF {fid:04X}: FCP has no 2-byte file size")
    value = int.from_bytes(size, "big")
    if value > MAX_EF_SIZE:
        raise CardProtocolError(f"EF {fid:04X}: size {value} beyond READ BINARY offsets")
    return value


class VitaleCard:
    """One carte Vitale behind ``transport`` (anything with ``transmit(bytes) -> bytes``)."""

    def __init__(self, transport: Transport) -> None:
        self._channel = ApduChannel(transport)

    def read(self) -> VitaleRead:
        """Select the VITALE application, read its files and return the parsed content."""
        try:
            try:
                self._channel.send(select_aid(layout.AID_VITALE))
            except FileNotFound:
                raise CardProtocolError("no VITALE application: not a carte Vitale") from None
            files = {fid: self._read_ef(fid) for fid in layout.FILES}
            return layout.decode_files(files)
        except StatusWordError as exc:
            raise CardProtocolError(f"unexpected answer from the card: {exc}") from None
        except ApduFormatError as exc:
            raise CardProtocolError(f"malformed response APDU: {exc}") from None
        except LayoutError as exc:
            raise CardProtocolError(f"card data not understood: {exc}") from None

    def _read_ef(self, fid: int) -> bytes:
        size = _file_size(self._channel.send(_select_ef_with_fcp(fid)), fid)
        data = b""
        while len(data) < size:
            want = min(CHUNK, size - len(data))
            chunk = self._channel.send(read_binary(len(data), le=want))
            if len(chunk) != want:
                raise CardProtocolError(
                    f"EF {fid:04X}: READ BINARY at {len(data)} returned {len(chunk)} bytes, "
                    f"asked {want}"
                )
            data += chunk
        return data
