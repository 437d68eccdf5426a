"""Card-level errors shared by every driver and mapped to API problems in exactly one place.

Status words that mean something to a person (wrong PIN, blocked card, card gone) are raised as
these types so the daemon, the CLI and the demo never look at raw SW1-SW2 values.
"""

from __future__ import annotations


class CardError(Exception):
    """Base of every error a card, a reader or the PC/SC stack can cause."""


class CardRemoved(CardError):
    """The card left the reader (or was reset by someone else) during or before the operation."""


class ReaderUnavailable(CardError):
    """The reader is gone (unplugged) or pcscd is not answering."""


class WrongPin(CardError):
    """The card refused the PIN; ``tries_left`` is what the card reported (63Cx)."""

    def __init__(self, tries_left: int) -> None:
        super().__init__(f"wrong PIN, {tries_left} tries left")
        self.tries_left = tries_left


class PinBlocked(CardError):
    """The PIN is blocked (6983): only the PUK can unblock it."""


class LastTryRefused(CardError):
    """Only one PIN try is left and the PIN did not come from a person at a PIN pad.

    An automated caller must never be the one that blocks the pharmacist's card.
    """

    def __init__(self, tries_left: int = 1) -> None:
        super().__init__("one PIN try left: the PIN must be typed by the cardholder")
        self.tries_left = tries_left


class SecurityNotSatisfied(CardError):
    """The operation needs the PIN first (6982)."""


class CardProtocolError(CardError):
    """The card answered something the driver cannot interpret (bad TLV, unexpected SW)."""
