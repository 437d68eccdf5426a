"""Errors raised by the daemon's services that are not card, auth or scheduler errors.

Why a module of their own: the outcome table (``hostd.outcomes``) names them, and the services
that raise them also write audit rows through that table; defining them here keeps that import
graph acyclic.
"""

from __future__ import annotations


class PinNotAllowed(Exception):
    """The configuration only accepts the PIN from the terminal's PIN pad."""


class KeyNotProvisioned(Exception):
    """The requested ORG key (slot) has no key or certificate in the store."""


class PairingRefused(Exception):
    """Unknown, expired or already used pairing code, or an unusable CSR."""


class PinBudgetSpent(Exception):
    """This client already spent its share of wrong API PINs on this card (see
    ``hostd.services.cps``): the others' tries are not its to spend."""

    def __init__(self, message: str, tries_left: int | None = None) -> None:
        super().__init__(message)
        if tries_left is not None:
            self.tries_left = tries_left


class RateLimited(Exception):
    """Too many enrolment attempts in the last minute."""
