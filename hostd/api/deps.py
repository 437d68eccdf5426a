"""Request → context, client, role and operator: FastAPI dependencies shared by the routers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Header, Request

from hostd import auth
from hostd.auth import EnrolledClient, Role
from hostd.context import AppContext
from hostd.services.jobs import Caller
from hostd.tls import peer_certificate_der

# Dependencies are ``async def`` on purpose: FastAPI runs plain ``def`` dependencies in its
# thread pool, one hop each per request; these only read memory or a primary-key row.


async def context(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


Ctx = Annotated[AppContext, Depends(context)]


async def client(request: Request, ctx: Ctx) -> EnrolledClient:
    # Looked up on every request, so a revocation takes effect on open connections too.
    return auth.identify(ctx.devices.clients, peer_certificate_der(request.scope))


Client = Annotated[EnrolledClient, Depends(client)]

OperatorHeader = Annotated[
    str | None,
    Header(
        alias=auth.OPERATOR_HEADER,
        description="The person logged in to the LGO on this counter (written to the audit log).",
    ),
]


def allow(*roles: Role) -> Callable[[EnrolledClient], Awaitable[EnrolledClient]]:
    allowed = frozenset(roles)

    async def check(who: Client) -> EnrolledClient:
        auth.require_role(who, allowed)
        return who

    return check


def caller(*roles: Role) -> Callable[..., Awaitable[Caller]]:
    """A card or key operation: role checked, operator named, disconnect watched."""
    allowed = frozenset(roles)

    async def build(request: Request, who: Client, operator: OperatorHeader = None) -> Caller:
        auth.require_role(who, allowed)
        return Caller(who.name, auth.operator_name(operator), request.receive)

    return build


CARD_ROLES = (Role.COUNTER,)
STORE_ROLES = (Role.COUNTER, Role.SERVER)
ANY_ROLE = (Role.COUNTER, Role.SERVER, Role.ADMIN)

CardCaller = Annotated[Caller, Depends(caller(*CARD_ROLES))]
StoreCaller = Annotated[Caller, Depends(caller(*STORE_ROLES))]
AdminCaller = Annotated[Caller, Depends(caller(Role.ADMIN))]
Reader = Annotated[EnrolledClient, Depends(allow(*ANY_ROLE))]
Admin = Annotated[EnrolledClient, Depends(allow(Role.ADMIN))]
