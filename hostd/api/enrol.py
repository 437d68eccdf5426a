"""The enrolment listener: server-authenticated TLS, one route.

Why a second port instead of ``CERT_OPTIONAL`` on the main one: with a separate listener the
API port refuses a peer without a certificate during the handshake, before any HTTP parsing,
and no route can ever be reached unauthenticated by mistake (a forgotten dependency). The
enrolment port exposes nothing but a rate-limited exchange of a single-use, expiring code and
a CSR for a certificate.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from fastapi import APIRouter, FastAPI, Request
from pydantic import BaseModel, ConfigDict, Field

from hostd.api import openapi, problems
from hostd.audit import AuditLog
from hostd.services.clients import AttemptLimiter, ClientAdmin, ClientService


class EnrolRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=4, max_length=64, description="One-time pairing code")
    csr_pem: str = Field(max_length=16384, description="PKCS#10 request, PEM")


class CaResponse(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "ca_pem": "-----BEGIN CERTIFICATE-----\n…", "sha256": "53eca018…",
    }]})
    ca_pem: str
    sha256: str = Field(description="SHA-256 of the DER certificate, hex")


class EnrolResponse(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "name": "Comptoir 2", "role": "counter",
        "certificate_pem": "-----BEGIN CERTIFICATE-----\n…",
        "ca_pem": "-----BEGIN CERTIFICATE-----\n…",
    }]})
    name: str
    role: str
    certificate_pem: str
    ca_pem: str


def create_enrol_app(admin: ClientAdmin, audit: AuditLog, per_minute: int,
                     per_source: int | None = None) -> FastAPI:
    app = FastAPI(title="Comptoir enrolment", version="1", docs_url=None, redoc_url=None,
                  telemetry=problems.TELEMETRY_OFF)
    problems.install(app)
    openapi.install(app)
    service = ClientService(admin, audit, AttemptLimiter(per_minute, per_source))
    app.state.service = service
    router = APIRouter(prefix="/v1")

    @router.post(
        "/enrol", summary="Exchange a code for a cert", operation_id="enrol",
        responses=problems.responses(problems.VALIDATION, problems.BAD_CSR,
                                     problems.BODY_TOO_LARGE, problems.OVERLOADED,
                                     problems.PAIRING_REFUSED,
                                     problems.RATE_LIMITED, problems.AUDIT_UNAVAILABLE,
                                     problems.INTERNAL),
    )
    async def enrol(body: EnrolRequest, request: Request) -> EnrolResponse:
        peer = request.client.host if request.client else "?"
        enrolled = await service.enrol(body.code.strip(), body.csr_pem.encode(), peer)
        return EnrolResponse(
            name=enrolled.name, role=enrolled.role.value,
            certificate_pem=enrolled.certificate_pem, ca_pem=enrolled.ca_pem,
        )

    @router.get("/ca", summary="The box's local CA certificate", operation_id="enrol_ca",
                responses=problems.responses(problems.INTERNAL))
    async def ca() -> CaResponse:
        # Public by nature (every client is given it); served so a counter can compare its
        # fingerprint with the handover sheet before trusting the box with a pairing code.
        pem = service.ca_pem()
        cert = x509.load_pem_x509_certificate(pem.encode())
        return CaResponse(ca_pem=pem, sha256=cert.fingerprint(hashes.SHA256()).hex())

    app.include_router(router)
    return app
