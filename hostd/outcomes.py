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
from hostd.errors import (
    BadCsr,
    KeyNotProvisioned,
    PairingRefused,
    PinBudgetSpent,
    PinEntryCancelled,
    PinEntryTimedOut,
    PinNotAllowed,
    RateLimited,
    TerminalAbsent,
    TerminalNotBound,
)
from hostd.scanning.guard import NotHolder, NotOpen
from hostd.scheduler import DeadlineExceeded, SchedulerStopped
from hostd.services.apcv_errors import ApcvRefused, ApcvUnavailable
from hostd.services.readers import NoCard, UnknownReader
from hostd.teleservices import errors as tele
from hostd.teleservices.ins_traits import LunarBirthDate, TraitsError
from provisioning.errors import ProvisioningError, StoreError

OK = "ok"
CANCELLED = "cancelled"
"""Outcome of an operation whose caller went away before it ran (no answer was sent)."""


@dataclass(frozen=True)
class ProblemKind:
    status: int
    slug: str
    title: str


INTERNAL = ProblemKind(500, "internal-error", "Internal error")
NOT_AUTHENTICATED = ProblemKind(401, "not-authenticated", "Client certificate needed")
CLIENT_REVOKED = ProblemKind(401, "client-revoked", "Client revoked or not enrolled")
FORBIDDEN = ProblemKind(403, "forbidden", "Not allowed for this client's role")
OPERATOR_REQUIRED = ProblemKind(400, "operator-required", "Operator header missing")
UNKNOWN_READER = ProblemKind(404, "unknown-reader", "No such reader")
NO_CARD = ProblemKind(409, "no-card", "No card of that kind in the reader")
WRONG_PIN = ProblemKind(403, "wrong-pin", "Wrong PIN")
LAST_TRY_REFUSED = ProblemKind(423, "last-try-refused",
                               "One PIN try left: the cardholder must type it")
PIN_BLOCKED = ProblemKind(423, "pin-blocked", "PIN blocked: the card needs its PUK")
PIN_BUDGET_SPENT = ProblemKind(423, "pin-budget-spent",
                               "This counter used its wrong-PIN tries on this card")
CPS_LOCKED = ProblemKind(403, "cps-locked", "The CPS is locked")
API_PIN_DISABLED = ProblemKind(403, "api-pin-disabled", "PIN only accepted from the PIN pad")
TERMINAL_NOT_BOUND = ProblemKind(403, "terminal-not-bound", "Not this counter's terminal")
TERMINAL_ABSENT = ProblemKind(503, "terminal-absent", "The terminal is not connected")
PIN_ENTRY_CANCELLED = ProblemKind(409, "pin-entry-cancelled",
                                  "PIN entry cancelled on the terminal")
PIN_ENTRY_TIMEOUT = ProblemKind(409, "pin-entry-timeout", "Nobody typed the PIN in time")
CARD_REMOVED = ProblemKind(409, "card-removed", "The card was removed")
READER_UNAVAILABLE = ProblemKind(503, "reader-unavailable", "Reader unavailable")
CARD_PROTOCOL_ERROR = ProblemKind(502, "card-protocol-error",
                                  "The card gave an unexpected answer")
CARD_ERROR = ProblemKind(502, "card-error", "Card error")
KEY_NOT_PROVISIONED = ProblemKind(409, "key-not-provisioned", "That key is not provisioned")
BAD_CSR = ProblemKind(400, "bad-csr", "The certificate signing request is unusable")
PAIRING_REFUSED = ProblemKind(403, "pairing-refused", "Pairing code refused")
RATE_LIMITED = ProblemKind(429, "rate-limited", "Too many attempts, wait a minute")
TOKEN_UNAVAILABLE = ProblemKind(503, "token-unavailable",
                                "The box's key store did not answer or refused to sign")
BAD_SIGNING_REQUEST = ProblemKind(400, "bad-signing-request", "The signing request is unusable")
CARD_BUSY = ProblemKind(503, "card-busy", "The card stayed busy past the deadline")
SHUTTING_DOWN = ProblemKind(503, "shutting-down", "The daemon is stopping")
BODY_TOO_LARGE = ProblemKind(413, "body-too-large", "Request body over this route's limit")
OVERLOADED = ProblemKind(503, "overloaded", "Too many requests in progress, retry shortly")
AUDIT_UNAVAILABLE = ProblemKind(507, "audit-unavailable",
                                "Audit log not writable (disk full?): result withheld")
TELESERVICE_FAULT = ProblemKind(502, "teleservice-fault",
                                "The téléservice refused the request (see codes)")
TELESERVICE_UNAVAILABLE = ProblemKind(
    503, "teleservice-unavailable",
    "The téléservice or the box's tunnel to it is temporarily unavailable (see codes)")
TELESERVICE_UNREACHABLE = ProblemKind(504, "teleservice-unreachable",
                                      "The téléservice did not answer in time")
TELESERVICE_BAD_ANSWER = ProblemKind(502, "teleservice-bad-answer",
                                     "The téléservice answered something unexpected")
TELESERVICE_NOT_CONFIGURED = ProblemKind(503, "teleservice-not-configured",
                                         "This téléservice is not configured on this box")
INVALID_TRAITS = ProblemKind(422, "invalid-traits", "An identity trait INSi would refuse")
LUNAR_BIRTH_DATE = ProblemKind(422, "lunar-birth-date",
                               "Day or month of birth unknown: INSi needs a calendar date")
NO_CPS_FOR_CPX = ProblemKind(409, "no-cps-for-cpx", "CPx mode needs one CPS in a reader")
BAD_DMP_REQUEST = ProblemKind(400, "bad-dmp-request", "The DMP request cannot be relayed")
DISPENSATION_NOT_OPEN = ProblemKind(404, "dispensation-not-open",
                                    "No open dispensation for this prescription")
NOT_HOLDER = ProblemKind(409, "not-holder", "Another counter holds this dispensation")
APCV_REFUSED = ProblemKind(422, "apcv-refused", "The ApCV service refused the request")
APCV_UNAVAILABLE = ProblemKind(502, "apcv-unavailable", "The ApCV service did not answer usably")

# Order matters: subclasses before their bases (CardError last among card errors; the token's
# StoreError — the box's fault, 5xx — before ProvisioningError, the request's fault).
MAPPING: tuple[tuple[type[Exception], ProblemKind], ...] = (
    (auth.NotAuthenticated, NOT_AUTHENTICATED),
    (auth.ClientRevoked, CLIENT_REVOKED),
    (auth.Forbidden, FORBIDDEN),
    (auth.MissingOperator, OPERATOR_REQUIRED),
    (UnknownReader, UNKNOWN_READER),
    (NoCard, NO_CARD),
    (card.WrongPin, WRONG_PIN),
    (card.LastTryRefused, LAST_TRY_REFUSED),
    (card.PinBlocked, PIN_BLOCKED),
    (card.SecurityNotSatisfied, CPS_LOCKED),
    (PinNotAllowed, API_PIN_DISABLED),
    (TerminalNotBound, TERMINAL_NOT_BOUND),
    (TerminalAbsent, TERMINAL_ABSENT),
    (PinEntryCancelled, PIN_ENTRY_CANCELLED),
    (PinEntryTimedOut, PIN_ENTRY_TIMEOUT),
    (PinBudgetSpent, PIN_BUDGET_SPENT),
    (card.CardRemoved, CARD_REMOVED),
    (card.ReaderUnavailable, READER_UNAVAILABLE),
    (card.CardProtocolError, CARD_PROTOCOL_ERROR),
    (card.CardError, CARD_ERROR),
    (KeyNotProvisioned, KEY_NOT_PROVISIONED),
    (BadCsr, BAD_CSR),
    (PairingRefused, PAIRING_REFUSED),
    (RateLimited, RATE_LIMITED),
    (StoreError, TOKEN_UNAVAILABLE),
    (ProvisioningError, BAD_SIGNING_REQUEST),
    (DeadlineExceeded, CARD_BUSY),
    (SchedulerStopped, SHUTTING_DOWN),
    (AuditUnavailable, AUDIT_UNAVAILABLE),
    (tele.TunnelDown, TELESERVICE_UNAVAILABLE),
    (tele.TeleserviceUnavailable, TELESERVICE_NOT_CONFIGURED),
    (tele.TunnelError, TELESERVICE_NOT_CONFIGURED),
    (tele.NoCpsForCpx, NO_CPS_FOR_CPX),
    (tele.DmpRequestError, BAD_DMP_REQUEST),
    (LunarBirthDate, LUNAR_BIRTH_DATE),
    (TraitsError, INVALID_TRAITS),
    (tele.SoapTransportError, TELESERVICE_UNREACHABLE),
    (tele.SoapProtocolError, TELESERVICE_BAD_ANSWER),
    (tele.SoapFault, TELESERVICE_FAULT),
    (NotOpen, DISPENSATION_NOT_OPEN),
    (NotHolder, NOT_HOLDER),
    (ApcvRefused, APCV_REFUSED),
    (ApcvUnavailable, APCV_UNAVAILABLE),
)


def kind_of(exc: BaseException) -> ProblemKind | None:
    if isinstance(exc, tele.SoapFault) and exc.transient:
        return TELESERVICE_UNAVAILABLE  # siram_40 / insi_102: retry later, not a refusal
    for exc_type, kind in MAPPING:
        if isinstance(exc, exc_type):
            return kind
    return None


def outcome_of(exc: BaseException) -> str:
    """The audit outcome of a failed operation: the slug of the problem the caller gets."""
    own = getattr(exc, "kind", None)  # an API problem raised with its kind (ApiProblem)
    kind = own if isinstance(own, ProblemKind) else kind_of(exc)
    return (kind or INTERNAL).slug
