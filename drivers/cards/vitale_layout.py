"""Where a carte Vitale keeps its data: the one codec between files and values.

Public reverse engineering (cardpeek's ``vitale_2`` script) shows a Vitale 2 application
selected by AID ``D2 50 00 00 02 56 49 54 41 4C 45`` ("VITALE"), an EF ``2001``, and
BER-TLV data objects with tag ``65`` per beneficiary holding ``80`` name, ``81`` first name,
``82`` birth date (ASCII ``YYYYMMDD``) and ``93`` NIR, and ``66/80`` for the card's validity
start. The rest of the real layout is not public (and the protected part is only readable
through the GIE SESAM-Vitale library with a CPS), so Comptoir defines its own, below, keeping
every public tag where the public sources put it. The simulated card encodes with
:func:`encode_files`, the driver decodes with :func:`decode_files`; nothing else knows tags.

Comptoir layout, all files transparent EFs in the VITALE DF, text in UTF-8, dates ``YYYYMMDD``:

- EF 2001 (SFI 1): ``66`` card {``80`` valid from, ``81`` card type, ``82`` serial}
  then ``67`` insured {``93`` NIR, ``A0`` scheme {``80`` régime, ``81`` caisse, ``82`` centre,
  ``83`` code gestion}, ``A1``\\* rights period {``80`` start, ``81`` end?},
  ``A2``\\* exemption {``80`` code, ``81`` start, ``82`` end?}}.
- EF 2002 (SFI 2): ``65``\\* beneficiary {``80`` nom usuel, ``81`` prénom, ``82`` birth date,
  ``83`` nom de naissance?, ``84`` rang (one ASCII digit), ``85`` qualité, ``86`` end of
  entitlement?, ``93`` NIR?}.
- EF 2003 (SFI 3): ``68``\\* AMC contract {``80`` organisme, ``81`` name, ``82`` adherent?,
  ``83`` start, ``84`` end?}; empty when the card carries no AMC data.

``?`` marks optional objects, ``*`` repeated ones. Unknown tags are skipped (cardpeek shows
``90`` nationality, which Comptoir does not use), so a richer card still reads. ``00``/``FF``
padding between objects is skipped, as ISO 7816-4 allows in fixed-size EFs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager

from drivers import tlv
from drivers.cards import nir
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
    format_date,
    parse_date,
)
from drivers.tlv import LayoutError, Tlv

AID_VITALE = bytes.fromhex("D250000002564954414C45")
EF_CARD = 0x2001
EF_BENEFICIARIES = 0x2002
EF_AMC = 0x2003
FILES = (EF_CARD, EF_BENEFICIARIES, EF_AMC)
SFI = {EF_CARD: 1, EF_BENEFICIARIES: 2, EF_AMC: 3}

T_BENEFICIARY = 0x65
T_CARD = 0x66
T_INSURED = 0x67
T_AMC = 0x68
T_SCHEME = 0xA0
T_RIGHTS = 0xA1
T_EXEMPTION = 0xA2
T_NIR = 0x93


# --- encoding (the simulated card) -------------------------------------------------------------


def _t(tag: int, text: str) -> Tlv:
    return Tlv(tag, text.encode("utf-8"))


def _opt(tag: int, value: str | dt.date | None) -> tuple[Tlv, ...]:
    if value is None:
        return ()
    return (_t(tag, format_date(value) if isinstance(value, dt.date) else value),)


def _dates(first: int, start: dt.date, end: dt.date | None) -> tuple[Tlv, ...]:
    return (_t(first, format_date(start)), *_opt(first + 1, end))


def encode_files(read: VitaleRead) -> dict[int, bytes]:
    """The content of each EF for a card holding ``read``."""
    card = Tlv(
        T_CARD,
        children=(
            _t(0x80, format_date(read.card.valid_from)),
            _t(0x81, read.card.card_type),
            _t(0x82, read.card.serial),
        ),
    )
    s = read.insured.scheme
    insured = Tlv(
        T_INSURED,
        children=(
            _t(T_NIR, read.insured.nir.text),
            Tlv(
                T_SCHEME,
                children=(
                    _t(0x80, s.regime),
                    _t(0x81, s.caisse),
                    _t(0x82, s.centre),
                    _t(0x83, s.gestion),
                ),
            ),
            *(Tlv(T_RIGHTS, children=_dates(0x80, p.start, p.end)) for p in read.insured.rights),
            *(
                Tlv(T_EXEMPTION, children=(_t(0x80, e.code), *_dates(0x81, e.start, e.end)))
                for e in read.insured.exemptions
            ),
        ),
    )
    beneficiaries = [
        Tlv(
            T_BENEFICIARY,
            children=(
                _t(0x80, b.nom_usuel),
                _t(0x81, b.prenom),
                _t(0x82, b.birth_date.text),
                *_opt(0x83, b.nom_naissance),
                _t(0x84, str(b.rang)),
                _t(0x85, b.qualite),
                *_opt(0x86, b.rights_end),
                *_opt(T_NIR, b.nir.text if b.nir else None),
            ),
        )
        for b in read.beneficiaries
    ]
    amc = [
        Tlv(
            T_AMC,
            children=(
                _t(0x80, c.organisme),
                _t(0x81, c.name),
                *_opt(0x82, c.adherent),
                _t(0x83, format_date(c.start)),
                *_opt(0x84, c.end),
            ),
        )
        for c in read.amc
    ]
    return {
        EF_CARD: tlv.encode([card, insured]),
        EF_BENEFICIARIES: tlv.encode(beneficiaries),
        EF_AMC: tlv.encode(amc),
    }


# --- decoding (the driver) ---------------------------------------------------------------------


class _Fields:
    """Primitive children of one constructed object, read by tag with the object's name in
    every error."""

    def __init__(self, obj: Tlv, where: str) -> None:
        self.obj = obj
        self.where = where

    def text(self, tag: int) -> str:
        value = self.opt_text(tag)
        if value is None:
            raise LayoutError(f"{self.where}: tag {tag:02X} missing")
        return value

    def opt_text(self, tag: int) -> str | None:
        found = self.obj.find(tag)
        if found is None:
            return None
        try:
            return found.value.decode("utf-8")
        except UnicodeDecodeError:
            raise LayoutError(f"{self.where}: tag {found.tag_hex} is not UTF-8 text") from None

    def date(self, tag: int, name: str) -> dt.date:
        return parse_date(name, self.text(tag))

    def opt_date(self, tag: int, name: str) -> dt.date | None:
        text = self.opt_text(tag)
        return None if text is None else parse_date(name, text)


def _objects(files: Mapping[int, bytes], fid: int) -> tuple[Tlv, ...]:
    if fid not in files:
        raise LayoutError(f"EF {fid:04X} missing")
    try:
        return tlv.decode_all(files[fid], padding=True)
    except tlv.TlvError as exc:
        raise LayoutError(f"EF {fid:04X}: {exc}") from None


def _required(objects: Iterable[Tlv], tag: int, where: str) -> Tlv:
    # Tags 65-68 and A0-A2 are constructed by their class bits, so a found one has children.
    found = tlv.find(objects, tag)
    if found is None:
        raise LayoutError(f"{where}: constructed tag {tag:02X} missing")
    return found


def _period_fields(obj: Tlv, where: str, first: int) -> tuple[dt.date, dt.date | None]:
    f = _Fields(obj, where)
    return f.date(first, "start"), f.opt_date(first + 1, "end")


def _decode_insured(obj: Tlv) -> Insured:
    f = _Fields(obj, "insured")
    scheme = _Fields(_required(obj, T_SCHEME, "insured"), "insured scheme")
    rights = [
        RightsPeriod(*_period_fields(p, f"insured rights {i + 1}", 0x80))
        for i, p in enumerate(obj.find_all(T_RIGHTS))
    ]
    exemptions = []
    for i, e in enumerate(obj.find_all(T_EXEMPTION)):
        where = f"insured exemption {i + 1}"
        exemptions.append(Exemption(_Fields(e, where).text(0x80), *_period_fields(e, where, 0x81)))
    return Insured(
        nir=nir.check(f.text(T_NIR)),
        scheme=Scheme(scheme.text(0x80), scheme.text(0x81), scheme.text(0x82), scheme.text(0x83)),
        rights=tuple(rights),
        exemptions=tuple(exemptions),
    )


def _decode_beneficiary(obj: Tlv, where: str) -> Beneficiary:
    f = _Fields(obj, where)
    # Fields in tag order, so the first problem reported is the first on the card.
    nom_usuel, prenom, birth = f.text(0x80), f.text(0x81), BirthDate(f.text(0x82))
    nom_naissance, rang = f.opt_text(0x83), f.text(0x84)
    if len(rang) != 1 or rang not in "123456789":
        raise LayoutError(f"{where}: rang must be one digit 1-9, got {rang!r}")
    own_nir = f.opt_text(T_NIR)
    return Beneficiary(
        nom_usuel=nom_usuel,
        prenom=prenom,
        birth_date=birth,
        nom_naissance=nom_naissance,
        rang=int(rang),
        qualite=f.text(0x85),
        rights_end=f.opt_date(0x86, "rights_end"),
        nir=nir.check(own_nir) if own_nir is not None else None,
    )


def _decode_amc(obj: Tlv, where: str) -> AmcContract:
    f = _Fields(obj, where)
    return AmcContract(
        organisme=f.text(0x80),
        name=f.text(0x81),
        adherent=f.opt_text(0x82),
        start=f.date(0x83, "start"),
        end=f.opt_date(0x84, "end"),
    )


@contextmanager
def _context(where: str) -> Iterator[None]:
    # Model invariants name the field ("birth_date: ..."); say which object it belongs to.
    try:
        yield
    except LayoutError:
        raise
    except ValueError as exc:
        raise LayoutError(f"{where}: {exc}") from None


def decode_files(files: Mapping[int, bytes]) -> VitaleRead:
    """Values from the EF contents; any departure from the layout raises :class:`LayoutError`
    naming the file and object."""
    card_objs = _objects(files, EF_CARD)
    card = _Fields(_required(card_objs, T_CARD, "EF 2001"), "card")
    with _context("card"):
        info = CardInfo(card.text(0x81), card.text(0x82), card.date(0x80, "valid_from"))
    with _context("insured"):
        insured = _decode_insured(_required(card_objs, T_INSURED, "EF 2001"))
    beneficiaries = []
    for i, b in enumerate(tlv.find_all(_objects(files, EF_BENEFICIARIES), T_BENEFICIARY)):
        with _context(f"beneficiary {i + 1}"):
            beneficiaries.append(_decode_beneficiary(b, f"beneficiary {i + 1}"))
    amc = []
    for i, c in enumerate(tlv.find_all(_objects(files, EF_AMC), T_AMC)):
        with _context(f"AMC contract {i + 1}"):
            amc.append(_decode_amc(c, f"AMC contract {i + 1}"))
    with _context("card"):
        return VitaleRead(info, insured, tuple(beneficiaries), tuple(amc))
