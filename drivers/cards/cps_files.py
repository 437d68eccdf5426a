"""Where a CPS keeps things and how its holder data files are laid out.

File identifiers, the PKCS#15 AID, EF.ATR and EF.SN.ICC locations and the key references follow
the public descriptions of the CPS3 (DOMAIN.md). The byte layout of the holder files
(CPS_ID_CARD, CPS_NAME_PS, CPS_INFO_PS, CPS_ACTIVITY_xx_PS) is not public: this module defines
Comptoir's own BER-TLV layout, used by the simulated card to write them and by the driver to
read them, so the two can never disagree. A deployed box reading real CPS3 cards goes through
the PKCS#11 backend (OpenSC / Cryptolib) for these fields instead.

Layout (all text UTF-8, every file one constructed ``70`` template):
- CPS_ID_CARD  ``3F00/0001/D001``: 5A card serial (ASCII digits), 50 card type ("CPS3"),
  5F25 start date, 5F24 end date (YYYYMMDD). Free to read.
- CPS_NAME_PS  ``3F00/0001/D002``: 80 civilité, 81 nom d'exercice, 82 prénom. Free to read.
- CPS_INFO_PS  ``3F00/0001/D003``: 83 identifier type ("8" = RPPS), 84 RPPS number,
  85 profession label, 86 specialty label (absent when none). Free to read.
- CPS_ACTIVITY_01..16_PS ``3F00/0001/D120..D12F``: 90 situation number (1 byte), 91 role,
  92 structure name, 93 FINESS, 94 SIRET (93/94 absent when unknown); an unused slot holds an
  empty ``70 00``. Reading needs the cardholder PIN.
"""

from __future__ import annotations

from drivers import tlv
from drivers.cards.cps_model import CpsHolder, Situation
from drivers.tlv import LayoutError

PKCS15_AID = bytes.fromhex("E828BD080F8025000001FF0010")
ISSUER_ID = bytes.fromhex("8025000001")

MF = 0x3F00
EF_DIR = 0x2F00
EF_ATR = 0x2F01
EF_SN_ICC = 0xD003
SFI_SN_ICC = 0x1C
"""IAS-ECC reads EF.SN.ICC by short identifier (READ BINARY 00 B0 9C 00)."""
DF_CPS_DATA = 0x0001
EF_ID_CARD = 0xD001
EF_NAME_PS = 0xD002
EF_INFO_PS = 0xD003
EF_ACTIVITY_FIRST = 0xD120
SITUATION_SLOTS = 16

PKCS15_DF = 0x7F10
"""FID of the PKCS#15 application DF (selected by AID in practice; the FID is ours)."""
EF_ODF = 0x5031
EF_TOKENINFO = 0x5032
EF_AODF = 0x5033
EF_PRKDF = 0x5034
EF_CDF = 0x5035
EF_CERT_AUTH = 0x5501
EF_CERT_SIGN = 0x5502

PIN_REF = 0x01
"""Global cardholder PIN (IAS-ECC: a reference without bit 8 lives in the MF)."""
PUK_REF = 0x02
KEY_SIGN = 0x81
KEY_AUTH = 0x82

TEMPLATE = 0x70
TAG_SERIAL, TAG_CARD_TYPE, TAG_START, TAG_END = 0x5A, 0x50, 0x5F25, 0x5F24
TAG_CIVILITE, TAG_NOM, TAG_PRENOM = 0x80, 0x81, 0x82
TAG_ID_TYPE, TAG_RPPS, TAG_PROFESSION, TAG_SPECIALTY = 0x83, 0x84, 0x85, 0x86
TAG_SIT_NUMBER, TAG_SIT_ROLE, TAG_SIT_NAME, TAG_SIT_FINESS, TAG_SIT_SIRET = (
    0x90, 0x91, 0x92, 0x93, 0x94,
)  # fmt: skip


def activity_path(number: int) -> bytes:
    """Path from the MF of situation file ``number`` (1..16)."""
    if not 1 <= number <= SITUATION_SLOTS:
        raise ValueError(f"situation number must be 1..{SITUATION_SLOTS}, got {number}")
    return _path(MF, DF_CPS_DATA, EF_ACTIVITY_FIRST + number - 1)


def data_path(fid: int) -> bytes:
    return _path(MF, DF_CPS_DATA, fid)


def _path(*fids: int) -> bytes:
    return b"".join(f.to_bytes(2, "big") for f in fids)


def _text(tag: int, value: str) -> tlv.Tlv:
    return tlv.Tlv(tag, value.encode("utf-8"))


def _template(*items: tlv.Tlv | None) -> bytes:
    return tlv.Tlv(TEMPLATE, children=tuple(i for i in items if i is not None)).encode()


def encode_id_card(serial: str, card_type: str, start: str, end: str) -> bytes:
    return _template(
        _text(TAG_SERIAL, serial),
        _text(TAG_CARD_TYPE, card_type),
        _text(TAG_START, start),
        _text(TAG_END, end),
    )


def encode_name(holder: CpsHolder) -> bytes:
    return _template(
        _text(TAG_CIVILITE, holder.civilite),
        _text(TAG_NOM, holder.nom),
        _text(TAG_PRENOM, holder.prenom),
    )


def encode_info(holder: CpsHolder) -> bytes:
    return _template(
        _text(TAG_ID_TYPE, "8"),
        _text(TAG_RPPS, holder.rpps),
        _text(TAG_PROFESSION, holder.profession),
        _text(TAG_SPECIALTY, holder.specialty) if holder.specialty else None,
    )


def encode_situation(sit: Situation | None) -> bytes:
    if sit is None:
        return _template()
    return _template(
        tlv.Tlv(TAG_SIT_NUMBER, bytes((sit.number,))),
        _text(TAG_SIT_ROLE, sit.role),
        _text(TAG_SIT_NAME, sit.structure_name),
        _text(TAG_SIT_FINESS, sit.finess) if sit.finess else None,
        _text(TAG_SIT_SIRET, sit.siret) if sit.siret else None,
    )


def _open(raw: bytes, what: str) -> tlv.Tlv:
    try:
        objs = tlv.decode_all(raw, padding=True)
    except tlv.TlvError as exc:
        raise LayoutError(f"{what}: {exc}") from exc
    if len(objs) != 1 or objs[0].tag != TEMPLATE:
        raise LayoutError(f"{what}: expected one 70 template")
    return objs[0]


def _get(t: tlv.Tlv, tag: int, what: str, *, optional: bool = False) -> str | None:
    found = t.find(tag)
    if found is None:
        if optional:
            return None
        raise LayoutError(f"{what}: tag {tag:02X} missing")
    try:
        return found.value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LayoutError(f"{what}: tag {tag:02X} is not UTF-8") from exc


def _req(t: tlv.Tlv, tag: int, what: str) -> str:
    value = _get(t, tag, what)
    assert value is not None  # _get raises when a required tag is absent
    return value


def decode_serial(raw: bytes) -> str:
    return _req(_open(raw, "CPS_ID_CARD"), TAG_SERIAL, "CPS_ID_CARD")


def decode_holder(
    id_card: bytes, name: bytes, info: bytes, situations: tuple[Situation, ...]
) -> CpsHolder:
    n = _open(name, "CPS_NAME_PS")
    i = _open(info, "CPS_INFO_PS")
    return CpsHolder(
        card_serial=decode_serial(id_card),
        civilite=_req(n, TAG_CIVILITE, "CPS_NAME_PS"),
        nom=_req(n, TAG_NOM, "CPS_NAME_PS"),
        prenom=_req(n, TAG_PRENOM, "CPS_NAME_PS"),
        rpps=_req(i, TAG_RPPS, "CPS_INFO_PS"),
        profession=_req(i, TAG_PROFESSION, "CPS_INFO_PS"),
        specialty=_get(i, TAG_SPECIALTY, "CPS_INFO_PS", optional=True),
        situations=situations,
    )


def decode_situation(raw: bytes) -> Situation | None:
    """The situation in one CPS_ACTIVITY file, or None for an unused slot."""
    what = "CPS_ACTIVITY"
    t = _open(raw, what)
    if not t.children:
        return None
    number = t.find(TAG_SIT_NUMBER)
    if number is None or len(number.value) != 1:
        raise LayoutError(f"{what}: situation number (tag 90) missing or not one byte")
    return Situation(
        number=number.value[0],
        structure_name=_req(t, TAG_SIT_NAME, what),
        finess=_get(t, TAG_SIT_FINESS, what, optional=True),
        siret=_get(t, TAG_SIT_SIRET, what, optional=True),
        role=_req(t, TAG_SIT_ROLE, what),
    )
