"""Test double of the DMP web services, written from DOMAIN.md "DMP" and "VIHF" only.

Checks: TLS 1.2 with a client certificate of the TEST ORGANISATIONS branch (:mod:`https`); a
SOAP 1.2 envelope with ``wsa:Action``; a VIHF in ``wsse:Security`` whose signature xmlsec1
accepts against the TEST root, signed by an ORG certificate of the same structure as the TLS
client certificate, ``VIHF_Version`` 4.0, within its validity; for TD0.2 the queried INS must be
the VIHF's ``resource-id``. Answers: TD0.2 from ``dmp_fixtures.toml`` (OK / NF), and for the
other services a fixed ebXML ``RegistryResponse`` so the relay can be tested end to end.

MTOM (the repository service, ITI-41 ``ProvideAndRegisterDocumentSet-b``, as TD2.1/TD2.2 send
it): a ``multipart/related; type="application/xop+xml"`` body read with the standard
library's ``email`` package; the root part (``start``, else the first) must be
``application/xop+xml; type="application/soap+xml"``; the VIHF is checked as above; every
``xop:Include`` must name an attachment part by Content-ID, whose bytes then take its place
(base64, the XOP rule) before the body is validated against ``schemas/dmp_iti41.xsd``
(written here from the public element names) and each ``Document`` matched to an
``ExtrinsicObject``. The answer is MTOM too (a root part only, as MTOM services answer): a
``RegistryResponse`` Success whose ``ResponseSlotList`` gives, per document, the size and
SHA-256 of the bytes received, so a test can prove the attachments arrived intact.
Faults are SOAP 1.2 ``env:Sender`` faults whose reason says what was refused (the DMP's own
error codes are not in DOMAIN.md, so the double invents none).
"""

from __future__ import annotations

import base64
import hashlib
import threading
import time
import tomllib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import Message
from email.parser import BytesParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote

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
RIM_NS = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
XDSB_NS = "urn:ihe:iti:xds-b:2007"
XOP_NS = "http://www.w3.org/2004/08/xop/include"
ITI41_ACTION = "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b"
SUCCESS = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
RESOURCE_ID = "urn:oasis:names:tc:xacml:2.0:resource:resource-id"
TD02_ACTION = "urn:hl7-org:v3:PRPA_IN201307UV02"


@dataclass
class Counters:
    calls: int = 0
    by_service: dict[str, int] = field(default_factory=dict)
    refused: int = 0
    mtom: int = 0  # MTOM submissions accepted
    last_answer: DoubleResponse | None = None  # what the double sent last (pass-through tests)
    # Seconds spent in the handler (xmlsec1 included), MTOM and plain requests apart: the
    # bench subtracts the double's own cost from the relay's latency.
    handle_s: dict[str, float] = field(default_factory=dict)


class DmpDouble:
    def __init__(self, root_pem: Path, organisations_pem: Path, fixtures: Path = FIXTURES
                 ) -> None:
        self._root = root_pem
        self._organisations = organisations_pem
        raw = tomllib.loads(fixtures.read_text(encoding="utf-8"))
        self.patients = {p["ins"]: p for p in raw["patient"]}
        self.counters = Counters()
        self._lock = threading.Lock()
        self._iti41 = etree.XMLSchema(etree.parse(str(HERE / "schemas" / "dmp_iti41.xsd")))

    def handle(self, req: DoubleRequest) -> DoubleResponse:
        start = time.perf_counter()
        answer = self._handle(req)
        kind = ("mtom" if req.headers.get("content-type", "").lower().startswith(
            "multipart/related") else "plain")
        with self._lock:
            self.counters.last_answer = answer
            self.counters.handle_s[kind] = (self.counters.handle_s.get(kind, 0.0)
                                            + time.perf_counter() - start)
        return answer

    def _handle(self, req: DoubleRequest) -> DoubleResponse:
        with self._lock:
            self.counters.calls += 1
        try:
            if not req.path.startswith(SERVICE_ROOT):
                return DoubleResponse(404, "text/plain", b"not found")
            service = req.path[len(SERVICE_ROOT):]
            if service not in SERVICES:
                return DoubleResponse(404, "text/plain", b"no such DMP service")
            ctype = req.headers.get("content-type", "")
            mtom = ctype.lower().startswith("multipart/related")
            if mtom and service != "repository":
                raise Fault(True, "MTOM accepté par le service repository seulement")
            if not mtom and not ctype.startswith("application/soap+xml"):
                raise Fault(True, "type de contenu attendu: application/soap+xml")
            if req.client_cert is None or _cn(req.client_cert.issuer) != testpki.ORGANISATIONS_CN:
                raise Fault(True, "certificat client refusé: pas un certificat ORG")
            root, attachments = _mtom(ctype, req.body) if mtom else (req.body, {})
            header, body = soap_double.parse_envelope(root)
            action = header.findtext(f"{{{WSA_NS}}}Action") or ""
            if not action:
                raise Fault(True, "wsa:Action manquant")
            vihf = self._vihf(header, req.client_cert)
            with self._lock:
                self.counters.by_service[service] = self.counters.by_service.get(service, 0) + 1
            if mtom:
                return self._provide_and_register(action, body, attachments)
            if service == "patients" and action == TD02_ACTION:
                return soap_double.answer(self._td02(body, vihf))
            return soap_double.answer(_registry_response(action))
        except Fault as f:
            with self._lock:
                self.counters.refused += 1
            return soap_double.fault(f)

    def _provide_and_register(self, action: str, body: Any, attachments: dict[str, bytes]
                              ) -> DoubleResponse:
        """ITI-41 in MTOM: the XOP includes resolved, the body valid, each document's size and
        digest answered."""
        if action != ITI41_ACTION:
            raise Fault(True, f"MTOM: action {ITI41_ACTION} attendue")
        for include in list(body.iter(f"{{{XOP_NS}}}Include")):
            href = include.get("href") or ""
            cid = unquote(href[4:]) if href.startswith("cid:") else ""
            if cid not in attachments:
                raise Fault(True, f"xop:Include {href!r}: partie MIME absente")
            parent = include.getparent()
            if len(parent) != 1 or (parent.text or "").strip():
                raise Fault(True, "xop:Include doit être le seul contenu de son élément")
            parent.remove(include)
            parent.text = base64.b64encode(attachments[cid]).decode()
        if not self._iti41.validate(etree.ElementTree(body)):
            raise Fault(True, f"ProvideAndRegisterDocumentSetRequest invalide: "
                              f"{self._iti41.error_log.last_error.message}")
        ns = {"x": XDSB_NS, "rim": RIM_NS}
        entries = {e.get("id") for e in body.iterfind(".//rim:ExtrinsicObject", ns)}
        answer = etree.Element(f"{{{RS_NS}}}RegistryResponse", nsmap={"rs": RS_NS, "rim": RIM_NS},
                               status=SUCCESS)
        slots = etree.SubElement(answer, f"{{{RS_NS}}}ResponseSlotList")
        for document in body.iterfind("x:Document", ns):
            doc_id = document.get("id")
            if doc_id not in entries:
                raise Fault(True, f"Document {doc_id!r} sans ExtrinsicObject")
            data = base64.b64decode(document.text or "")
            slot = etree.SubElement(slots, f"{{{RIM_NS}}}Slot", name=f"document:{doc_id}")
            etree.SubElement(etree.SubElement(slot, f"{{{RIM_NS}}}ValueList"),
                             f"{{{RIM_NS}}}Value").text = (
                f"{len(data)}:{hashlib.sha256(data).hexdigest()}")
        with self._lock:
            self.counters.mtom += 1
        return _mtom_answer(soap_double.answer(answer))

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


def _mtom(content_type: str, data: bytes) -> tuple[bytes, dict[str, bytes]]:
    """(root part, {Content-ID: bytes}) of an MTOM request, or a Sender fault."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    msg = BytesParser(policy=policy.compat32).parsebytes(head + data)
    payload = msg.get_payload()
    if not msg.get_param("boundary") or msg.defects or not isinstance(payload, list):
        raise Fault(True, "MTOM: corps multipart/related mal formé")
    if str(msg.get_param("type")).lower() != "application/xop+xml":
        raise Fault(True, 'MTOM: type="application/xop+xml" attendu')
    parts: list[Message] = [p for p in payload if isinstance(p, Message)]

    def cid(part: Message) -> str:
        return str(part.get("Content-ID", "")).strip().strip("<>")

    start = str(msg.get_param("start") or "").strip().strip("<>")
    roots = [p for p in parts if cid(p) == start] if start else parts[:1]
    if not roots:
        raise Fault(True, "MTOM: pas de partie racine")
    root = roots[0]
    if root.get_content_type() != "application/xop+xml" or not str(
            root.get_param("type") or "").startswith("application/soap+xml"):
        raise Fault(True, "MTOM: la racine doit être application/xop+xml (SOAP 1.2)")
    attachments: dict[str, bytes] = {}
    for part in parts:
        if part is not root:
            data_ = part.get_payload(decode=True)
            attachments[cid(part)] = data_ if isinstance(data_, bytes) else b""
    envelope = root.get_payload(decode=True)
    return (envelope if isinstance(envelope, bytes) else b""), attachments


def _mtom_answer(plain: DoubleResponse) -> DoubleResponse:
    """The SOAP answer as the root (and only) part of an MTOM message."""
    boundary = f"uuid:{uuid.uuid4()}"
    root_id = f"root.{uuid.uuid4().hex}@dmp.double.test"
    body = (f"--{boundary}\r\nContent-Type: application/xop+xml; charset=UTF-8; "
            f'type="application/soap+xml"\r\nContent-Transfer-Encoding: binary\r\n'
            f"Content-ID: <{root_id}>\r\n\r\n").encode() + plain.body + (
            f"\r\n--{boundary}--\r\n").encode()
    ctype = (f'multipart/related; type="application/xop+xml"; start="<{root_id}>"; '
             f'start-info="application/soap+xml"; boundary="{boundary}"')
    return DoubleResponse(plain.status, ctype, body)


def serve(double: DmpDouble, cert_chain: Path, key: Path, client_roots: Path) -> HttpsDouble:
    return HttpsDouble(double.handle, cert_chain, key, client_roots).start()
