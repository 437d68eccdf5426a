"""The "assertion PS": a SAML 2.0 assertion signed with the CPS **signature** key (CPx mode).

Facts (DOMAIN.md "INSi"): ``ID="_<uuid>"``; Issuer = the CPS certificate's subject DN in
X509SubjectName format; enveloped XML-DSig (exclusive C14N, rsa-sha256, KeyInfo/X509Data);
``Subject/NameID NameQualifier="CPS"`` = the holder's national id; attributes
``identifiantFacturation`` and ``secteurActivite``.

Why an async signer: the CPS is shared by every counter and only its card worker may talk to
it, so the one RSA operation goes through the shared-CPS queue (``CpsService.sign``, audited,
refused while the card is locked) like any other card job. signxml (the same signer as the
box's VIHF, :mod:`provisioning.signing.xmldsig`) runs in a thread and its single ``key.sign``
call waits on that job; everything else (C14N, digests, KeyInfo) stays in the well-tested
library instead of a hand-rolled XML-DSig.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree

from drivers.cards.cps_model import KeyRole
from hostd.services.jobs import Caller
from provisioning.signing.xmldsig import DS_NS, sign_with_key
from provisioning.tokenkey import TokenRSAKey

SAML_NS = "urn:oasis:names:tc:SAML:2.0:assertion"
X509_SUBJECT_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:X509SubjectName"
UNSPECIFIED_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
SMARTCARD_PKI = "urn:oasis:names:tc:SAML:2.0:ac:classes:SmartcardPKI"
# signxml runs in a worker thread; the card job it waits on has its own deadline, this one
# only stops a thread waiting forever on a loop that went away.
_SIGN_WAIT_S = 120.0


class AssertionPsError(Exception):
    """The assertion cannot be made (bad identity, no signature certificate)."""


class AsyncSigner(Protocol):
    """RSA PKCS#1 v1.5 with SHA-256 over ``data``; the card hashes the last block itself."""

    async def sign_sha256(self, data: bytes) -> bytes: ...


@dataclass(frozen=True)
class PsIdentity:
    """Who signs: the card holder, for what billing identity and activity sector."""

    national_id: str  # "8" + RPPS for RPPS-registered professionals
    billing_id: str  # identifiantFacturation
    sector: str  # secteurActivite, e.g. "SA05" (officine)

    def __post_init__(self) -> None:
        if not (self.national_id.isalnum() and 2 <= len(self.national_id) <= 20):
            raise AssertionPsError("the holder's national id must be 2-20 letters or digits")
        if not (self.billing_id.isalnum() and 1 <= len(self.billing_id) <= 20):
            raise AssertionPsError("identifiantFacturation must be 1-20 letters or digits")
        if not (self.sector.isalnum() and 2 <= len(self.sector) <= 8):
            raise AssertionPsError("secteurActivite must be a short code such as SA05")


@dataclass(frozen=True)
class CpsSigningKey:
    """The CPS signature certificate and a way to reach its key."""

    certificate: x509.Certificate
    signer: AsyncSigner


class CpsQueueSigner:
    """:class:`AsyncSigner` over the shared-CPS queue: ``CpsService.sign`` with the SIGN key.

    ``cps`` is the daemon's CpsService (typed loosely so this module does not import the
    service layer's wiring); every signature is one audited card job.
    """

    def __init__(self, cps: Any, reader: str, caller: Caller) -> None:
        self._cps = cps
        self._reader = reader
        self._caller = caller

    async def sign_sha256(self, data: bytes) -> bytes:
        signature: bytes = await self._cps.sign(
            self._reader, KeyRole.SIGN, self._caller, data=data
        )
        return signature


_DN_NAMES = {
    NameOID.STATE_OR_PROVINCE_NAME: "ST",
    NameOID.GIVEN_NAME: "GN",
    NameOID.SURNAME: "SN",
    NameOID.TITLE: "title",
}


def issuer_dn(cert: x509.Certificate) -> str:
    """RFC 4514 order with the short names a CPS DN uses (no bare OIDs for GN/SN/title)."""
    return cert.subject.rfc4514_string(_DN_NAMES)


def _q(tag: str) -> str:
    return f"{{{SAML_NS}}}{tag}"


def _instant(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build(ps: PsIdentity, issuer: str, now: datetime, validity: timedelta) -> Any:
    """The unsigned assertion with a signature placeholder right after the Issuer."""
    assertion = etree.Element(_q("Assertion"), nsmap={"saml2": SAML_NS})
    assertion.set("ID", f"_{uuid.uuid4()}")
    assertion.set("IssueInstant", _instant(now))
    assertion.set("Version", "2.0")
    iss = etree.SubElement(assertion, _q("Issuer"), Format=X509_SUBJECT_FORMAT)
    iss.text = issuer
    etree.SubElement(assertion, f"{{{DS_NS}}}Signature", Id="placeholder", nsmap={"ds": DS_NS})
    subject = etree.SubElement(assertion, _q("Subject"))
    name_id = etree.SubElement(
        subject, _q("NameID"), Format=UNSPECIFIED_FORMAT, NameQualifier="CPS"
    )
    name_id.text = ps.national_id
    etree.SubElement(
        assertion, _q("Conditions"),
        NotBefore=_instant(now), NotOnOrAfter=_instant(now + validity),
    )
    authn = etree.SubElement(assertion, _q("AuthnStatement"), AuthnInstant=_instant(now))
    ref = etree.SubElement(etree.SubElement(authn, _q("AuthnContext")), _q("AuthnContextClassRef"))
    ref.text = SMARTCARD_PKI
    stmt = etree.SubElement(assertion, _q("AttributeStatement"))
    for name, value in (("identifiantFacturation", ps.billing_id), ("secteurActivite", ps.sector)):
        attr = etree.SubElement(stmt, _q("Attribute"), Name=name)
        etree.SubElement(attr, _q("AttributeValue")).text = value
    return assertion


async def make_assertion(
    key: CpsSigningKey,
    ps: PsIdentity,
    *,
    now: datetime | None = None,
    validity: timedelta = timedelta(minutes=10),
) -> Any:
    """The signed assertion element, ready to go into ``wsse:Security``.

    Exactly one signature job reaches the card; if the card is locked or pulled, that job's
    error (``SecurityNotSatisfied``, ``NoCard``…) propagates unchanged.
    """
    public = key.certificate.public_key()
    if not isinstance(public, rsa.RSAPublicKey):
        raise AssertionPsError("the CPS signature certificate does not hold an RSA key")
    when = now or datetime.now(UTC)
    assertion = build(ps, issuer_dn(key.certificate), when, validity)
    loop = asyncio.get_running_loop()

    def sign_fn(data: bytes, hash_alg: str, prehashed: bool) -> bytes:
        if hash_alg != "sha256" or prehashed:
            raise AssertionPsError("the assertion PS is signed with rsa-sha256 over the data")
        job = asyncio.run_coroutine_threadsafe(key.signer.sign_sha256(data), loop)
        return job.result(timeout=_SIGN_WAIT_S)

    token_key = TokenRSAKey(public, sign_fn)
    return await asyncio.to_thread(
        sign_with_key, assertion, token_key, [key.certificate], "rsa-sha256",
        "#" + assertion.get("ID"),
    )
