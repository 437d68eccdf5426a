"""/v1/cps and /v1/vitale: card operations for counters, each one audited."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import APIRouter, Body
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from drivers.cards.cps_model import KeyRole
from hostd.api import convert
from hostd.api import problems as p
from hostd.api.deps import CardCaller, Ctx, Reader, SignCaller
from hostd.api.models import (
    CertificateModel,
    CpsHolderResponse,
    CpsReaderModel,
    LeaseModel,
    SignatureModel,
    TriesLeftModel,
    UnlockedModel,
    VitaleReadModel,
)
from hostd.api.problems import BAD_REQUEST, ApiProblem
from hostd.services.readers import CardKind

router = APIRouter(prefix="/v1", tags=["cards"])

MAX_SIGN_DATA = 1 << 20


class UnlockRequest(BaseModel):
    """Exactly one of ``terminal`` (the PIN is typed on that counter terminal's keypad; the
    counter PC learns only the outcome) or ``pin`` (only where ``[cps] api_pin = true``)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"terminal": "E66141040317"}]})
    terminal: str | None = Field(
        None, min_length=1, max_length=64,
        description="Serial of this counter's terminal: the box prompts for the PIN there.")
    pin: SecretStr | None = Field(
        None, description="The cardholder's PIN, 4 to 8 digits, when the box allows API PINs. "
        "Never logged; never spends the last try.")


class SignRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: KeyRole = Field(description="auth (CPS_PRIV_AUT) or sign (CPS_PRIV_SIG)")
    digest_b64: str | None = Field(None, description="SHA-256 digest (32 bytes), base64")
    data_b64: str | None = Field(None, description="Data to hash and sign (≤ 1 MiB), base64")


def _b64(field: str, value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ApiProblem(BAD_REQUEST, f"{field}: not valid base64") from exc


_OPERATOR = (p.OPERATOR_REQUIRED,)
_CPS = (*_OPERATOR, *p.CARD_PROBLEMS)
_CPS_UNLOCKED = (*_CPS, p.CPS_LOCKED, p.PIN_BLOCKED)
"""Operations that need the PIN: "locked" and "blocked" are told apart."""


@router.get("/cps", summary="CPS cards present and their unlock lease", operation_id="cps_list",
            responses=p.api_responses())
async def list_cps(ctx: Ctx, _who: Reader) -> list[CpsReaderModel]:
    return [
        convert.cps_reader(s.name, ctx.cps.lease(s.name), ctx.cps.known_tries(s.name))
        for s in ctx.devices.hub.readers()
        if s.kind is CardKind.CPS
    ]


@router.post(
    "/cps/{reader}/unlock", summary="Unlock the CPS: PIN typed on the counter terminal",
    operation_id="cps_unlock",
    responses=p.api_responses(*_CPS, p.BAD_REQUEST, p.WRONG_PIN, p.LAST_TRY_REFUSED,
                              p.PIN_BUDGET_SPENT, p.PIN_BLOCKED, p.API_PIN_DISABLED,
                              p.TERMINAL_NOT_BOUND, p.TERMINAL_ABSENT, p.PIN_ENTRY_CANCELLED,
                              p.PIN_ENTRY_TIMEOUT),
)
async def unlock(
    reader: str, body: UnlockRequest, ctx: Ctx, caller: CardCaller
) -> UnlockedModel:
    if (body.terminal is None) == (body.pin is None):
        raise ApiProblem(BAD_REQUEST, "give exactly one of terminal or pin")
    if body.terminal is not None:
        return convert.unlocked(await ctx.cps.unlock_at_terminal(reader, body.terminal, caller))
    assert body.pin is not None
    secret = body.pin.get_secret_value()
    if not (4 <= len(secret) <= 8 and secret.isascii() and secret.isdigit()):
        raise ApiProblem(BAD_REQUEST, "pin: must be 4 to 8 digits")
    pin = bytearray(secret.encode("ascii"))
    del secret
    return convert.unlocked(await ctx.cps.unlock(reader, pin, caller))


@router.post("/cps/{reader}/lock", summary="Reset the card now (PIN needed again)",
             operation_id="cps_lock", responses=p.api_responses(*_CPS))
async def lock(reader: str, ctx: Ctx, caller: CardCaller) -> LeaseModel:
    await ctx.cps.lock(reader, caller)
    return convert.lease(ctx.cps.lease(reader))


@router.get("/cps/{reader}", summary="Holder identity and situations d'exercice",
            operation_id="cps_holder", responses=p.api_responses(*_CPS_UNLOCKED))
async def holder(reader: str, ctx: Ctx, caller: CardCaller) -> CpsHolderResponse:
    found = await ctx.cps.holder(reader, caller)
    return CpsHolderResponse(holder=convert.holder(found),
                             lease=convert.lease(ctx.cps.lease(reader)))


@router.get("/cps/{reader}/tries-left", summary="PIN tries left", operation_id="cps_tries_left",
            responses=p.api_responses(*_CPS))
async def tries_left(reader: str, ctx: Ctx, caller: CardCaller) -> TriesLeftModel:
    return TriesLeftModel(tries_left=await ctx.cps.tries_left(reader, caller))


@router.get("/cps/{reader}/certificates/{key}", summary="Certificate of a CPS key (PEM)",
            operation_id="cps_certificate", responses=p.api_responses(*_CPS))
async def certificate(
    reader: str, key: KeyRole, ctx: Ctx, caller: SignCaller
) -> CertificateModel:
    der = await ctx.cps.certificate(reader, key, caller)
    b64 = base64.encodebytes(der).decode().replace("\n", "")
    lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
    pem = "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"
    return CertificateModel(key=key.value, certificate_pem=pem)


@router.post("/cps/{reader}/sign", summary="Sign a SHA-256 digest or data with a CPS key",
             operation_id="cps_sign", responses=p.api_responses(*_CPS_UNLOCKED, p.BAD_REQUEST))
async def sign(
    reader: str, body: Annotated[SignRequest, Body()], ctx: Ctx, caller: SignCaller
) -> SignatureModel:
    if (body.digest_b64 is None) == (body.data_b64 is None):
        raise ApiProblem(BAD_REQUEST, "give exactly one of digest_b64 and data_b64")
    if body.digest_b64 is not None:
        digest = _b64("digest_b64", body.digest_b64)
        if len(digest) != 32:
            raise ApiProblem(BAD_REQUEST, "digest_b64: a SHA-256 digest is 32 bytes")
        signature = await ctx.cps.sign(reader, body.key, caller, digest=digest)
    else:
        data = _b64("data_b64", body.data_b64 or "")
        if len(data) > MAX_SIGN_DATA:
            raise ApiProblem(BAD_REQUEST, "data_b64: at most 1 MiB")
        signature = await ctx.cps.sign(reader, body.key, caller, data=data)
    return SignatureModel(
        algorithm="RSASSA-PKCS1-v1_5-SHA256",
        signature_b64=base64.b64encode(signature).decode(),
    )


@router.post("/vitale/{reader}/read", summary="Read a carte Vitale: beneficiaries, NIR checks",
             operation_id="vitale_read", responses=p.api_responses(*_OPERATOR, *p.CARD_PROBLEMS))
async def read_vitale(reader: str, ctx: Ctx, caller: CardCaller) -> VitaleReadModel:
    return convert.vitale_read(await ctx.vitale.read(reader, caller))
