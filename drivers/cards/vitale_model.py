"""What a carte Vitale tells: immutable values, validated at construction.

Content follows the arrêté of 9 April 1998 (art. 2): card type and serial; the insured's NIR;
the scheme (code régime, caisse, centre gestionnaire, code gestion); AMO rights periods and
exemptions; per beneficiary the names, first name, birth date (kept as read, lunar dates
included), rang de naissance, qualité, own NIR when certified and end of entitlement; optional
AMC (complémentaire) contracts.

Every invariant violation raises ``ValueError`` whose message starts with the field name, so the
card-file loader can prefix its own path (``beneficiaries[2].birth_date: ...``) and the driver
can turn it into a ``CardProtocolError``. A NIR with a wrong key is not an invariant violation:
it is carried as a :class:`~drivers.cards.nir.NirCheck` so the pharmacist still sees the card.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields, is_dataclass
from typing import Any

from drivers.cards.nir import NirCheck

MAX_BENEFICIARIES = 6
MAX_NAME_CHARS = 40

QUALITES = {
    "00": "assuré",
    "01": "ascendant, descendant, collatéral",
    "02": "conjoint",
    "03": "conjoint divorcé",
    "04": "concubin",
    "05": "conjoint séparé",
    "06": "enfant",
    "07": "bénéficiaire hors article 313",
    "08": "conjoint veuf",
    "09": "autre ayant droit",
}
"""Qualité codes as SESAM-Vitale software lists them; an unknown code is kept, unlabelled."""


def _digits(field: str, value: str, sizes: tuple[int, ...]) -> None:
    if (
        not isinstance(value, str)
        or len(value) not in sizes
        or not all(c in "0123456789" for c in value)
    ):
        want = " or ".join(str(n) for n in sizes)
        raise ValueError(f"{field}: must be {want} digits, got {value!r}")


def _text(field: str, value: str, *, max_chars: int = MAX_NAME_CHARS) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{field}: must be non-empty text, got {value!r}")
    if len(value) > max_chars:
        raise ValueError(f"{field}: at most {max_chars} characters, got {len(value)}")
    if any(not c.isprintable() for c in value):
        raise ValueError(f"{field}: control characters are not allowed, got {value!r}")


def parse_date(field: str, text: str) -> dt.date:
    """A full calendar date written ``YYYYMMDD`` (the card's encoding of every date)."""
    _digits(field, text, (8,))
    try:
        return dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        raise ValueError(f"{field}: {text!r} is not a calendar date") from None


def format_date(day: dt.date) -> str:
    return f"{day.year:04d}{day.month:02d}{day.day:02d}"


@dataclass(frozen=True)
class BirthDate:
    """A birth date exactly as written on the card, ``YYYYMMDD``.

    Civil registers hold "lunar" dates: day or month unknown (written ``00``) or a date the
    calendar does not have. They identify real people and must be shown and sent on as read,
    never "corrected" to the 1st of January.
    """

    text: str

    def __post_init__(self) -> None:
        _digits("birth_date", self.text, (8,))
        if int(self.text[4:6]) > 12 or int(self.text[6:]) > 31:
            raise ValueError(f"birth_date: month must be 00-12 and day 00-31, got {self.text!r}")

    @property
    def year(self) -> int:
        return int(self.text[:4])

    @property
    def month(self) -> int | None:
        return int(self.text[4:6]) or None

    @property
    def day(self) -> int | None:
        return int(self.text[6:]) or None

    @property
    def lunar(self) -> bool:
        return self.iso() is None

    def iso(self) -> str | None:
        """``YYYY-MM-DD`` for a calendar date, None for a lunar one."""
        try:
            return dt.date(self.year, int(self.text[4:6]), int(self.text[6:])).isoformat()
        except ValueError:
            return None

    def __str__(self) -> str:
        return f"{self.text[6:]}/{self.text[4:6]}/{self.text[:4]}"


@dataclass(frozen=True)
class CardInfo:
    card_type: str
    """Card generation code as written (``V1``, ``V2``)."""
    serial: str
    valid_from: dt.date

    def __post_init__(self) -> None:
        _text("card_type", self.card_type, max_chars=4)
        _digits("serial", self.serial, tuple(range(8, 21)))


@dataclass(frozen=True)
class Scheme:
    """The insured's scheme and managing body (régime obligatoire)."""

    regime: str
    """Code grand régime, 2 digits (01 = régime général)."""
    caisse: str
    """Caisse gestionnaire, 3 digits."""
    centre: str
    """Centre gestionnaire, 4 digits."""
    gestion: str
    """Code gestion, 2 digits."""

    def __post_init__(self) -> None:
        _digits("regime", self.regime, (2,))
        _digits("caisse", self.caisse, (3,))
        _digits("centre", self.centre, (4,))
        _digits("gestion", self.gestion, (2,))


@dataclass(frozen=True)
class RightsPeriod:
    """A period of AMO (assurance maladie obligatoire) rights; ``end`` None = open-ended."""

    start: dt.date
    end: dt.date | None

    def __post_init__(self) -> None:
        if self.end is not None and self.end < self.start:
            raise ValueError(f"end: {self.end} is before start {self.start}")

    def covers(self, day: dt.date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


@dataclass(frozen=True)
class Exemption:
    """An exemption from the ticket modérateur (e.g. an ALD), with its validity."""

    code: str
    start: dt.date
    end: dt.date | None

    def __post_init__(self) -> None:
        _digits("code", self.code, (1, 2))
        if self.end is not None and self.end < self.start:
            raise ValueError(f"end: {self.end} is before start {self.start}")


@dataclass(frozen=True)
class Insured:
    nir: NirCheck
    scheme: Scheme
    rights: tuple[RightsPeriod, ...]
    exemptions: tuple[Exemption, ...] = ()

    def rights_on(self, day: dt.date) -> bool:
        """True when one AMO rights period covers ``day`` (an expired card still reads)."""
        return any(p.covers(day) for p in self.rights)


@dataclass(frozen=True)
class Beneficiary:
    nom_usuel: str
    prenom: str
    birth_date: BirthDate
    rang: int
    """Rang de naissance: 1, or 2, 3... for twins and other multiple births on one date."""
    qualite: str
    """Two-digit qualité code (00 assuré, 02 conjoint, 06 enfant...)."""
    nom_naissance: str | None = None
    nir: NirCheck | None = None
    """The beneficiary's own NIR, present once certified."""
    rights_end: dt.date | None = None
    """End of entitlement (fin de droits) for this beneficiary."""

    def __post_init__(self) -> None:
        _text("nom_usuel", self.nom_usuel)
        _text("prenom", self.prenom)
        if self.nom_naissance is not None:
            _text("nom_naissance", self.nom_naissance)
        if not isinstance(self.rang, int) or isinstance(self.rang, bool) or not 1 <= self.rang <= 9:
            raise ValueError(f"rang: must be an integer 1-9, got {self.rang!r}")
        _digits("qualite", self.qualite, (2,))

    @property
    def qualite_label(self) -> str | None:
        return QUALITES.get(self.qualite)


@dataclass(frozen=True)
class AmcContract:
    """Complémentaire santé (mutuelle) data the card may carry."""

    organisme: str
    """Organisme complémentaire number, 8 to 10 digits."""
    name: str
    adherent: str | None
    start: dt.date
    end: dt.date | None

    def __post_init__(self) -> None:
        _digits("organisme", self.organisme, (8, 9, 10))
        _text("name", self.name)
        if self.adherent is not None:
            _text("adherent", self.adherent, max_chars=20)
        if self.end is not None and self.end < self.start:
            raise ValueError(f"end: {self.end} is before start {self.start}")


@dataclass(frozen=True)
class VitaleRead:
    """Everything read from one carte Vitale, in card order."""

    card: CardInfo
    insured: Insured
    beneficiaries: tuple[Beneficiary, ...]
    amc: tuple[AmcContract, ...] = ()

    def __post_init__(self) -> None:
        if not 1 <= len(self.beneficiaries) <= MAX_BENEFICIARIES:
            raise ValueError(
                f"beneficiaries: 1 to {MAX_BENEFICIARIES} expected, got {len(self.beneficiaries)}"
            )

    @property
    def nir_problems(self) -> tuple[str, ...]:
        """Every NIR on the card whose validation failed, for display next to the read."""
        checks = [("insured", self.insured.nir)] + [
            (f"beneficiary {i + 1}", b.nir) for i, b in enumerate(self.beneficiaries) if b.nir
        ]
        return tuple(f"{who}: {c.problem}" for who, c in checks if c is not None and c.problem)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for the API: dates ISO 8601, birth dates as read (with ``iso`` None
        when lunar), each NIR with its validation result."""
        out: dict[str, Any] = _json(self)
        out["nir_problems"] = list(self.nir_problems)
        return out


def _json(value: Any) -> Any:
    if isinstance(value, BirthDate):
        return {"text": value.text, "iso": value.iso(), "lunar": value.lunar}
    if isinstance(value, NirCheck):
        return {"text": value.text, "valid": value.valid, "problem": value.problem}
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple):
        return [_json(v) for v in value]
    if is_dataclass(value) and not isinstance(value, type):
        out = {f.name: _json(getattr(value, f.name)) for f in fields(value)}
        if isinstance(value, Beneficiary):
            out["qualite_label"] = value.qualite_label
        return out
    return value
