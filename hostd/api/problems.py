"""RFC 9457 problem details: exceptions to HTTP answers, by the one table in ``hostd.outcomes``.

Each error has a stable ``type`` URI that LGO code can switch on (docs/hostd.md lists them);
``detail`` is for people. Validation errors never echo the submitted values: a PIN sent in a
malformed body must not come back in the error (FastAPI's default does echo ``input``).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.telemetry import TelemetryConfig
from starlette.exceptions import HTTPException as StarletteHTTPException

from hostd.outcomes import (
    APCV_REFUSED,
    APCV_UNAVAILABLE,
    API_PIN_DISABLED,
    AUDIT_UNAVAILABLE,
    BAD_CSR,
    BAD_DMP_REQUEST,
    BAD_SIGNING_REQUEST,
    BODY_TOO_LARGE,
    CARD_BUSY,
    CARD_ERROR,
    CARD_PROTOCOL_ERROR,
    CARD_REMOVED,
    CLIENT_REVOKED,
    CPS_LOCKED,
    DISPENSATION_NOT_OPEN,
    FORBIDDEN,
    INTERNAL,
    INVALID_TRAITS,
    KEY_NOT_PROVISIONED,
    LAST_TRY_REFUSED,
    LUNAR_BIRTH_DATE,
    MAPPING,
    NO_CARD,
    NO_CPS_FOR_CPX,
    NOT_AUTHENTICATED,
    NOT_HOLDER,
    OPERATOR_REQUIRED,
    OVERLOADED,
    PAIRING_REFUSED,
    PIN_BLOCKED,
    PIN_BUDGET_SPENT,
    PIN_ENTRY_CANCELLED,
    PIN_ENTRY_TIMEOUT,
    RATE_LIMITED,
    READER_UNAVAILABLE,
    SHUTTING_DOWN,
    TELESERVICE_BAD_ANSWER,
    TELESERVICE_FAULT,
    TELESERVICE_NOT_CONFIGURED,
    TELESERVICE_UNAVAILABLE,
    TELESERVICE_UNREACHABLE,
    TERMINAL_ABSENT,
    TERMINAL_NOT_BOUND,
    TOKEN_UNAVAILABLE,
    UNKNOWN_READER,
    WRONG_PIN,
    ProblemKind,
    kind_of,
)

# The kinds and the exception table live in hostd.outcomes (the audit log stores the same
# slugs); they are re-exported here for the routers.
from hostd.services.apcv_errors import ApcvRefused
from hostd.teleservices.errors import SoapFault

log = logging.getLogger(__name__)

__all__ = [
    "APCV_REFUSED",
    "APCV_UNAVAILABLE",
    "API_PIN_DISABLED",
    "AUDIT_UNAVAILABLE",
    "BAD_CSR",
    "BAD_DMP_REQUEST",
    "BAD_REQUEST",
    "BAD_SIGNING_REQUEST",
    "BODY_TOO_LARGE",
    "CARD_BUSY",
    "CARD_ERROR",
    "CARD_PROBLEMS",
    "CARD_PROTOCOL_ERROR",
    "CARD_REMOVED",
    "CLIENT_REVOKED",
    "COMMON_PROBLEMS",
    "COUNTER_FORBIDDEN",
    "CPS_LOCKED",
    "DISPENSATION_NOT_OPEN",
    "FORBIDDEN",
    "IMAGE_TOO_LARGE",
    "IMAGE_TYPE",
    "IMAGE_UNREADABLE",
    "INTERNAL",
    "INVALID_TRAITS",
    "KEY_NOT_PROVISIONED",
    "LAST_TRY_REFUSED",
    "LUNAR_BIRTH_DATE",
    "MAPPING",
    "MEDIA_TYPE",
    "NOT_APCV",
    "NOT_AUTHENTICATED",
    "NOT_FOUND",
    "NOT_HOLDER",
    "NO_CARD",
    "NO_CPS_FOR_CPX",
    "OPERATOR_REQUIRED",
    "OVERLOADED",
    "PAIRING_REFUSED",
    "PIN_BLOCKED",
    "PIN_BUDGET_SPENT",
    "PIN_ENTRY_CANCELLED",
    "PIN_ENTRY_TIMEOUT",
    "RATE_LIMITED",
    "READER_UNAVAILABLE",
    "RETRY_AFTER_S",
    "SHUTTING_DOWN",
    "TELEMETRY_OFF",
    "TELESERVICE_BAD_ANSWER",
    "TELESERVICE_FAULT",
    "TELESERVICE_NOT_CONFIGURED",
    "TELESERVICE_UNAVAILABLE",
    "TELESERVICE_UNREACHABLE",
    "TERMINAL_ABSENT",
    "TERMINAL_NOT_BOUND",
    "TOKEN_UNAVAILABLE",
    "TYPE_BASE",
    "UNKNOWN_READER",
    "VALIDATION",
    "WRONG_PIN",
    "ApiProblem",
    "ProblemKind",
    "api_responses",
    "example",
    "install",
    "kind_of",
    "kinds",
    "problem_response",
    "responses",
]

TYPE_BASE = "urn:comptoir:problem:"
MEDIA_TYPE = "application/problem+json"


class ApiProblem(Exception):
    """Raised by routers and services for errors that are not card or auth errors."""

    def __init__(self, kind: ProblemKind, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.extra = extra


BAD_REQUEST = ProblemKind(400, "bad-request", "The request cannot be used")
NOT_FOUND = ProblemKind(404, "not-found", "No such resource")
COUNTER_FORBIDDEN = ProblemKind(403, "counter-forbidden", "Not this client's counter")
IMAGE_TOO_LARGE = ProblemKind(413, "image-too-large", "Image larger than the box accepts")
IMAGE_TYPE = ProblemKind(415, "image-type", "Only JPEG and PNG images are decoded")
IMAGE_UNREADABLE = ProblemKind(422, "image-unreadable", "The image cannot be decoded")
NOT_APCV = ProblemKind(409, "not-apcv", "That scan is not an ApCV code")

TELEMETRY_OFF: TelemetryConfig = {
    "tracing": False, "metrics": False, "logs": False, "operation_spans": False,
}
"""FastAPI's built-in OpenTelemetry hooks, all off: the box exports nothing (its figures are
``/metrics`` and the audit log), the hooks' "logs" would record validation errors *with the
submitted values* (a PIN in a malformed unlock body) if a provider were ever configured, and
their per-request checks were a visible share of the overhead bench/shared_cps.py measures."""

VALIDATION = ProblemKind(422, "invalid-request", "The request does not match the API")


RETRY_AFTER_S: dict[str, int] = {
    TELESERVICE_UNAVAILABLE.slug: 30,
    TELESERVICE_UNREACHABLE.slug: 30,
}
"""Problems that mean "try again later" and the ``Retry-After`` (seconds) they carry: a
téléservice's transient fault (``siram_40``/``insi_102``), the box's tunnel to it down, or no
answer within the call's deadline (the box already retried what it may). Not
``teleservice-not-configured``: that one waits for the technician, not for time."""


def kinds() -> list[ProblemKind]:
    """Every problem kind, for the docs and the tests."""
    listed = [kind for _, kind in MAPPING]
    return [*dict.fromkeys(listed), TELESERVICE_UNAVAILABLE, BAD_REQUEST, NOT_FOUND,
            VALIDATION, BODY_TOO_LARGE, OVERLOADED, INTERNAL, COUNTER_FORBIDDEN,
            IMAGE_TOO_LARGE, IMAGE_TYPE, IMAGE_UNREADABLE, NOT_APCV]


def example(kind: ProblemKind, detail: str | None = None, **extra: Any) -> dict[str, Any]:
    """A problem body as the API answers it, for the OpenAPI examples."""
    return {
        "type": TYPE_BASE + kind.slug, "title": kind.title, "status": kind.status,
        "detail": detail or kind.title, "instance": "/v1/…", **extra,
    }


CARD_PROBLEMS = (UNKNOWN_READER, NO_CARD, CARD_REMOVED, READER_UNAVAILABLE, CARD_PROTOCOL_ERROR,
                 CARD_ERROR, CARD_BUSY, SHUTTING_DOWN, AUDIT_UNAVAILABLE)
"""What any card operation can answer besides its own problems."""
COMMON_PROBLEMS = (NOT_AUTHENTICATED, CLIENT_REVOKED, FORBIDDEN, VALIDATION, BODY_TOO_LARGE,
                   OVERLOADED, INTERNAL)
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
        later = [k.slug for k in listed if k.slug in RETRY_AFTER_S]
        if later:
            out[status]["headers"] = {"Retry-After": {
                "description": f"Seconds to wait before trying again (with {', '.join(later)} "
                               "only)",
                "schema": {"type": "integer", "minimum": 1},
            }}
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
    if kind in (TELESERVICE_FAULT, TELESERVICE_UNAVAILABLE):
        codes = ["desir_560"] if kind is TELESERVICE_FAULT else ["siram_40", "insi_102"]
        return example(kind, f"Sender: droits insuffisants ({codes[-1]})", codes=codes,
                       transient=kind is TELESERVICE_UNAVAILABLE)
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
    later = RETRY_AFTER_S.get(kind.slug)
    headers = {"Retry-After": str(later)} if later else None
    return JSONResponse(body, status_code=kind.status, media_type=MEDIA_TYPE, headers=headers)


async def _handle(request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, ApiProblem):
        return problem_response(request, exc.kind, exc.detail, **exc.extra)
    kind = kind_of(exc)
    if kind is None:
        log.exception("unexpected error on %s", request.url.path)
        return problem_response(request, INTERNAL, "see the daemon's log")
    extra: dict[str, Any] = (
        {"tries_left": exc.tries_left} if hasattr(exc, "tries_left") else {}
    )
    if isinstance(exc, SoapFault):
        # The service's own codes (desir_560, siram_100/desir_550, insi_102) for the LGO.
        extra = {"codes": list(exc.service_codes), "transient": exc.transient}
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
    for exc_type, _ in MAPPING:
        app.add_exception_handler(exc_type, _handle)
    app.add_exception_handler(Exception, _handle)
