"""What a CPS tells about its holder, and the interface every CPS backend implements.

Two backends implement :class:`CpsBackend`: ``drivers.cards.cps`` (APDUs over any transport:
pcsc, the simulator, a replay) and ``drivers.cards.cps_pkcs11`` (a PKCS#11 module: OpenSC for
CPS3 or the ANS Cryptolib on a deployed box; SoftHSM2 in tests). The daemon only sees this.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol


class KeyRole(enum.Enum):
    """The two CPS keys: authentication (ref 0x82) and non-repudiation signature (ref 0x81)."""

    AUTH = "auth"
    SIGN = "sign"


@dataclass(frozen=True)
class Situation:
    """One "situation d'exercice": where and as what the professional practises."""

    number: int
    structure_name: str
    finess: str | None
    siret: str | None
    role: str


@dataclass(frozen=True)
class CpsHolder:
    """The card holder's identity as read from the card."""

    card_serial: str
    civilite: str
    nom: str
    prenom: str
    rpps: str
    profession: str
    specialty: str | None
    situations: tuple[Situation, ...]


class CpsBackend(Protocol):
    """Operations on one CPS. PINs are ``bytearray`` so callers can wipe them after use."""

    def holder(self) -> CpsHolder:
        """Identity and situations (situations need the PIN on a real CPS)."""
        ...

    def certificate(self, role: KeyRole) -> bytes:
        """DER X.509 certificate of the key with that role (freely readable)."""
        ...

    def tries_left(self) -> int:
        """PIN tries left before the card blocks."""
        ...

    def verify_pin(self, pin: bytearray, *, from_person: bool = False) -> None:
        """Present the PIN. Raises WrongPin, PinBlocked, or LastTryRefused (see drivers.errors)."""
        ...

    def sign_digest(self, role: KeyRole, digest: bytes) -> bytes:
        """RSA PKCS#1 v1.5 signature over a SHA-256 digest with the role's key."""
        ...

    def sign_data(self, role: KeyRole, data: bytes) -> bytes:
        """RSA PKCS#1 v1.5 SHA-256 signature over data (hashing split as the card requires)."""
        ...

    def logout(self) -> None:
        """Drop the card's security state (reset), so the PIN is needed again."""
        ...
