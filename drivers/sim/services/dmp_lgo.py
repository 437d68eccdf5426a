"""What an LGO sends to the DMP through the box's relay, for the tests and the bench: a TD2.1
submission (IHE ITI-41 ``ProvideAndRegisterDocumentSet-b``) in its MTOM form.

The envelope carries ``wsa:Action``/``wsa:MessageID`` and no ``wsse:Security`` (the box adds
the VIHF); its body lists each document as an ebXML ``ExtrinsicObject`` of a submission set
and gives its bytes as an ``xop:Include`` naming a MIME part by Content-ID (the cid URL
%-encoded, RFC 2392). Written from the public element names, like the double's schema.
"""

from __future__ import annotations

import base64
import uuid
from urllib.parse import quote

from lxml import etree

SOAP12_NS = "http://www.w3.org/2003/05/soap-envelope"
WSA_NS = "http://www.w3.org/2005/08/addressing"
XDSB_NS = "urn:ihe:iti:xds-b:2007"
LCM_NS = "urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"
RIM_NS = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
XOP_NS = "http://www.w3.org/2004/08/xop/include"
ITI41_ACTION = "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b"
DOCUMENT_ENTRY = "urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1"  # XDS DocumentEntry
HAS_MEMBER = "urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember"
ROOT_ID = "root.message@lgo.example"


def content_id(doc_id: str) -> str:
    return f"{doc_id}@lgo.example"


def iti41_envelope(documents: dict[str, str]) -> bytes:
    """The root part: ``documents`` maps each document id to its MIME type."""
    env = etree.Element(f"{{{SOAP12_NS}}}Envelope", nsmap={"soap": SOAP12_NS, "wsa": WSA_NS})
    header = etree.SubElement(env, f"{{{SOAP12_NS}}}Header")
    etree.SubElement(header, f"{{{WSA_NS}}}Action").text = ITI41_ACTION
    etree.SubElement(header, f"{{{WSA_NS}}}MessageID").text = f"uuid:{uuid.uuid4()}"
    body = etree.SubElement(env, f"{{{SOAP12_NS}}}Body")
    request = etree.SubElement(body, f"{{{XDSB_NS}}}ProvideAndRegisterDocumentSetRequest",
                               nsmap={"xdsb": XDSB_NS, "lcm": LCM_NS, "rim": RIM_NS,
                                      "xop": XOP_NS})
    submit = etree.SubElement(request, f"{{{LCM_NS}}}SubmitObjectsRequest")
    objects = etree.SubElement(submit, f"{{{RIM_NS}}}RegistryObjectList")
    etree.SubElement(objects, f"{{{RIM_NS}}}RegistryPackage", id="SubmissionSet01")
    for doc_id, mime in documents.items():
        entry = etree.SubElement(objects, f"{{{RIM_NS}}}ExtrinsicObject", id=doc_id,
                                 mimeType=mime, objectType=DOCUMENT_ENTRY)
        etree.SubElement(etree.SubElement(entry, f"{{{RIM_NS}}}Name"),
                         f"{{{RIM_NS}}}LocalizedString", value="Document de test")
        etree.SubElement(objects, f"{{{RIM_NS}}}Association", id=f"as-{doc_id}",
                         associationType=HAS_MEMBER, sourceObject="SubmissionSet01",
                         targetObject=doc_id)
    for doc_id in documents:
        document = etree.SubElement(request, f"{{{XDSB_NS}}}Document", id=doc_id)
        etree.SubElement(document, f"{{{XOP_NS}}}Include",
                         href="cid:" + quote(content_id(doc_id), safe=""))
    return bytes(etree.tostring(env, xml_declaration=True, encoding="UTF-8"))


def iti41_mtom(documents: dict[str, tuple[str, bytes]], boundary: str | None = None
               ) -> tuple[str, bytes]:
    """(Content-Type, body) of the MTOM message: ``documents`` maps id → (MIME type, bytes)."""
    boundary = boundary or f"uuid:{uuid.uuid4()}"
    root = iti41_envelope({k: mime for k, (mime, _) in documents.items()})
    chunks = [f"--{boundary}\r\nContent-Type: application/xop+xml; charset=UTF-8; "
              f'type="application/soap+xml"\r\nContent-Transfer-Encoding: binary\r\n'
              f"Content-ID: <{ROOT_ID}>\r\n\r\n".encode(), root]
    for doc_id, (mime, data) in documents.items():
        chunks += [f"\r\n--{boundary}\r\nContent-Type: {mime}\r\nContent-Transfer-Encoding: "
                   f"binary\r\nContent-ID: <{content_id(doc_id)}>\r\n\r\n".encode(), data]
    chunks.append(f"\r\n--{boundary}--\r\n".encode())
    ctype = (f'multipart/related; type="application/xop+xml"; start="<{ROOT_ID}>"; '
             f'start-info="application/soap+xml"; boundary="{boundary}"')
    return ctype, b"".join(chunks)


def iti41_plain(documents: dict[str, tuple[str, bytes]]) -> tuple[str, bytes]:
    """The same submission without MTOM: each document's bytes inline in base64."""
    root = etree.fromstring(iti41_envelope({k: mime for k, (mime, _) in documents.items()}))
    for element in root.iter(f"{{{XDSB_NS}}}Document"):
        del element[:]
        element.text = base64.b64encode(documents[element.get("id")][1]).decode()
    ctype = f'application/soap+xml; charset=utf-8; action="{ITI41_ACTION}"'
    return ctype, bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
