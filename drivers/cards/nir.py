"""NIR: the French social security number (numéro d'inscription au répertoire, INSEE).

Layout of the 13 characters: sex (1), year of birth (2), month of birth (2), department of
birth (2, or 3 for overseas 97x/98x), commune (3, or 2 overseas), order number (3); then the
2-digit control key = 97 − (13-digit number mod 97). For people born in Corsica the department
is ``2A`` or ``2B``: the key is computed with ``2A`` replaced by ``19`` and ``2B`` by ``18``.

Month and year are kept exactly as written: INSEE uses 20–42 or 99 for people whose month of
birth is unknown, and the card must show what it holds. Only the key is arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass

_SEX_DIGITS = {"1": "M", "2": "F", "3": "M", "4": "F", "7": "M", "8": "F"}
"""1/2 registered persons; 3/4 foreign-born pending registration; 7/8 temporary numbers (NIA)."""

_CORSICA = {"2A": "19", "2B": "18"}


class NirError(ValueError):
    """A NIR that is not well formed or whose key does not match."""


def _normalise(text: str) -> str:
    # People and forms write the NIR in groups ("1 84 12 75 123 456 78"); the card does not.
    return "".join(text.split()).upper()


def _is_digits(text: str) -> bool:
    # str.isdigit() also accepts "²" and non-ASCII digits, which int() then misreads or refuses.
    return bool(text) and all(c in "0123456789" for c in text)


def _body_problem(body: str) -> str | None:
    if len(body) != 13:
        return f"NIR must have 13 characters before the key, got {len(body)}"
    if body[0] not in _SEX_DIGITS:
        return f"NIR sex digit must be one of 1, 2, 3, 4, 7, 8, got {body[0]!r}"
    for i, c in enumerate(body):
        if i not in (5, 6) and not _is_digits(c):
            return f"NIR character {i + 1} must be a digit, got {c!r}"
    if not (_is_digits(body[5:7]) or body[5:7] in _CORSICA):
        return f"NIR department must be two digits, 2A or 2B, got {body[5:7]!r}"
    return None


def expected_key(number: str) -> str:
    """The control key of a 13-character NIR body, as two digits."""
    body = _normalise(number)
    problem = _body_problem(body)
    if problem:
        raise NirError(problem)
    digits = body[:5] + _CORSICA.get(body[5:7], body[5:7]) + body[7:]
    return f"{97 - int(digits) % 97:02d}"


@dataclass(frozen=True)
class Nir:
    """A well-formed NIR with a correct key. Build with :meth:`parse` from any spacing."""

    number: str
    """The 13-character body (department may be 2A/2B)."""
    key: str
    """The two-digit control key."""

    def __post_init__(self) -> None:
        if not (len(self.key) == 2 and _is_digits(self.key)):
            raise NirError(f"NIR key must be two digits, got {self.key!r}")
        problem = _body_problem(self.number)
        if problem:
            raise NirError(problem)
        want = expected_key(self.number)
        if self.key != want:
            raise NirError(f"NIR key {self.key} does not match the number (expected {want})")

    @classmethod
    def parse(cls, text: str) -> Nir:
        compact = _normalise(text)
        if len(compact) != 15:
            raise NirError(f"NIR must have 15 characters (13 + key), got {len(compact)}")
        return cls(compact[:13], compact[13:])

    def __str__(self) -> str:
        return self.number + self.key

    @property
    def sex(self) -> str:
        """ "M" or "F" as the first digit encodes it."""
        return _SEX_DIGITS[self.number[0]]

    @property
    def birth_year(self) -> str:
        """Two digits, as written (the century is not in the NIR)."""
        return self.number[1:3]

    @property
    def birth_month(self) -> str:
        """Two characters as written: 01–12, or 20+ / 99 when the month was unknown."""
        return self.number[3:5]

    @property
    def department(self) -> str:
        """Department of birth: two characters, 2A/2B for Corsica, three for 97x/98x, 99 abroad."""
        return self.number[5:8] if self.number[5:7] in ("97", "98") else self.number[5:7]

    @property
    def corsica(self) -> bool:
        return self.number[5:7] in _CORSICA


@dataclass(frozen=True)
class NirCheck:
    """A NIR as read from a card, with the result of validating it.

    A card with a bad key is still a card the pharmacist must see: the text is kept and the
    problem reported instead of refusing the whole read.
    """

    text: str
    nir: Nir | None
    problem: str | None

    @property
    def valid(self) -> bool:
        return self.nir is not None


def check(text: str) -> NirCheck:
    try:
        return NirCheck(text, Nir.parse(text), None)
    except NirError as exc:
        return NirCheck(text, None, str(exc))
