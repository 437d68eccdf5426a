"""The application carte Vitale on a phone laid on a contactless reader (NFC, Android only).

**Modelled, not public** (DOMAIN.md "ApCV": "Not public: … NFC AID and APDUs"): the AID, the
commands and the payload below are Comptoir's model, used by the simulated phone
(:mod:`drivers.sim.apcv_nfc_app`). What is known is the flow: the phone, unlocked by its
holder, hands the pharmacy software an opaque payload that goes to the GIE's
``authentifierUtilisateurProximite`` exactly like the QR content. So this driver's one job is
to return that payload; a licensed GIE library replaces it behind the same
:meth:`ApcvNfcCard.read_donnees`.

Model: SELECT by AID ``F0 43 4F 4D 50 54 4F 49 52 41 50 43 56`` ("F0" = proprietary,
unregistered RID, then "COMPTOIRAPCV"); GET DATA ``80 CA 01 00 00`` returns the payload
(ASCII). ``6A88`` = the app has no payload ready (locked phone); ``6985`` = not selected.
Contactless cards appear in PC/SC with a PC/SC part 3 ATR (``3B 8x 80 01 …``).
"""

from __future__ import annotations

from drivers.apdu import (
    ApduChannel,
    Command,
    ReferencedDataNotFound,
    StatusWordError,
    Transport,
    select_aid,
)
from drivers.errors import CardProtocolError

APCV_AID = bytes.fromhex("F0434F4D50544F495241504356")
GET_PAYLOAD = Command(0x80, 0xCA, 0x01, 0x00, b"", le=0x100)
MAX_PAYLOAD = 4096


def is_contactless_atr(atr: bytes) -> bool:
    """PC/SC part 3: a contactless ISO 14443-4 card's ATR is ``3B 8n 80 01 …``."""
    return len(atr) >= 5 and atr[0] == 0x3B and atr[1] & 0xF0 == 0x80 and atr[2:4] == b"\x80\x01"


class PhoneLocked(CardProtocolError):
    """The phone answered but its app holds no payload (locked, or the app not opened)."""


class ApcvNfcCard:
    def __init__(self, transport: Transport) -> None:
        self._channel = ApduChannel(transport)

    def read_donnees(self) -> str:
        try:
            self._channel.send(select_aid(APCV_AID))
        except StatusWordError as exc:
            raise CardProtocolError(
                f"no ApCV application on this contactless card ({exc})") from exc
        try:
            data = self._channel.send(GET_PAYLOAD)
        except ReferencedDataNotFound:
            raise PhoneLocked(
                "the phone's ApCV app has no payload: unlock it and retry") from None
        if not data or len(data) > MAX_PAYLOAD:
            raise CardProtocolError("ApCV payload empty or too long")
        try:
            text = data.decode("ascii")
        except UnicodeDecodeError:
            raise CardProtocolError("ApCV payload is not ASCII text") from None
        if not text.isprintable():
            raise CardProtocolError("ApCV payload holds control characters")
        return text
