"""RFC 9457 problem details: the one mapping from exceptions to HTTP answers.

Each error has a stable ``type`` URI that LGO code can switch on (docs/hostd.md lists them);
``detail`` is for people. Validation errors never echo the submitted values: a PIN sent in a
malformed body must not come back in the error (FastAPI's default does echo ``input``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.telemetry import TelemetryConfig
from starlette.exceptions import HTTPException as StarletteHTTPException

from drivers import errors as card
from hostd import auth
from hostd.audit import AuditUnavailable
from hostd.scanning.guard import NotHolder, NotOpen
from hostd.scheduler import DeadlineExceeded, SchedulerStopped
from hostd.services.apcv_errors import ApcvRefused, ApcvUnavailable
from hostd.services.clients import PairingRefused, RateLimited
from hostd.services.cps import PinNotAllowed
from hostd.services.readers import NoCard, UnknownReader
from hostd.services.signing import KeyNotProvisioned
from provisioning.errors import ProvisioningError, StoreError

log = logging.getLogger(__name__)

TYPE_BASE = "urn:comptoir:problem:"
MEDIA_TYPE = "application/problem+json"


@dataclass(frozen=True)
class ProblemKind:
    status: int
    slug: str
    title: str


class ApiProblem(Exception):
    """Raised by routers and services for errors that are not card or auth errors."""

    def __init__(self, kind: ProblemKind, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.extra = extra


BAD_REQUEST = ProblemKind(400, "bad-request", "The request cannot be used")
NOT_FOUND = ProblemKind(404, "not-found", "No such resource")
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
CPS_LOCKED = ProblemKind(403, "cps-locked", "The CPS is locked")
API_PIN_DISABLED = ProblemKind(403, "api-pin-disabled", "PIN only accepted from the PIN pad")
CARD_REMOVED = ProblemKind(409, "card-removed", "The card was removed")
READER_UNAVAILABLE = ProblemKind(503, "reader-unavailable", "Reader unavailable")
CARD_PROTOCOL_ERROR = ProblemKind(502, "card-protocol-error",
                                  "The card gave an unexpected answer")
CARD_ERROR = ProblemKind(502, "card-error", "Card error")
KEY_NOT_PROVISIONED = ProblemKind(409, "key-not-provisioned", "That key is not provisioned")
PAIRING_REFUSED = ProblemKind(403, "pairing-refused", "Pairing code refused")
RATE_LIMITED = ProblemKind(429, "rate-limited", "Too many attempts, wait a minute")
TOKEN_UNAVAILABLE = ProblemKind(503, "token-unavailable",
                                "The box's key store did not answer or refused to sign")
BAD_SIGNING_REQUEST = ProblemKind(400, "bad-signing-request", "The signing request is unusable")
CARD_BUSY = ProblemKind(503, "card-busy", "The card stayed busy past the deadline")
SHUTTING_DOWN = ProblemKind(503, "shutting-down", "The daemon is stopping")
COUNTER_FORBIDDEN = ProblemKind(403, "counter-forbidden", "Not this client's counter")
IMAGE_TOO_LARGE = ProblemKind(413, "image-too-large", "Image larger than the box accepts")
IMAGE_TYPE = ProblemKind(415, "image-type", "Only JPEG and PNG images are decoded")
IMAGE_UNREADABLE = ProblemKind(422, "image-unreadable", "The image cannot be decoded")
DISPENSATION_NOT_OPEN = ProblemKind(404, "dispensation-not-open",
                                    "No open dispensation for this prescription")
NOT_HOLDER = ProblemKind(409, "not-holder", "Another counter holds this dispensation")
NOT_APCV = ProblemKind(409, "not-apcv", "That scan is not an ApCV code")
APCV_REFUSED = ProblemKind(422, "apcv-refused", "The ApCV service refused the request")
APCV_UNAVAILABLE = ProblemKind(502, "apcv-unavailable", "The ApCV service did not answer usably")
AUDIT_UNAVAILABLE = ProblemKind(507, "audit-unavailable",
                                "Audit log not writable (disk full?): result withheld")

# Order matters: subclasses before their bases (CardError last among card errors; the token's
# StoreError — the box's fault, 5xx — before ProvisioningError, the request's fault).
_MAPPING: tuple[tuple[type[Exception], ProblemKind], ...] = (
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
    (card.CardRemoved, CARD_REMOVED),
    (card.ReaderUnavailable, READER_UNAVAILABLE),
    (card.CardProtocolError, CARD_PROTOCOL_ERROR),
    (card.CardError, CARD_ERROR),
    (KeyNotProvisioned, KEY_NOT_PROVISIONED),
    (PairingRefused, PAIRING_REFUSED),
    (RateLimited, RATE_LIMITED),
    (StoreError, TOKEN_UNAVAILABLE),
    (ProvisioningError, BAD_SIGNING_REQUEST),
    (DeadlineExceeded, CARD_BUSY),
    (SchedulerStopped, SHUTTING_DOWN),
    (AuditUnavailable, AUDIT_UNAVAILABLE),
    (NotOpen, DISPENSATION_NOT_OPEN),
    (NotHolder, NOT_HOLDER),
    (ApcvRefused, APCV_REFUSED),
    (ApcvUnavailable, APCV_UNAVAILABLE),
)

TELEMETRY_OFF: TelemetryConfig = {
    "tracing": False, "metrics": False, "logs": False, "operation_spans": False,
}
"""FastAPI's built-in OpenTelemetry hooks, all off: the box exports nothing (its figures are
``/metrics`` and the audit log), the hooks' "logs" would record validation errors *with the
submitted values* (a PIN in a malformed unlock body) if a provider were ever configured, and
their per-request checks were a visible share of the overhead bench/shared_cps.py measures."""

VALIDATION = ProblemKind(422, "invalid-request", "The request does not match the API")
INTERNAL = ProblemKind(500, "internal-error", "Internal error")


def kinds() -> list[ProblemKind]:
    """Every problem kind, for the docs and the tests."""
    listed = [kind for _, kind in _MAPPING]
    return [*listed, BAD_REQUEST, NOT_FOUND, VALIDATION, INTERNAL]


def example(kind: ProblemKind, detail: str | None = None, **extra: Any) -> dict[str, Any]:
    """A problem body as the API answers it, for the OpenAPI examples."""
    return {
        "type": TYPE_BASE + kind.slug, "title": kind.title, "status": kind.status,
        "detail": detail or kind.title, "instance": "/v1/…", **extra,
    }


CARD_PROBLEMS = (UNKNOWN_READER, NO_CARD, CARD_REMOVED, READER_UNAVAILABLE, CARD_PROTOCOL_ERROR,
                 CARD_ERROR, CARD_BUSY, SHUTTING_DOWN, AUDIT_UNAVAILABLE)
"""What any card operation can answer besides its own problems."""
COMMON_PROBLEMS = (NOT_AUTHENTICATED, CLIENT_REVOKED, FORBIDDEN, VALIDATION, INTERNAL)
"""What every route of the mTLS API can answer (added to each operation's documentation)."""


def responses(*problem_kinds: ProblemKind) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route: its problems, grouped by status, each with an example.

    The schema is :class:`~hostd.api.models.ProblemDetails` under
    ``application/problem+json`` (``hostd.api.openapi`` moves it there from FastAPI's default
    ``application/json``)."""
    from hostd.api.models import ProblemDetails

    by_status: dict[int, list[ProblemKind]] = {}
    for kind in problem_kinds:
        if kind not in by_status.setdefault(kind.status, []):
            by_status[kind.status].append(kind)
    out: dict[int | str, dict[str, Any]] = {}
    for status, listed in sorted(by_status.items()):
        out[status] = {
            "model": ProblemDetails,
            "description": "; ".join(f"`{k.slug}`: {k.title}" for k in listed),
            "content": {MEDIA_TYPE: {"examples": {
                k.slug: {"summary": k.title, "value": _example_for(k)} for k in listed
            }}},
        }
    return out


def api_responses(*problem_kinds: ProblemKind) -> dict[int | str, dict[str, Any]]:
    """A route of the mTLS API: its own problems and :data:`COMMON_PROBLEMS`."""
    return responses(*COMMON_PROBLEMS, *problem_kinds)


def _example_for(kind: ProblemKind) -> dict[str, Any]:
    if kind in (WRONG_PIN,):
        return example(kind, "wrong PIN, 2 tries left", tries_left=2)
    if kind in (LAST_TRY_REFUSED,):
        return example(kind, "one PIN try left: the PIN must be typed by the cardholder",
                       tries_left=1)
    if kind is VALIDATION:
        return example(kind, "body.pin: Field required",
                       errors=[{"loc": ["body", "pin"], "msg": "Field required"}])
    return example(kind)


def problem_response(
    request: Request, kind: ProblemKind, detail: str, **extra: Any
) -> JSONResponse:
    body = {
        "type": TYPE_BASE + kind.slug,
        "title": kind.title,
        "status": kind.status,
        "detail": detail,
        "instance": request.url.path,
        **extra,
    }
    return JSONResponse(body, status_code=kind.status, media_type=MEDIA_TYPE)


def kind_of(exc: BaseException) -> ProblemKind | None:
    for exc_type, kind in _MAPPING:
        if isinstance(exc, exc_type):
            return kind
    return None


async def _handle(request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, ApiProblem):
        return problem_response(request, exc.kind, exc.detail, **exc.extra)
    kind = kind_of(exc)
    if kind is None:
        log.exception("unexpected error on %s", request.url.path)
        return problem_response(request, INTERNAL, "see the daemon's log")
    extra: dict[str, Any] = {"tries_left": exc.tries_left} if hasattr(exc, "tries_left") else {}
    if isinstance(exc, ApcvRefused):
        extra["service_codes"] = list(exc.service_codes)
    return problem_response(request, kind, str(exc), **extra)


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))}
        for e in exc.errors()
    ]
    summary = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors[:5])
    return problem_response(request, VALIDATION, summary, errors=errors)


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
    kind = ProblemKind(exc.status_code, slug, str(exc.detail))
    response = problem_response(request, kind, str(exc.detail))
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    # Known errors are registered one by one so Starlette's ExceptionMiddleware answers them;
    # only truly unexpected ones reach the catch-all (logged with their traceback).
    app.add_exception_handler(ApiProblem, _handle)
    for exc_type, _ in _MAPPING:
        app.add_exception_handler(exc_type, _handle)
    app.add_exception_handler(Exception, _handle)
