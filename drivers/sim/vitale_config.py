"""Vitale card files (``kind = "vitale"``): TOML → validated card content.

The format is documented in ``docs/card-files.md`` (Vitale section). Every error is one line
naming the field (``beneficiaries #2.birth_date: ...``); :func:`load_vitale_file` adds the file
name. Unknown fields are errors: a typo must not silently drop data from a test card.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
)
from drivers.sim.card_table import CardConfigError, Table, parse_atr

DEFAULT_ATR = bytes.fromhex("3B 75 13 00 00 44 09 EA 90 00")
"""Vitale 2 ATR shape from public dumps (``3B 75 13 00 00 4x 09 EA 90 00``): T=0 only, TA1=13,
five historical bytes."""

TOP_FIELDS = {"kind", "description", "atr", "card", "insured", "beneficiaries", "amc"}


@dataclass(frozen=True)
class VitaleCardConfig:
    content: VitaleRead
    atr: bytes
    description: str | None


def _birth_date(table: Table) -> BirthDate:
    value = table.raw.get("birth_date")
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return BirthDate(value.strftime("%Y%m%d"))
    text = table.text("birth_date")
    parts = text.split("-")
    if len(parts) != 3 or [len(p) for p in parts] != [4, 2, 2]:
        raise CardConfigError(
            f'{table.at("birth_date")}: must be "YYYY-MM-DD" (00 allowed for an unknown day '
            f"or month), got {text!r}"
        )
    return table.build(lambda: BirthDate("".join(parts)))


def _nir(table: Table, name: str) -> nir.NirCheck | None:
    text = table.opt_text(name)
    if text is None:
        return None
    compact = "".join(text.split()).upper()
    if len(compact) != 15:
        # A wrong key is allowed (sample cards show validation) but not a malformed number:
        # the card encodes 15 characters.
        raise CardConfigError(f"{table.at(name)}: must be 13 characters + 2-digit key")
    return nir.check(compact)


def _period(table: Table) -> RightsPeriod:
    return table.build(lambda: RightsPeriod(table.date("start"), table.opt_date("end")))


def _exemption(table: Table) -> Exemption:
    return table.build(
        lambda: Exemption(table.text("code"), table.date("start"), table.opt_date("end"))
    )


def _beneficiary(table: Table) -> Beneficiary:
    rang = table.get("rang", int, required=False)
    birth = _birth_date(table)
    own_nir = _nir(table, "nir")
    return table.build(
        lambda: Beneficiary(
            nom_usuel=table.text("nom_usuel"),
            prenom=table.text("prenom"),
            birth_date=birth,
            rang=1 if rang is None else rang,
            qualite=table.text("qualite"),
            nom_naissance=table.opt_text("nom_naissance"),
            nir=own_nir,
            rights_end=table.opt_date("rights_end"),
        )
    )


def _amc(table: Table) -> AmcContract:
    return table.build(
        lambda: AmcContract(
            organisme=table.text("organisme"),
            name=table.text("name"),
            adherent=table.opt_text("adherent"),
            start=table.date("start"),
            end=table.opt_date("end"),
        )
    )


def parse_card_config(raw: dict[str, Any]) -> VitaleCardConfig:
    top = Table(raw, "", TOP_FIELDS)
    # The card-file loader dispatches on ``kind``; a table handed over without it is accepted.
    if top.raw.get("kind", "vitale") != "vitale":
        raise CardConfigError(f'kind: must be "vitale", got {top.raw.get("kind")!r}')
    card = Table(top.raw.get("card"), "card", {"type", "serial", "valid_from"})
    info = card.build(
        lambda: CardInfo(card.text("type"), card.text("serial"), card.date("valid_from"))
    )
    ins = Table(top.raw.get("insured"), "insured", {"nir", "scheme", "rights", "exemptions"})
    sch = Table(ins.raw.get("scheme"), "insured.scheme", {"regime", "caisse", "centre", "gestion"})
    scheme = sch.build(
        lambda: Scheme(
            sch.text("regime"), sch.text("caisse"), sch.text("centre"), sch.text("gestion")
        )
    )
    insured_nir = _nir(ins, "nir")
    if insured_nir is None:
        raise CardConfigError("insured.nir: missing")
    insured = Insured(
        nir=insured_nir,
        scheme=scheme,
        rights=tuple(
            _period(Table(t, f"insured.rights #{i + 1}", {"start", "end"}))
            for i, t in enumerate(ins.tables("rights"))
        ),
        exemptions=tuple(
            _exemption(Table(t, f"insured.exemptions #{i + 1}", {"code", "start", "end"}))
            for i, t in enumerate(ins.tables("exemptions"))
        ),
    )
    beneficiary_fields = {
        "nom_usuel",
        "prenom",
        "birth_date",
        "rang",
        "qualite",
        "nom_naissance",
        "nir",
        "rights_end",
    }
    beneficiaries = tuple(
        _beneficiary(Table(t, f"beneficiaries #{i + 1}", beneficiary_fields))
        for i, t in enumerate(top.tables("beneficiaries"))
    )
    amc_fields = {"organisme", "name", "adherent", "start", "end"}
    amc = tuple(
        _amc(Table(t, f"amc #{i + 1}", amc_fields)) for i, t in enumerate(top.tables("amc"))
    )
    content = top.build(lambda: VitaleRead(info, insured, beneficiaries, amc))
    return VitaleCardConfig(content, parse_atr(top, DEFAULT_ATR), top.opt_text("description"))


def load_vitale_file(path: Path) -> VitaleCardConfig:
    """Read and validate one Vitale card file; errors are one line starting with the file."""
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
        return parse_card_config(raw)
    except (OSError, tomllib.TOMLDecodeError, CardConfigError) as exc:
        raise CardConfigError(f"{path}: {exc}") from None
