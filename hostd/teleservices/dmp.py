"""DMP through the box's keys: TD0.2 (test of existence) and a relay for the LGO's own requests.

Facts (DOMAIN.md "DMP", "VIHF"): SOAP services under ``…/si-dmp-server/v2/services/{patients,
patientCertif, patientsPDQ, habilitations, registry, repository}``; TLS 1.2 client
authentication with ORG AUTH_CLI (the :mod:`mtls` tunnel) and a VIHF signed with ORG SIGN in
``wsse:Security``. TD0.2 is HL7v3 ``PRPA_IN201307UV02`` → ``PRPA_IN201308UV02``.

The relay exists so no counter PC holds a DMP certificate: the counter sends its SOAP 1.2
request, the box adds the VIHF (operator and patient given with the request), makes the mTLS
call and hands back status, content type and body unchanged. It never retries once the request
may have reached the service (a TD2.1 submission is not idempotent), and it refuses an envelope
that already carries ``wsse:Security`` (the box is the one that vouches for the caller).
MTOM submissions (``multipart/related``, TD2.1/TD2.2 with their documents as attachments) are
relayed the same way: the VIHF goes into the root part's envelope, every attachment travels
byte for byte with its Content-ID (:mod:`mtom`).

The HL7 vocabularies of the answer beyond ``queryResponseCode`` (DMP status, patient status,
PS authorisation) are not in DOMAIN.md; this client reads them from the places the double puts
them (``registrationEvent/statusCode``, ``patient/statusCode``, ``authorization/@code``) and
keeps them as strings.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from lxml import etree

from hostd.teleservices import mtom, soap
from hostd.teleservices.errors import DmpRequestError
from hostd.teleservices.names import DMP_SERVICES, MAX_RELAY_BYTES
from provisioning.signing import vihf

HL7_NS = "urn:hl7-org:v3"
SERVICE_ROOT = "/si-dmp-server/v2/services/"
ACTION_TD02 = "urn:hl7-org:v3:PRPA_IN201307UV02"

# Sync: the VIHF is signed by the ORG SIGN key in the token (provisioning.signing.vihf).
VihfSigner = Callable[[vihf.VihfContext], bytes]
__all__ = ["DmpClient", "DmpExistence", "DmpRequestError", "RelayAnswer", "VihfSigner"]


@dataclass(frozen=True)
class DmpExistence:
    """TD0.2's answer: does this patient have a DMP, and may this professional use it."""

    ins: str
    found: bool  # queryResponseCode OK (True) / NF (False)
    dmp_status: str | None
    patient_status: str | None
    authorization: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _hl7(parent: Any, tag: str, **attrs: str) -> Any:
    return etree.SubElement(parent, f"{{{HL7_NS}}}{tag}", **attrs)


def td02_body(ins: str, ins_oid: str, sender: str, now: datetime) -> Any:
    """PRPA_IN201307UV02 asking for the patient by INS (HL7v3 PDQ-like query)."""
    root = etree.Element(f"{{{HL7_NS}}}PRPA_IN201307UV02", nsmap={None: HL7_NS},
                         ITSVersion="XML_1.0")
    _hl7(root, "id", root=str(uuid.uuid4()))
    _hl7(root, "creationTime", value=now.astimezone(UTC).strftime("%Y%m%d%H%M%S"))
    _hl7(root, "interactionId", root="2.16.840.1.113883.1.6", extension="PRPA_IN201307UV02")
    _hl7(root, "processingCode", code="P")
    _hl7(root, "processingModeCode", code="T")
    _hl7(root, "acceptAckCode", code="AL")
    _hl7(_hl7(_hl7(root, "receiver", typeCode="RCV"), "device", classCode="DEV",
              determinerCode="INSTANCE"), "id", root="1.2.250.1.213.4.1", extension="DMP")
    _hl7(_hl7(_hl7(root, "sender", typeCode="SND"), "device", classCode="DEV",
              determinerCode="INSTANCE"), "id", root="1.2.250.1.213.4.1", extension=sender)
    cap = _hl7(root, "controlActProcess", classCode="CACT", moodCode="EVN")
    _hl7(cap, "code", code="PRPA_TE201307UV02", codeSystem="2.16.840.1.113883.1.6")
    query = _hl7(cap, "queryByParameter")
    _hl7(query, "queryId", root=str(uuid.uuid4()))
    _hl7(query, "statusCode", code="new")
    _hl7(query, "responsePriorityCode", code="I")
    ident = _hl7(_hl7(query, "parameterList"), "patientIdentifier")
    _hl7(ident, "value", root=ins_oid, extension=ins)
    etree.SubElement(ident, f"{{{HL7_NS}}}semanticsText").text = "Patient.id"
    return root


def parse_td02(body: Any, ins: str) -> DmpExistence:
    if body.tag != f"{{{HL7_NS}}}PRPA_IN201308UV02":
        raise soap.SoapProtocolError(f"answer is {body.tag}, not PRPA_IN201308UV02")
    ns = {"h": HL7_NS}
    code_el = body.find("h:controlActProcess/h:queryAck/h:queryResponseCode", ns)
    code = code_el.get("code") if code_el is not None else None
    if code not in ("OK", "NF"):
        raise soap.SoapProtocolError(f"queryResponseCode {code!r} is neither OK nor NF")
    event = body.find("h:controlActProcess/h:subject/h:registrationEvent", ns)

    def attr(path: str, name: str = "code") -> str | None:
        if event is None:
            return None
        el = event.find(path, ns)
        return el.get(name) if el is not None else None

    return DmpExistence(
        ins, code == "OK", attr("h:statusCode"), attr("h:subject1/h:patient/h:statusCode"),
        attr("h:subject1/h:patient/h:subjectOf/h:authorization"),
    )


@dataclass(frozen=True)
class RelayAnswer:
    status: int
    content_type: str
    body: bytes
    attachments: int = 0  # MTOM parts relayed besides the root (0 for a plain envelope)


class DmpClient:
    """TD0.2 and the relay over the DMP tunnel; ``sign_vihf`` signs with ORG SIGN."""

    def __init__(self, client: soap.SoapClient, sign_vihf: VihfSigner, sender: str) -> None:
        self._client = client
        self._sign_vihf = sign_vihf
        self._sender = sender

    async def _vihf(self, ctx: vihf.VihfContext) -> Any:
        signed = await asyncio.to_thread(self._sign_vihf, ctx)
        return soap.parse_xml(signed)

    async def existence(self, ctx: vihf.VihfContext) -> DmpExistence:
        """TD0.2 for the VIHF's patient (``ctx.patient_ins``)."""
        assertion = await self._vihf(ctx)
        body = td02_body(ctx.patient_ins, ctx.ins_oid, self._sender, datetime.now(UTC))
        env = soap.envelope(ACTION_TD02, body, security=[assertion])
        answer = await self._client.call(SERVICE_ROOT + "patients", env, idempotent=True)
        return parse_td02(answer.body, ctx.patient_ins)

    async def _add_vihf(self, root: Any, ctx: vihf.VihfContext) -> str:
        """Puts the VIHF first in the envelope's header; returns its ``wsa:Action``."""
        if root.tag != f"{{{soap.SOAP12_NS}}}Envelope":
            raise DmpRequestError("the request is not a SOAP 1.2 Envelope")
        header = root.find(f"{{{soap.SOAP12_NS}}}Header")
        if header is None:
            header = etree.Element(f"{{{soap.SOAP12_NS}}}Header")
            root.insert(0, header)
        if header.find(f"{{{soap.WSSE_NS}}}Security") is not None:
            raise DmpRequestError("the request already has wsse:Security: the box adds the VIHF")
        action: str = header.findtext(f"{{{soap.WSA_NS}}}Action") or ""
        if not action:
            raise DmpRequestError("the request has no wsa:Action")
        security = etree.Element(f"{{{soap.WSSE_NS}}}Security", nsmap={"wsse": soap.WSSE_NS})
        security.append(await self._vihf(ctx))
        header.insert(0, security)
        return action

    async def relay(self, service: str, content_type: str, data: bytes,
                    ctx: vihf.VihfContext) -> RelayAnswer:
        """Adds the VIHF to the counter's envelope (or to the root part of its MTOM message)
        and forwards it; the answer (SOAP or MTOM) comes back unchanged."""
        if service not in DMP_SERVICES:
            known = ", ".join(DMP_SERVICES)
            raise DmpRequestError(f"unknown DMP service {service!r} (one of {known})")
        if len(data) > MAX_RELAY_BYTES:
            raise DmpRequestError("request larger than 10 MiB")
        media = mtom.media_type(content_type)
        message: mtom.MtomMessage | None = None
        if media == mtom.MULTIPART_RELATED:
            # In a thread: the email parser works line by line in Python (~0.1 s per MiB of
            # binary here), which must not stall the event loop every counter shares.
            message = await asyncio.to_thread(mtom.parse, content_type, data)
            root = message.envelope
        elif media == soap.SOAP12_MEDIA:
            try:
                root = soap.parse_xml(data)
            except soap.SoapProtocolError as exc:
                raise DmpRequestError(str(exc)) from None
        else:
            raise DmpRequestError(f"only SOAP 1.2 ({soap.SOAP12_MEDIA}) or its MTOM form "
                                  f"({mtom.MULTIPART_RELATED}) is relayed, not {media}")
        action = await self._add_vihf(root, ctx)
        out = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
        if message is not None:
            content_type, out = await asyncio.to_thread(mtom.serialize, message, out)
        response = await self._client.post(
            SERVICE_ROOT + service, out, action=action, idempotent=False,
            content_type=content_type,
        )
        return RelayAnswer(response.status_code, response.headers.get("content-type", ""),
                           response.content, len(message.attachments) if message else 0)
