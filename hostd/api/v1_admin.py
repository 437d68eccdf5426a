"""/v1/admin (clients, pairing codes, audit) and the enrolment listener's only route."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from hostd.api import convert
from hostd.api import problems as p
from hostd.api.deps import Admin, AdminCaller, Ctx
from hostd.api.models import AuditRecordModel, ClientModel, PairingCodeModel, RevokedModel
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


@router.get("/clients", summary="Enrolled clients", operation_id="admin_clients_list",
            responses=p.api_responses(p.NOT_FOUND))
def clients(ctx: Ctx, _who: Admin) -> list[ClientModel]:
    return [convert.client(c) for c in _admin(ctx).list_clients()]


@router.post("/clients/{name}/revoke", summary="Revoke a client (refused at once)",
             operation_id="admin_client_revoke",
             responses=p.api_responses(p.OPERATOR_REQUIRED, p.NOT_FOUND, p.AUDIT_UNAVAILABLE))
async def revoke(name: str, ctx: Ctx, caller: AdminCaller) -> RevokedModel:
    done = await _admin(ctx).revoke(name, caller)
    if not done:
        raise ApiProblem(NOT_FOUND, f"no client named {name!r}")
    return RevokedModel(name=name, revoked=True)


@router.post("/pairing-codes", summary="One-time code for enrolling a new client",
             operation_id="admin_pairing_code_create",
             responses=p.api_responses(p.OPERATOR_REQUIRED, p.NOT_FOUND, p.PAIRING_REFUSED,
                                       p.AUDIT_UNAVAILABLE))
async def pairing_code(body: PairingRequest, ctx: Ctx, caller: AdminCaller) -> PairingCodeModel:
    code = await _admin(ctx).pairing_code(body.name, body.role, body.ttl_s, caller)
    return convert.pairing_code(code)


@router.get("/audit", summary="Audit rows after an id (paged)", operation_id="admin_audit_rows",
            responses=p.api_responses())
def audit_rows(
    ctx: Ctx,
    _who: Admin,
    after: int = Query(0, ge=0, le=2**62),
    limit: int = Query(100, ge=1, le=1000),
) -> list[AuditRecordModel]:
    return [convert.audit_record(r) for r in ctx.audit.records(after_id=after, limit=limit)]
