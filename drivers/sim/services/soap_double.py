"""SOAP 1.2 answers of the doubles: a Body, or a Fault as the national services send it
(HTTP 500, ``env:Fault`` with ``siram:Erreur`` in its Detail, DOMAIN.md "INSi")."""

from __future__ import annotations

import re
import threading
from collections.abc import Container
from typing import Any

from lxml import etree

from drivers.sim.services.https import DoubleRequest, DoubleResponse

SOAP12_NS = "http://www.w3.org/2003/05/soap-envelope"
WSA_NS = "http://www.w3.org/2005/08/addressing"
WSSE_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
SIRAM_NS = "urn:siram"
MEDIA = "application/soap+xml; charset=utf-8"
PARSER = etree.XMLParser(resolve_entities=False, no_network=True)
MESSAGE_ID = re.compile(r"uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class Fault(Exception):
    """Raised inside a double's handler; becomes the HTTP 500 SOAP Fault."""

    def __init__(self, sender: bool, reason: str, *codes: str, message_id: str = "") -> None:
        super().__init__(reason)
        self.sender = sender
        self.reason = reason
        self.codes = codes
        self.message_id = message_id


def answer(body: Any, relates_to: str = "") -> DoubleResponse:
    env = etree.Element(f"{{{SOAP12_NS}}}Envelope", nsmap={"soap": SOAP12_NS, "wsa": WSA_NS})
    header = etree.SubElement(env, f"{{{SOAP12_NS}}}Header")
    if relates_to:
        etree.SubElement(header, f"{{{WSA_NS}}}RelatesTo").text = relates_to
    etree.SubElement(env, f"{{{SOAP12_NS}}}Body").append(body)
    return DoubleResponse(200, MEDIA, etree.tostring(env, xml_declaration=True, encoding="UTF-8"))


def fault(f: Fault) -> DoubleResponse:
    env = etree.Element(f"{{{SOAP12_NS}}}Envelope",
                        nsmap={"env": SOAP12_NS, "siram": SIRAM_NS})
    flt = etree.SubElement(etree.SubElement(env, f"{{{SOAP12_NS}}}Body"), f"{{{SOAP12_NS}}}Fault")
    code = etree.SubElement(flt, f"{{{SOAP12_NS}}}Code")
    etree.SubElement(code, f"{{{SOAP12_NS}}}Value").text = (
        "env:Sender" if f.sender else "env:Receiver"
    )
    if f.codes:
        sub = etree.SubElement(code, f"{{{SOAP12_NS}}}Subcode")
        etree.SubElement(sub, f"{{{SOAP12_NS}}}Value").text = f"siram:{f.codes[0]}"
    reason = etree.SubElement(flt, f"{{{SOAP12_NS}}}Reason")
    text = etree.SubElement(reason, f"{{{SOAP12_NS}}}Text")
    text.set("{http://www.w3.org/XML/1998/namespace}lang", "fr")
    text.text = f.reason
    if f.codes:
        detail = etree.SubElement(flt, f"{{{SOAP12_NS}}}Detail")
        for c in f.codes:
            err = etree.SubElement(detail, f"{{{SIRAM_NS}}}Erreur", code=c, severite="fatal",
                                   messageID=f.message_id)
            err.text = f.reason
    return DoubleResponse(500, MEDIA, etree.tostring(env, xml_declaration=True, encoding="UTF-8"))


def parse_envelope(data: bytes) -> tuple[Any, Any]:
    """(Header, Body) of a SOAP 1.2 request, or a Sender fault."""
    try:
        root = etree.fromstring(data, PARSER)
    except etree.XMLSyntaxError as exc:
        raise Fault(True, f"XML mal formé: {exc}") from None
    if root.tag != f"{{{SOAP12_NS}}}Envelope":
        raise Fault(True, "pas une enveloppe SOAP 1.2")
    header = root.find(f"{{{SOAP12_NS}}}Header")
    body = root.find(f"{{{SOAP12_NS}}}Body")
    if header is None or body is None or len(body) != 1:
        raise Fault(True, "enveloppe sans Header ou sans un unique élément dans Body")
    return header, body[0]


def addressed(req: DoubleRequest, actions: Container[str]) -> tuple[Any, Any, str, str]:
    """(Header, Body, wsa:Action, wsa:MessageID) of a request every double reads the same way:
    SOAP 1.2 media type, a well-formed envelope, one of the service's actions, a MessageID
    of the form ``uuid:<uuid>`` — else a Sender fault."""
    if not req.headers.get("content-type", "").startswith("application/soap+xml"):
        raise Fault(True, "type de contenu attendu: application/soap+xml")
    header, body = parse_envelope(req.body)
    action = header.findtext(f"{{{WSA_NS}}}Action") or ""
    message_id = header.findtext(f"{{{WSA_NS}}}MessageID") or ""
    if action not in actions:
        raise Fault(True, f"action inconnue {action!r}")
    if not MESSAGE_ID.fullmatch(message_id):
        raise Fault(True, "wsa:MessageID doit être uuid:<uuid>")
    return header, body, action, message_id


def counted_fault(f: Fault, faults: dict[str, int], lock: threading.Lock) -> DoubleResponse:
    """The Fault answer, counted by its first code (or Sender/Receiver) for the tests."""
    with lock:
        key = f.codes[0] if f.codes else ("Sender" if f.sender else "Receiver")
        faults[key] = faults.get(key, 0) + 1
    return fault(f)
