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
from hostd.scheduler import DeadlineExceeded, SchedulerStopped
from hostd.services.clients import BadCsr, PairingRefused, RateLimited
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

# Order matters: subclasses before their bases (CardError last among card errors).
_MAPPING: tuple[tuple[type[Exception], ProblemKind], ...] = (
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
    (BadCsr, ProblemKind(400, "bad-csr", "The certificate signing request is unusable")),
    (PairingRefused, ProblemKind(403, "pairing-refused", "Pairing code refused")),
    (RateLimited, ProblemKind(429, "rate-limited", "Too many attempts, wait a minute")),
    (StoreError, ProblemKind(503, "key-store-unavailable",
                             "The box's key store is unusable: run `comptoir doctor` on the box")),
    (ProvisioningError, ProblemKind(400, "bad-signing-request", "The signing request is unusable")),
    (DeadlineExceeded, ProblemKind(503, "card-busy", "The card stayed busy past the deadline")),
    (SchedulerStopped, ProblemKind(503, "shutting-down", "The daemon is stopping")),
    (AuditUnavailable, ProblemKind(507, "audit-unavailable",
                                   "Audit log not writable (disk full?): result withheld")),
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
    extra = {"tries_left": exc.tries_left} if hasattr(exc, "tries_left") else {}
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
