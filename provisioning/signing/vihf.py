"""VIHF: the SAML 2.0 assertion a DMP or INSi call carries, signed by the structure's ORG key.

Layout after the CI-SIS "volet transport synchrone" as the ANS samples show it: the Issuer is
the signing certificate's subject DN (X509SubjectName format, RFC 2253 order and "ST=" names),
the Signature sits right after the Issuer (SAML 2.0 core §2.3.3 schema order), the signature
references the assertion's ``ID`` with exclusive C14N, and KeyInfo carries the certificate.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.x509.oid import NameOID
from lxml import etree

from provisioning.errors import ProvisioningError, SlotEmptyError
from provisioning.signing.xmldsig import DS_NS, sign_element
from provisioning.slots import Slot
from provisioning.store import Store

SAML_NS = "urn:oasis:names:tc:SAML:2.0:assertion"
HL7_NS = "urn:hl7-org:v3"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
X509_SUBJECT_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:X509SubjectName"
UNSPECIFIED_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
VIHF_VERSION = "4.0"
ROLE_ATTRIBUTE = "urn:oasis:names:tc:xacml:2.0:subject:role"
RESOURCE_ID_ATTRIBUTE = "urn:oasis:names:tc:xacml:2.0:resource:resource-id"
PURPOSE_ATTRIBUTE = "urn:oasis:names:tc:xspa:1.0:subject:purposeofuse"
SUBJECT_ID_ATTRIBUTE = "urn:oasis:names:tc:xspa:1.0:subject:subject-id"
# TRE_G15 (professions) and TRE_G05 (sub-sections of the pharmacists' Order roll).
PROFESSION_SYSTEM = "1.2.250.1.71.1.2.7"
CNOP_SECTION_SYSTEM = "1.2.250.1.71.4.2.6"
PURPOSE_SYSTEM = "1.2.250.1.213.1.1.4.248"
INS_NIR_OID = "1.2.250.1.213.1.4.8"
PHARMACIST = "21"
NSMAP = {"saml2": SAML_NS, "xsi": XSI_NS}


@dataclass(frozen=True)
class Code:
    """An HL7 v3 CE value: code, code system OID, display name."""

    code: str
    system: str
    display: str


@dataclass(frozen=True)
class VihfContext:
    """Who calls, for whom, from which software. Validated at construction."""

    operator_id: str  # identifiant national du professionnel (e.g. "8" + RPPS)
    operator_name: str
    profession: Code  # TRE_G15, e.g. Code("21", PROFESSION_SYSTEM, "Pharmacien")
    structure_id: str  # Identifiant_Structure (e.g. "3" + FINESS)
    secteur_activite: str  # "code^OID" from JDV_J61, e.g. "SA33^1.2.250.1.71.4.2.4"
    patient_ins: str  # 15-character INS (NIR + key)
    lps_name: str
    lps_version: str
    lps_homologation_id: str
    # Second subject:role for pharmacists: their TRE_G05 section of the CNOP roll.
    cnop_section: Code | None = None
    ins_oid: str = INS_NIR_OID
    purpose: str = "normal"
    authn_context: str = "urn:oasis:names:tc:SAML:2.0:ac:classes:TLSClient"
    validity: timedelta = timedelta(hours=1)

    def __post_init__(self) -> None:
        for name in (
            "operator_id",
            "operator_name",
            "structure_id",
            "secteur_activite",
            "lps_name",
            "lps_version",
            "lps_homologation_id",
        ):
            if not str(getattr(self, name)).strip():
                raise ProvisioningError(f"VIHF field {name} is empty")
        if not (
            len(self.patient_ins) == 15
            and self.patient_ins[:13].replace("A", "0").replace("B", "0").isdigit()
            and self.patient_ins[13:].isdigit()
        ):
            raise ProvisioningError("patient INS must be 15 characters: 13-digit NIR and its key")
        if self.profession.code == PHARMACIST and self.cnop_section is None:
            raise ProvisioningError("a pharmacist's VIHF needs the CNOP section as second role")
        if not timedelta(0) < self.validity <= timedelta(hours=24):
            raise ProvisioningError("VIHF validity must be between 0 and 24 hours")


def _q(tag: str) -> str:
    return f"{{{SAML_NS}}}{tag}"


def _attribute(parent: Any, name: str, *values: str | Any) -> None:
    attr = etree.SubElement(parent, _q("Attribute"), Name=name)
    for value in values:
        holder = etree.SubElement(attr, _q("AttributeValue"))
        if isinstance(value, str):
            holder.text = value
        else:
            holder.append(value)


def _ce(tag: str, code: Code) -> Any:
    el = etree.Element(f"{{{HL7_NS}}}{tag}", nsmap={None: HL7_NS, "xsi": XSI_NS})
    el.set("code", code.code)
    el.set("codeSystem", code.system)
    el.set("displayName", code.display)
    el.set(f"{{{XSI_NS}}}type", "CE")
    return el


def _instant(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def issuer_dn(store: Store, slot: Slot) -> str:
    cert = store.certificate(slot)
    if cert is None:
        raise SlotEmptyError(f"slot {slot.value} has no certificate: the VIHF Issuer is its DN")
    # RFC 4514 string (most specific RDN first), with "ST" as the CI-SIS asks.
    return cert.subject.rfc4514_string({NameOID.STATE_OR_PROVINCE_NAME: "ST"})


def build(ctx: VihfContext, issuer: str, now: datetime) -> Any:
    """The unsigned assertion, with a signature placeholder after the Issuer."""
    assertion = etree.Element(_q("Assertion"), nsmap=NSMAP)
    assertion.set("ID", f"_{uuid.uuid4()}")
    assertion.set("IssueInstant", _instant(now))
    assertion.set("Version", "2.0")
    iss = etree.SubElement(assertion, _q("Issuer"), Format=X509_SUBJECT_FORMAT)
    iss.text = issuer
    etree.SubElement(assertion, f"{{{DS_NS}}}Signature", Id="placeholder", nsmap={"ds": DS_NS})
    subject = etree.SubElement(assertion, _q("Subject"))
    name_id = etree.SubElement(subject, _q("NameID"), Format=UNSPECIFIED_FORMAT)
    name_id.text = ctx.operator_id
    etree.SubElement(
        assertion,
        _q("Conditions"),
        NotBefore=_instant(now),
        NotOnOrAfter=_instant(now + ctx.validity),
    )
    authn = etree.SubElement(assertion, _q("AuthnStatement"), AuthnInstant=_instant(now))
    ref = etree.SubElement(etree.SubElement(authn, _q("AuthnContext")), _q("AuthnContextClassRef"))
    ref.text = ctx.authn_context
    stmt = etree.SubElement(assertion, _q("AttributeStatement"))
    _attribute(stmt, "VIHF_Version", VIHF_VERSION)
    _attribute(stmt, SUBJECT_ID_ATTRIBUTE, ctx.operator_name)
    roles = [_ce("Role", ctx.profession)]
    if ctx.cnop_section is not None:
        roles.append(_ce("Role", ctx.cnop_section))
    _attribute(stmt, ROLE_ATTRIBUTE, *roles)
    _attribute(stmt, "Identifiant_Structure", ctx.structure_id)
    _attribute(stmt, "Secteur_Activite", ctx.secteur_activite)
    _attribute(stmt, "Authentification_Mode", "INDIRECTE")
    _attribute(stmt, RESOURCE_ID_ATTRIBUTE, f"{ctx.patient_ins}^^^&{ctx.ins_oid}&ISO^NH")
    _attribute(stmt, "Ressource_URN", "urn:dmp")
    _attribute(
        stmt,
        PURPOSE_ATTRIBUTE,
        _ce("PurposeOfUse", Code(ctx.purpose, PURPOSE_SYSTEM, "Accès normal")),
    )
    _attribute(stmt, "LPS_Nom", ctx.lps_name)
    _attribute(stmt, "LPS_Version", ctx.lps_version)
    _attribute(stmt, "LPS_ID_HOMOLOGATION_DMP", ctx.lps_homologation_id)
    return assertion


def build_and_sign(
    store: Store,
    slot: Slot,
    ctx: VihfContext,
    algorithm: str = "rsa-sha256",
    now: datetime | None = None,
) -> bytes:
    """The signed VIHF as XML bytes (UTF-8, with declaration)."""
    when = now or store.now()
    assertion = build(ctx, issuer_dn(store, slot), when)
    signed = sign_element(
        store, slot, assertion, algorithm, reference_uri="#" + assertion.get("ID")
    )
    return bytes(etree.tostring(signed, xml_declaration=True, encoding="UTF-8"))
