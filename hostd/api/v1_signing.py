"""/v1/store: signing with the officine's ORG keys for counters and the pharmacy server."""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from hostd.api import problems as p
from hostd.api.deps import Ctx, StoreCaller
from hostd.api.models import CmsModel, StoreSignatureModel, XmlModel
from hostd.api.problems import BAD_REQUEST, NOT_FOUND, ApiProblem
from hostd.services.signing import SigningService

router = APIRouter(prefix="/v1/store", tags=["store signing"])

MAX_BYTES = 1 << 20
KEY_FIELD = Field("org-sign", description="Store key: org-sign or org-auth-cli")


class RawRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str = KEY_FIELD
    digest_b64: str | None = Field(None, description="SHA-256 digest, base64")
    data_b64: str | None = Field(None, description="Data (≤ 1 MiB), base64")


class CmsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str = KEY_FIELD
    data_b64: str = Field(description="Content to sign detached (≤ 1 MiB), base64")


class XmlRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str = KEY_FIELD
    xml: str = Field(max_length=MAX_BYTES, description="XML document, signed enveloped")


class CodeModel(BaseModel):
    code: str = Field(max_length=64)
    system: str = Field(max_length=128)
    display: str = Field(max_length=256)


class VihfRequest(BaseModel):
    """The VIHF fields (DOMAIN.md). Operator = the professional the assertion speaks for."""

    model_config = ConfigDict(extra="forbid")
    key: str = KEY_FIELD
    operator_id: str = Field(max_length=64)
    operator_name: str = Field(max_length=256)
    profession: CodeModel
    cnop_section: CodeModel | None = None
    structure_id: str = Field(max_length=64)
    secteur_activite: str = Field(max_length=128)
    patient_ins: str = Field(max_length=15)
    lps_name: str = Field(max_length=128)
    lps_version: str = Field(max_length=64)
    lps_homologation_id: str = Field(max_length=64)


def _signing(ctx: Any) -> SigningService:
    service: SigningService | None = ctx.devices.signing
    if service is None:
        raise ApiProblem(NOT_FOUND, "store signing is not available on this box")
    return service


def _b64(field: str, value: str) -> bytes:
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ApiProblem(BAD_REQUEST, f"{field}: not valid base64") from exc
    if len(data) > MAX_BYTES:
        raise ApiProblem(BAD_REQUEST, f"{field}: at most 1 MiB")
    return data


_STORE = p.api_responses(p.OPERATOR_REQUIRED, p.BAD_REQUEST, p.NOT_FOUND, p.KEY_NOT_PROVISIONED,
                         p.BAD_SIGNING_REQUEST, p.TOKEN_UNAVAILABLE, p.AUDIT_UNAVAILABLE)


@router.post("/sign/raw", summary="RSA PKCS#1 v1.5 SHA-256 over data or a digest",
             operation_id="store_sign_raw", responses=_STORE)
async def sign_raw(body: RawRequest, ctx: Ctx, caller: StoreCaller) -> StoreSignatureModel:
    service = _signing(ctx)
    if (body.digest_b64 is None) == (body.data_b64 is None):
        raise ApiProblem(BAD_REQUEST, "give exactly one of digest_b64 and data_b64")
    digest = _b64("digest_b64", body.digest_b64) if body.digest_b64 is not None else None
    if digest is not None and len(digest) != 32:
        raise ApiProblem(BAD_REQUEST, "digest_b64: a SHA-256 digest is 32 bytes")
    data = _b64("data_b64", body.data_b64) if body.data_b64 is not None else None
    # The row names what was signed (a digest in any case), so a signature can be traced to
    # its audit row, as the CPS's are.
    signed = {"digest_sha256": (digest or hashlib.sha256(data or b"").digest()).hex()}
    signature: bytes = await service.run(
        caller, "sign.raw", body.key, signed, service.backend.raw, body.key, data=data,
        digest=digest,
    )
    return StoreSignatureModel(
        algorithm="RSASSA-PKCS1-v1_5-SHA256",
        signature_b64=base64.b64encode(signature).decode(),
        certificate_pem=service.backend.certificate_pem(body.key),
    )


@router.post("/sign/cms", summary="Detached CMS SignedData (DER, base64)",
             operation_id="store_sign_cms", responses=_STORE)
async def sign_cms(body: CmsRequest, ctx: Ctx, caller: StoreCaller) -> CmsModel:
    service = _signing(ctx)
    data = _b64("data_b64", body.data_b64)
    der: bytes = await service.run(
        caller, "sign.cms", body.key,
        {"bytes": len(data), "data_sha256": hashlib.sha256(data).hexdigest()},
        service.backend.cms, body.key, data,
    )
    return CmsModel(cms_b64=base64.b64encode(der).decode())


@router.post("/sign/xmldsig", summary="Enveloped XML-DSig (exclusive C14N, RSA-SHA256)",
             operation_id="store_sign_xmldsig", responses=_STORE)
async def sign_xml(body: XmlRequest, ctx: Ctx, caller: StoreCaller) -> XmlModel:
    service = _signing(ctx)
    xml = body.xml.encode()
    signed: bytes = await service.run(
        caller, "sign.xmldsig", body.key, {"bytes": len(xml)}, service.backend.xmldsig,
        body.key, xml,
    )
    return XmlModel(xml=signed.decode())


@router.post("/sign/vihf", summary="Signed VIHF (SAML 2.0 assertion) for an operator/patient",
             operation_id="store_sign_vihf", responses=_STORE)
async def sign_vihf(body: VihfRequest, ctx: Ctx, caller: StoreCaller) -> XmlModel:
    from provisioning.signing.vihf import Code

    service = _signing(ctx)
    fields = body.model_dump(exclude={"key"})
    fields["profession"] = Code(**fields["profession"])
    if fields["cnop_section"] is not None:
        fields["cnop_section"] = Code(**fields["cnop_section"])
    detail = {"operator_id": body.operator_id, "ins_ref": service.ins_ref(body.patient_ins)}
    signed: bytes = await service.run(
        caller, "sign.vihf", body.key, detail, service.backend.vihf, body.key, fields
    )
    return XmlModel(xml=signed.decode())
