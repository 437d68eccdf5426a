"""/v1/admin (clients, pairing codes, audit) and the enrolment listener's only route."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from hostd.api.deps import Admin, AdminCaller, Ctx
from hostd.api.problems import NOT_FOUND, ApiProblem
from hostd.auth import Role
from hostd.services.clients import ClientAdmin, ClientService

router = APIRouter(prefix="/v1/admin", tags=["admin"])

_NAME = r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$"


class PairingRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=_NAME, description="Client name, e.g. 'Comptoir 2'")
    role: Role = Role.COUNTER
    ttl_s: int = Field(600, ge=30, le=86400, description="Code lifetime in seconds")


def _admin(ctx: Any) -> ClientService:
    admin: ClientAdmin | None = ctx.devices.admin
    if admin is None:
        raise ApiProblem(NOT_FOUND, "client administration is not available on this box")
    return ClientService(admin, ctx.audit)


@router.get("/clients", summary="Enrolled clients")
def clients(ctx: Ctx, _who: Admin) -> list[dict[str, Any]]:
    return _admin(ctx).list_clients()


@router.post("/clients/{name}/revoke", summary="Revoke a client (refused at once)")
async def revoke(name: str, ctx: Ctx, caller: AdminCaller) -> dict[str, Any]:
    done = await _admin(ctx).revoke(name, caller)
    if not done:
        raise ApiProblem(NOT_FOUND, f"no client named {name!r}")
    return {"name": name, "revoked": True}


@router.post("/pairing-codes", summary="One-time code for enrolling a new client")
async def pairing_code(body: PairingRequest, ctx: Ctx, caller: AdminCaller) -> dict[str, Any]:
    return await _admin(ctx).pairing_code(body.name, body.role, body.ttl_s, caller)


@router.get("/audit", summary="Audit rows after an id (paged)")
def audit_rows(
    ctx: Ctx,
    _who: Admin,
    after: int = Query(0, ge=0, le=2**62),
    limit: int = Query(100, ge=1, le=1000),
) -> list[dict[str, Any]]:
    return [asdict(r) for r in ctx.audit.records(after_id=after, limit=limit)]
