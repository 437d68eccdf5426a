"""Test double of the DMP web services, written from DOMAIN.md "DMP" and "VIHF" only.

Checks: TLS 1.2 with a client certificate of the TEST ORGANISATIONS branch (:mod:`https`); a
SOAP 1.2 envelope with ``wsa:Action``; a VIHF in ``wsse:Security`` whose signature xmlsec1
accepts against the TEST root, signed by an ORG certificate of the same structure as the TLS
client certificate, ``VIHF_Version`` 4.0, within its validity; for TD0.2 the queried INS must be
the VIHF's ``resource-id``. Answers: TD0.2 from ``dmp_fixtures.toml`` (OK / NF), and for the
other services a fixed ebXML ``RegistryResponse`` so the relay can be tested end to end.
Faults are SOAP 1.2 ``env:Sender`` faults whose reason says what was refused (the DMP's own
error codes are not in DOMAIN.md, so the double invents none).
"""

from __future__ import annotations

import base64
import threading
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID
from lxml import etree

from drivers.sim import testpki
from drivers.sim.services import soap_double, xmlsec
from drivers.sim.services.https import DoubleRequest, DoubleResponse, HttpsDouble
from drivers.sim.services.soap_double import WSA_NS, WSSE_NS, Fault

HERE = Path(__file__).parent
FIXTURES = HERE / "dmp_fixtures.toml"
SERVICE_ROOT = "/si-dmp-server/v2/services/"
SERVICES = ("patients", "patientCertif", "patientsPDQ", "habilitations", "registry",
            "repository")
HL7_NS = "urn:hl7-org:v3"
SAML_NS = "urn:oasis:names:tc:SAML:2.0:assertion"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
RS_NS = "urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0"
RESOURCE_ID = "urn:oasis:names:tc:xacml:2.0:resource:resource-id"
TD02_ACTION = "urn:hl7-org:v3:PRPA_IN201307UV02"


@dataclass
class Counters:
    calls: int = 0
    by_service: dict[str, int] = field(default_factory=dict)
    refused: int = 0


class DmpDouble:
    def __init__(self, root_pem: Path, organisations_pem: Path, fixtures: Path = FIXTURES
                 ) -> None:
        self._root = root_pem
        self._organisations = organisations_pem
        raw = tomllib.loads(fixtures.read_text(encoding="utf-8"))
        self.patients = {p["ins"]: p for p in raw["patient"]}
        self.counters = Counters()
        self._lock = threading.Lock()

    def handle(self, req: DoubleRequest) -> DoubleResponse:
        with self._lock:
            self.counters.calls += 1
        try:
            if not req.path.startswith(SERVICE_ROOT):
                return DoubleResponse(404, "text/plain", b"not found")
            service = req.path[len(SERVICE_ROOT):]
            if service not in SERVICES:
                return DoubleResponse(404, "text/plain", b"no such DMP service")
            if not req.headers.get("content-type", "").startswith("application/soap+xml"):
                raise Fault(True, "type de contenu attendu: application/soap+xml")
            if req.client_cert is None or _cn(req.client_cert.issuer) != testpki.ORGANISATIONS_CN:
                raise Fault(True, "certificat client refusé: pas un certificat ORG")
            header, body = soap_double.parse_envelope(req.body)
            action = header.findtext(f"{{{WSA_NS}}}Action") or ""
            if not action:
                raise Fault(True, "wsa:Action manquant")
            vihf = self._vihf(header, req.client_cert)
            with self._lock:
                self.counters.by_service[service] = self.counters.by_service.get(service, 0) + 1
            if service == "patients" and action == TD02_ACTION:
                return soap_double.answer(self._td02(body, vihf))
            return soap_double.answer(_registry_response(action))
        except Fault as f:
            with self._lock:
                self.counters.refused += 1
            return soap_double.fault(f)

    def _vihf(self, header: Any, client_cert: x509.Certificate) -> Any:
        ns = {"saml2": SAML_NS, "ds": DS_NS}
        security = header.find(f"{{{WSSE_NS}}}Security")
        assertion = security.find("saml2:Assertion", ns) if security is not None else None
        if assertion is None:
            raise Fault(True, "VIHF absent de wsse:Security")
        problem = xmlsec.verify_assertion(etree.tostring(assertion), self._root,
                                          [self._organisations])
        if problem:
            raise Fault(True, f"VIHF: signature refusée ({problem})")
        b64 = assertion.findtext("ds:Signature/ds:KeyInfo/ds:X509Data/ds:X509Certificate",
                                 namespaces=ns) or ""
        signer = x509.load_der_x509_certificate(base64.b64decode("".join(b64.split())))
        if _cn(signer.issuer) != testpki.ORGANISATIONS_CN:
            raise Fault(True, "VIHF: pas signé par un certificat ORG")
        if _structure(signer) != _structure(client_cert):
            raise Fault(True, "VIHF: signé pour une autre structure que le certificat TLS")
        attrs = {a.get("Name"): a for a in assertion.iterfind(".//saml2:Attribute", ns)}
        version = attrs.get("VIHF_Version")
        if version is None or version.findtext("saml2:AttributeValue", namespaces=ns) != "4.0":
            raise Fault(True, "VIHF: VIHF_Version 4.0 attendu")
        cond = assertion.find("saml2:Conditions", ns)
        now = datetime.now(UTC)
        if cond is None or not (_when(cond.get("NotBefore")) <= now
                                < _when(cond.get("NotOnOrAfter"))):
            raise Fault(True, "VIHF: hors de sa période de validité")
        return assertion

    def _td02(self, body: Any, vihf: Any) -> Any:
        ns = {"h": HL7_NS, "saml2": SAML_NS}
        if body.tag != f"{{{HL7_NS}}}PRPA_IN201307UV02":
            raise Fault(True, "PRPA_IN201307UV02 attendu")
        value = body.find("h:controlActProcess/h:queryByParameter/h:parameterList/"
                          "h:patientIdentifier/h:value", ns)
        if value is None or not value.get("extension"):
            raise Fault(True, "patientIdentifier manquant")
        ins = value.get("extension")
        resource = ""
        for a in vihf.iterfind(".//saml2:Attribute", ns):
            if a.get("Name") == RESOURCE_ID:
                resource = a.findtext("saml2:AttributeValue", namespaces=ns) or ""
        if resource.split("^", 1)[0] != ins:
            raise Fault(True, "le patient de la requête n'est pas celui du VIHF")
        return _td02_answer(ins, self.patients.get(ins))


def _cn(name: x509.Name) -> str:
    attrs = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(attrs[0].value) if attrs else ""


def _structure(cert: x509.Certificate) -> tuple[str, ...]:
    """The ORG certificate's OUs (the structure id sits among them)."""
    return tuple(str(a.value) for a in
                 cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME))


def _when(text: str | None) -> datetime:
    if not text:
        return datetime.max.replace(tzinfo=UTC)
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _h(parent: Any, tag: str, **attrs: str) -> Any:
    return etree.SubElement(parent, f"{{{HL7_NS}}}{tag}", **attrs)


def _td02_answer(ins: str, patient: dict[str, str] | None) -> Any:
    root = etree.Element(f"{{{HL7_NS}}}PRPA_IN201308UV02", nsmap={None: HL7_NS},
                         ITSVersion="XML_1.0")
    _h(root, "interactionId", root="2.16.840.1.113883.1.6", extension="PRPA_IN201308UV02")
    cap = _h(root, "controlActProcess", classCode="CACT", moodCode="EVN")
    if patient is not None:
        event = _h(_h(cap, "subject", typeCode="SUBJ"), "registrationEvent",
                   classCode="REG", moodCode="EVN")
        _h(event, "statusCode", code=patient["dmp_status"])
        pat = _h(_h(event, "subject1", typeCode="SBJ"), "patient", classCode="PAT")
        _h(pat, "id", root="1.2.250.1.213.1.4.8", extension=ins)
        _h(pat, "statusCode", code=patient["patient_status"])
        _h(_h(pat, "subjectOf"), "authorization", code=patient["authorization"])
    ack = _h(cap, "queryAck")
    _h(ack, "queryResponseCode", code="OK" if patient is not None else "NF")
    return root


def _registry_response(action: str) -> Any:
    root = etree.Element(f"{{{RS_NS}}}RegistryResponse", nsmap={"rs": RS_NS},
                         status="urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success")
    root.set("requestId", action)
    return root


def serve(double: DmpDouble, cert_chain: Path, key: Path, client_roots: Path) -> HttpsDouble:
    return HttpsDouble(double.handle, cert_chain, key, client_roots).start()
