"""Request → context, client, role and operator: FastAPI dependencies shared by the routers."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Header, Request

from hostd import auth
from hostd.auth import EnrolledClient, Role
from hostd.context import AppContext
from hostd.scheduler import Priority
from hostd.services.jobs import Caller
from hostd.tls import peer_certificate_der

# Dependencies are ``async def`` on purpose: FastAPI runs plain ``def`` dependencies in its
# thread pool, one hop each per request; these only read memory or a primary-key row.


async def context(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


Ctx = Annotated[AppContext, Depends(context)]


def _identify(request: Request) -> EnrolledClient:
    # Looked up on every request, so a revocation takes effect on open connections too. Read
    # straight from the app state rather than through the ``Ctx`` dependency: every level of
    # dependency costs FastAPI a solve per request, the largest share of a request's time in
    # the daemon (bench/shared_cps.py measures the overhead).
    ctx: AppContext = request.app.state.ctx
    return auth.identify(ctx.devices.clients, peer_certificate_der(request.scope))


async def client(request: Request) -> EnrolledClient:
    return _identify(request)


Client = Annotated[EnrolledClient, Depends(client)]

OperatorHeader = Annotated[
    str | None,
    Header(
        alias=auth.OPERATOR_HEADER,
        description="The person logged in to the LGO on this counter (written to the audit log).",
    ),
]


PRIORITY_HEADER = "X-Comptoir-Priority"

class RequestPriority(enum.StrEnum):
    """The priority a request asks for; one named schema in the OpenAPI document, so a
    generated client has one enum for every operation rather than one per operation."""

    INTERACTIVE = "interactive"
    BATCH = "batch"


PriorityHeader = Annotated[
    RequestPriority | None,
    Header(
        alias=PRIORITY_HEADER,
        description=(
            "`batch` queues this request's card work behind every waiting interactive job "
            "(background work of a counter's LGO). Default: `interactive` for a counter, "
            "`batch` for a server; a server's work is always batch."
        ),
    ),
]

BATCH_ROLES = frozenset({Role.SERVER})
"""Roles whose card work is batch whatever they ask: a pharmacy server's signing run must not
make a counter (a patient waiting) wait longer than the operation in progress."""


def priority_of(who: EnrolledClient, asked: RequestPriority | None) -> Priority:
    """A request may lower its priority, never raise it above its role's."""
    if who.role in BATCH_ROLES or asked is RequestPriority.BATCH:
        return Priority.BATCH
    return Priority.INTERACTIVE


def allow(*roles: Role) -> Callable[[Request], Awaitable[EnrolledClient]]:
    allowed = frozenset(roles)

    async def check(request: Request) -> EnrolledClient:
        who = _identify(request)
        auth.require_role(who, allowed)
        return who

    return check


def caller(*roles: Role) -> Callable[..., Awaitable[Caller]]:
    """A card or key operation: role checked, operator named, disconnect watched."""
    allowed = frozenset(roles)

    async def build(request: Request, operator: OperatorHeader = None,
                    priority: PriorityHeader = None) -> Caller:
        who = _identify(request)
        auth.require_role(who, allowed)
        return Caller(who.name, auth.operator_name(operator), request.receive,
                      priority_of(who, priority))

    return build


CARD_ROLES = (Role.COUNTER,)
STORE_ROLES = (Role.COUNTER, Role.SERVER)
ANY_ROLE = (Role.COUNTER, Role.SERVER, Role.ADMIN)

SIGN_ROLES = (Role.COUNTER, Role.SERVER)
"""CPS signatures and certificates: a server signs with the unlocked CPS too (batch), but only a
counter unlocks it (a PIN is typed by a person at a counter)."""

CardCaller = Annotated[Caller, Depends(caller(*CARD_ROLES))]
SignCaller = Annotated[Caller, Depends(caller(*SIGN_ROLES))]
StoreCaller = Annotated[Caller, Depends(caller(*STORE_ROLES))]
AdminCaller = Annotated[Caller, Depends(caller(Role.ADMIN))]
Reader = Annotated[EnrolledClient, Depends(allow(*ANY_ROLE))]
Admin = Annotated[EnrolledClient, Depends(allow(Role.ADMIN))]
