"""Classifying a scanned text: ordonnance numérique, ApCV, or unknown — nothing dropped.

The real formats are not public (DOMAIN.md): neither the ordonnance numérique's prescription
identifier (length, charset, check key) nor the ApCV QR content. So both are *configuration*
(``[scan.rules]``, docs/scanning.md), with defaults that match the modelled formats the
simulators and the benchmark generate, and the rules are strict by default: the whole text
must match (no trimming, no case folding, no substring search). Anything else becomes an
``unknown`` scan carrying the raw text, so the counter still sees it and a technician can
adjust the rules from what real scans look like.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

DEFAULT_ORDONNANCE_PATTERN = r"ORD1:(?P<id>[0-9]{22})"
"""Modelled: ``ORD1:`` + 20 digits + a 2-digit key. Replace with the real form when known."""
DEFAULT_APCV_PATTERN = r"APCV1\.[A-Za-z0-9_-]{40,4000}"
"""Modelled: ``APCV1.`` + an opaque base64url token. The box never looks inside it."""
MAX_TEXT = 4096


class ScanKind(enum.StrEnum):
    ORDONNANCE = "ordonnance"
    APCV = "apcv"
    UNKNOWN = "unknown"


class RulesError(ValueError):
    """Classification rules that cannot be used (one line)."""


@dataclass(frozen=True)
class ScanRules:
    """``[scan.rules]``: the patterns are Python regular expressions matched against the whole
    text; the ordonnance pattern must have a named group ``id`` (the prescription number).
    ``strict = false`` also accepts a match after trimming whitespace and control characters
    around the text (some scanners add them) — never a match in the middle of other text."""

    ordonnance_pattern: str = DEFAULT_ORDONNANCE_PATTERN
    apcv_pattern: str = DEFAULT_APCV_PATTERN
    strict: bool = True

    def __post_init__(self) -> None:
        for key in ("ordonnance_pattern", "apcv_pattern"):
            try:
                re.compile(getattr(self, key))
            except re.error as exc:
                message = f"scan.rules.{key}: not a valid regular expression: {exc}"
                raise RulesError(message) from exc
        if "id" not in re.compile(self.ordonnance_pattern).groupindex:
            raise RulesError("scan.rules.ordonnance_pattern: needs a named group (?P<id>...)")


@dataclass(frozen=True)
class Scan:
    """One classified scan. ``text`` is always the raw text as read; ``reason`` says why an
    unknown scan is unknown (``no-rule`` or the framing problem: ``not-utf8``, ``too-long``,
    ``outside-frame``, ``cut``; for those ``text`` is the bytes in hex)."""

    kind: ScanKind
    text: str
    prescription_id: str | None = None
    reason: str | None = None


class Classifier:
    def __init__(self, rules: ScanRules) -> None:
        self.rules = rules
        self._ordonnance = re.compile(rules.ordonnance_pattern)
        self._apcv = re.compile(rules.apcv_pattern)

    def classify(self, text: str) -> Scan:
        candidate = text if self.rules.strict else text.strip().strip("\x00\x02\x03\x1d\x1e")
        if len(candidate) <= MAX_TEXT:
            match = self._ordonnance.fullmatch(candidate)
            if match:
                return Scan(ScanKind.ORDONNANCE, text, prescription_id=match.group("id"))
            if self._apcv.fullmatch(candidate):
                return Scan(ScanKind.APCV, text)
        return Scan(ScanKind.UNKNOWN, text, reason="no-rule")

    @staticmethod
    def unreadable(reason: str, raw: bytes) -> Scan:
        """A framing problem (see :mod:`drivers.scan.framing`) as an unknown scan."""
        return Scan(ScanKind.UNKNOWN, raw.hex(), reason=reason)

