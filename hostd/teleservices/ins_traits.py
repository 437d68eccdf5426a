"""Identity traits as INSi takes them: validated and normalised once, at the edge.

Rules (DOMAIN.md "INSi"): upper case, accents removed, ``NomNaissance`` ``^[A-Z\\-' ]+$``,
each ``Prenom`` ``^[A-Z\\-']+$``, ``Sexe`` M/F, ``DateNaissance`` ``YYYY-MM-DD``,
``LieuNaissance`` an INSEE COG code of 5 characters (``99`` + country for births abroad).

What normalisation does and does not do: it folds case and strips diacritics (É→E, Ç→C), spells
ligatures out (Œ→OE, Æ→AE, ß→SS), turns typographic apostrophes and dashes into ``'`` and
``-``, and collapses spaces. It never drops a character it does not know: a digit or ``@`` in a
name is an error the operator must see, not something to guess around.

Lunar birth dates (day or month unknown, written 00 on the card): INSi takes a calendar date,
and the Vitale model keeps such dates exactly as read. The client refuses to query INSi with
one (:class:`LunarBirthDate`) instead of "correcting" it to the 1st of January — a made-up date
could match someone else; the operator checks the identity document.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

NOM_PATTERN = re.compile(r"[A-Z\-' ]+")
PRENOM_PATTERN = re.compile(r"[A-Z\-']+")
COG_PATTERN = re.compile(r"(?:\d[0-9AB]\d{3})")  # 2A/2B Corsica; 99xxx abroad
MAX_NAME = 100
MAX_PRENOMS = 10

_SPELL = {"Œ": "OE", "œ": "OE", "Æ": "AE", "æ": "AE", "ß": "SS"}
_PUNCT = {"’": "'", "‘": "'", "ʼ": "'", "`": "'", "‐": "-", "‑": "-", "–": "-", "—": "-"}


class TraitsError(ValueError):
    """A trait INSi would refuse; the message names the trait."""


class LunarBirthDate(TraitsError):
    """Day or month unknown: INSi cannot be asked with it (see module docstring)."""


def fold(text: str) -> str:
    """Upper case without diacritics, ligatures spelt out, punctuation unified, spaces single."""
    out = []
    for ch in text:
        ch = _SPELL.get(ch, _PUNCT.get(ch, ch))
        decomposed = unicodedata.normalize("NFKD", ch)
        out.append("".join(c for c in decomposed if not unicodedata.combining(c)))
    return " ".join("".join(out).upper().split())


def normalise_nom(value: str, trait: str = "NomNaissance") -> str:
    nom = fold(value)
    if not nom:
        raise TraitsError(f"{trait}: must not be empty")
    if len(nom) > MAX_NAME:
        raise TraitsError(f"{trait}: at most {MAX_NAME} characters")
    if not NOM_PATTERN.fullmatch(nom):
        bad = sorted({c for c in nom if not NOM_PATTERN.fullmatch(c)})
        raise TraitsError(f"{trait}: character(s) {''.join(bad)!r} not allowed (A-Z - ' space)")
    return nom


def normalise_prenoms(value: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """First names in civil-register order; a string is split on spaces."""
    parts = value.split() if isinstance(value, str) else [p for v in value for p in v.split()]
    names = tuple(fold(p) for p in parts if fold(p))
    if len(names) > MAX_PRENOMS:
        raise TraitsError(f"Prenom: at most {MAX_PRENOMS} first names")
    for name in names:
        if not PRENOM_PATTERN.fullmatch(name):
            bad = sorted({c for c in name if not PRENOM_PATTERN.fullmatch(c)})
            raise TraitsError(f"Prenom: character(s) {''.join(bad)!r} not allowed (A-Z - ')")
    return names


_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def strict_date(value: str, today: dt.date | None = None) -> str:
    """``YYYY-MM-DD``, a real calendar day, not in the future, not before 1850."""
    m = _DATE.fullmatch(value.strip())
    if not m:
        raise TraitsError("DateNaissance: must be YYYY-MM-DD")
    year, month, day = (int(g) for g in m.groups())
    if month == 0 or day == 0:
        raise LunarBirthDate(
            "DateNaissance: day or month unknown (lunar date): INSi needs a calendar date; "
            "check the identity document"
        )
    try:
        date = dt.date(year, month, day)
    except ValueError:
        raise TraitsError(f"DateNaissance: {value!r} is not a calendar date") from None
    if date > (today or dt.date.today()) or year < 1850:
        raise TraitsError("DateNaissance: must be between 1850 and today")
    return date.isoformat()


def card_date(text: str) -> str:
    """A Vitale ``BirthDate.text`` (YYYYMMDD, maybe lunar) as INSi's date, strictly."""
    return strict_date(f"{text[:4]}-{text[4:6]}-{text[6:8]}")


@dataclass(frozen=True)
class Traits:
    """The five traits of a search without the carte Vitale (``RECSANSVITALE``)."""

    nom_naissance: str
    prenoms: tuple[str, ...]
    sexe: str
    date_naissance: str
    lieu_naissance: str | None = None

    @classmethod
    def parse(
        cls, nom_naissance: str, prenoms: str | list[str] | tuple[str, ...], sexe: str,
        date_naissance: str, lieu_naissance: str | None = None,
    ) -> Traits:
        sex = sexe.strip().upper()
        if sex not in ("M", "F"):
            raise TraitsError("Sexe: must be M or F")
        lieu = lieu_naissance.strip().upper() if lieu_naissance else None
        if lieu is not None and not COG_PATTERN.fullmatch(lieu):
            raise TraitsError("LieuNaissance: an INSEE COG code of 5 characters (99xxx abroad)")
        return cls(
            normalise_nom(nom_naissance), normalise_prenoms(prenoms), sex,
            strict_date(date_naissance), lieu,
        )
