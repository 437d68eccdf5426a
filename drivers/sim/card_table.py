"""Validation of one TOML table of a card file, shared by the CPS and Vitale formats.

Every error is a :class:`CardConfigError` whose one line names the field by its dotted path
(``holder.rpps: must be 11 digits``, ``beneficiaries #2.birth_date: ...``); the loaders add
the file name. Unknown fields are errors: a typo must not silently drop data from a test card.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class CardConfigError(ValueError):
    """A card file that cannot describe a card; the message names the file and/or field."""


class Table:
    """One TOML table with its dotted path, so every error names the field it is about."""

    def __init__(self, raw: object, path: str, allowed: set[str]) -> None:
        if raw is None:
            raise CardConfigError(f"{path}: missing")
        if not isinstance(raw, dict):
            raise CardConfigError(f"{path}: must be a table, got {type(raw).__name__}")
        unknown = sorted(set(raw) - allowed)
        if unknown:
            expected = ", ".join(sorted(allowed))
            raise CardConfigError(f"{self._at(path, unknown[0])}: unknown field ({expected})")
        self.raw: dict[str, Any] = raw
        self.path = path

    @staticmethod
    def _at(path: str, name: str) -> str:
        return f"{path}.{name}" if path else name

    def at(self, name: str) -> str:
        return self._at(self.path, name)

    def get(self, name: str, kind: type[T], *, required: bool = True) -> T | None:
        if name not in self.raw:
            if required:
                raise CardConfigError(f"{self.at(name)}: missing")
            return None
        value = self.raw[name]
        # TOML booleans are ints to Python: refuse them where a number is meant. The value is
        # not echoed: the field may be a PIN or PUK typed as a number.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise CardConfigError(
                f"{self.at(name)}: must be {kind.__name__}, got {type(value).__name__}"
            )
        return value

    def text(self, name: str, *, pattern: str | None = None, rule: str = "") -> str:
        value = self.opt_text(name, pattern=pattern, rule=rule)
        if value is None:
            raise CardConfigError(f"{self.at(name)}: missing")
        return value

    def opt_text(self, name: str, *, pattern: str | None = None, rule: str = "") -> str | None:
        """An optional string; with ``pattern`` it must also match it in full (else ``rule``)."""
        value = self.get(name, str, required=False)
        if value is not None and not value.strip():
            raise CardConfigError(f"{self.at(name)}: must be non-empty text")
        if value is not None and pattern is not None and not re.fullmatch(pattern, value):
            raise CardConfigError(f"{self.at(name)}: {rule}")
        return value

    def integer(self, name: str, low: int, high: int, default: int) -> int:
        value = self.raw.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise CardConfigError(f"{self.at(name)}: must be an integer {low}..{high}")
        return value

    def date(self, name: str) -> dt.date:
        value = self.opt_date(name)
        if value is None:
            raise CardConfigError(f"{self.at(name)}: missing")
        return value

    def opt_date(self, name: str) -> dt.date | None:
        value = self.raw.get(name)
        if value is None:
            return None
        # A TOML datetime is a date subclass: a card stores days, so refuse it.
        if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
            raise CardConfigError(
                f"{self.at(name)}: must be a TOML date (2025-12-31), got {value!r}"
            )
        return value

    def tables(self, name: str) -> list[Any]:
        value = self.raw.get(name, [])
        if not isinstance(value, list):
            raise CardConfigError(f"{self.at(name)}: must be an array of tables ([[{name}]])")
        return value

    def build(self, factory: Callable[[], T]) -> T:
        """Run a model constructor; its ValueError names a field of this table."""
        try:
            return factory()
        except CardConfigError:
            raise
        except ValueError as exc:
            raise CardConfigError(f"{self.path}.{exc}" if self.path else str(exc)) from None


def parse_atr(table: Table, default: bytes) -> bytes:
    """The optional ``atr`` field: hex bytes, ISO 7816-3 length (2..33), TS = 3B or 3F."""
    text = table.opt_text("atr")
    if text is None:
        return default
    try:
        atr = bytes.fromhex(text)
    except ValueError:
        raise CardConfigError(f"{table.at('atr')}: must be hex bytes, got {text!r}") from None
    if not 2 <= len(atr) <= 33 or atr[0] not in (0x3B, 0x3F):
        raise CardConfigError(f"{table.at('atr')}: must be 2 to 33 bytes starting with 3B or 3F")
    return atr
