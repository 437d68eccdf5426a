"""Errors raised by the daemon's services that are not card, auth or scheduler errors.

Why a module of their own: the outcome table (``hostd.outcomes``) names them, and the services
that raise them also write audit rows through that table; defining them here keeps that import
graph acyclic.
"""

from __future__ import annotations

from drivers.errors import PinBlocked


class PinNotAllowed(Exception):
    """The configuration only accepts the PIN from the terminal's PIN pad."""


class KeyNotProvisioned(Exception):
    """The requested ORG key (slot) has no key or certificate in the store."""


class PairingRefused(Exception):
    """Unknown, expired or already used pairing code, or an unusable CSR."""


class BadCsr(Exception):
    """The CSR sent with a pairing code is unusable; the code is not spent."""


class PinBudgetSpent(Exception):
    """This client already spent its share of wrong API PINs on this card (see
    ``hostd.services.cps``): the others' tries are not its to spend."""

    def __init__(self, message: str, tries_left: int | None = None) -> None:
        super().__init__(message)
        if tries_left is not None:
            self.tries_left = tries_left


class CpsPinBlocked(PinBlocked):
    """The CPS's PIN try counter is at 0 (three wrong PINs; the card answers 6983): nothing that
    needs the PIN works until the cardholder unblocks it. One message for every operation that
    meets it (unlock, sign, holder), so the pharmacist reads what to do, not "locked"."""

    tries_left = 0

    def __init__(self) -> None:
        super().__init__(
            "the CPS PIN is blocked (three wrong PINs): the card cannot be unlocked or sign "
            "until its holder unblocks it with the PUK (CPS management tool, on a workstation) "
            "or gets it replaced by the issuer")


class RateLimited(Exception):
    """Too many enrolment attempts in the last minute."""


class TerminalNotBound(Exception):
    """The terminal is not configured for the calling counter (or not configured at all)."""


class TerminalAbsent(Exception):
    """The terminal is not connected (unplugged, not paired, or lost during the entry)."""


class PinEntryCancelled(Exception):
    """The person cancelled the PIN entry on the terminal."""


class PinEntryTimedOut(Exception):
    """Nobody finished typing the PIN in time."""
