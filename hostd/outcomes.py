"""The one table from exceptions to outcomes: HTTP status, problem slug, title.

The API answers a problem whose ``type`` ends with the slug (``hostd.api.problems``), and the
audit log stores the same slug as the row's outcome (``ok`` for success), so a row and the
answer the client got always say the same thing. It lives outside ``hostd.api`` so the services
write audit rows without importing FastAPI.
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers import errors as card
from hostd import auth
from hostd.audit import AuditUnavailable
from hostd.errors import KeyNotProvisioned, PairingRefused, PinNotAllowed, RateLimited
from hostd.scheduler import DeadlineExceeded, SchedulerStopped
from hostd.services.readers import NoCard, UnknownReader
from provisioning.errors import ProvisioningError

OK = "ok"
CANCELLED = "cancelled"
"""Outcome of an operation whose caller went away before it ran (no answer was sent)."""


@dataclass(frozen=True)
class ProblemKind:
    status: int
    slug: str
    title: str


INTERNAL = ProblemKind(500, "internal-error", "Internal error")

# Order matters: subclasses before their bases (CardError last among card errors).
MAPPING: tuple[tuple[type[Exception], ProblemKind], ...] = (
    (auth.NotAuthenticated, ProblemKind(401, "not-authenticated", "Client certificate needed")),
    (auth.ClientRevoked, ProblemKind(401, "client-revoked", "Client revoked or not enrolled")),
    (auth.Forbidden, ProblemKind(403, "forbidden", "Not allowed for this client's role")),
    (auth.MissingOperator, ProblemKind(400, "operator-required", "Operator header missing")),
    (UnknownReader, ProblemKind(404, "unknown-reader", "No such reader")),
    (NoCard, ProblemKind(409, "no-card", "No card of that kind in the reader")),
    (card.WrongPin, ProblemKind(403, "wrong-pin", "Wrong PIN")),
    (card.LastTryRefused, ProblemKind(423, "last-try-refused",
                                      "One PIN try left: the cardholder must type it")),
    (card.PinBlocked, ProblemKind(423, "pin-blocked", "PIN blocked: the card needs its PUK")),
    (card.SecurityNotSatisfied, ProblemKind(403, "cps-locked", "The CPS is locked")),
    (PinNotAllowed, ProblemKind(403, "api-pin-disabled", "PIN only accepted from the PIN pad")),
    (card.CardRemoved, ProblemKind(409, "card-removed", "The card was removed")),
    (card.ReaderUnavailable, ProblemKind(503, "reader-unavailable", "Reader unavailable")),
    (card.CardProtocolError, ProblemKind(502, "card-protocol-error",
                                         "The card gave an unexpected answer")),
    (card.CardError, ProblemKind(502, "card-error", "Card error")),
    (KeyNotProvisioned, ProblemKind(409, "key-not-provisioned", "That key is not provisioned")),
    (PairingRefused, ProblemKind(403, "pairing-refused", "Pairing code refused")),
    (RateLimited, ProblemKind(429, "rate-limited", "Too many attempts, wait a minute")),
    (ProvisioningError, ProblemKind(400, "bad-signing-request", "The signing request is unusable")),
    (DeadlineExceeded, ProblemKind(503, "card-busy", "The card stayed busy past the deadline")),
    (SchedulerStopped, ProblemKind(503, "shutting-down", "The daemon is stopping")),
    (AuditUnavailable, ProblemKind(507, "audit-unavailable",
                                   "Audit log not writable (disk full?): result withheld")),
)


def kind_of(exc: BaseException) -> ProblemKind | None:
    for exc_type, kind in MAPPING:
        if isinstance(exc, exc_type):
            return kind
    return None


def outcome_of(exc: BaseException) -> str:
    """The audit outcome of a failed operation: the slug of the problem the caller gets."""
    own = getattr(exc, "kind", None)  # an API problem raised with its kind (ApiProblem)
    kind = own if isinstance(own, ProblemKind) else kind_of(exc)
    return (kind or INTERNAL).slug
