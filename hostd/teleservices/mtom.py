"""MTOM/XOP DMP submissions: read a ``multipart/related`` body, hand its SOAP root to the
relay, and write it out again with every attachment byte for byte as it came.

TD2.1/TD2.2 (IHE ITI-41 Provide and Register Document Set-b) carry their documents as MTOM
(W3C SOAP MTOM + XOP): the HTTP body is ``multipart/related; type="application/xop+xml";
start="<root>"; start-info="application/soap+xml"; boundary=…``. Its root part (the one
``start`` names, else the first) is the SOAP 1.2 envelope, typed ``application/xop+xml;
type="application/soap+xml"``; where a document's base64 would be, it has an
``xop:Include href="cid:…"`` naming another part by its ``Content-ID``.

Reading uses the standard library's ``email`` package (RFC 2046 framing, header parameters,
RFC 2231 continuations, its defect list for broken framing). Writing does not: the email
generator rewrites the line endings inside every part (``Generator._write_lines``), which
would change a binary document; the framing written here is RFC 2046's delimiter lines
around each part's received headers and bytes, with a fresh boundary checked against every
part. The root part is the only one the box changes (the relay adds the VIHF to its header).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from email import errors as email_errors
from email import policy
from email.message import Message
from email.parser import BytesParser
from typing import Any
from urllib.parse import unquote

from hostd.teleservices import soap
from hostd.teleservices.errors import DmpRequestError

MULTIPART_RELATED = "multipart/related"
XOP_MEDIA = "application/xop+xml"
XOP_NS = "http://www.w3.org/2004/08/xop/include"
_IDENTITY = frozenset({"", "7bit", "8bit", "binary"})
_FRAMING_DEFECTS = (
    email_errors.NoBoundaryInMultipartDefect, email_errors.StartBoundaryNotFoundDefect,
    email_errors.CloseBoundaryNotFoundDefect, email_errors.MultipartInvariantViolationDefect,
    email_errors.MissingHeaderBodySeparatorDefect,
)
_OWN_PARAMS = {"boundary", "start", "start-info", "type"}


@dataclass(frozen=True)
class Part:
    """One MIME part as received: its headers (name, raw value) and its transfer bytes."""

    content_id: str  # without the angle brackets
    headers: tuple[tuple[str, str], ...]
    data: bytes


@dataclass(frozen=True)
class MtomMessage:
    params: tuple[tuple[str, str], ...]  # the multipart/related parameters received
    root: Part
    root_type: str  # the root part's Content-Type header, as received
    envelope: Any  # the root part parsed: a SOAP 1.2 Envelope (lxml element)
    attachments: tuple[Part, ...]

    @property
    def attachment_bytes(self) -> int:
        return sum(len(p.data) for p in self.attachments)


def media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def is_mtom(content_type: str) -> bool:
    return media_type(content_type) == MULTIPART_RELATED


def _cid(value: str | None) -> str:
    return (value or "").strip().removeprefix("<").removesuffix(">").strip()


def _transfer_bytes(part: Message) -> bytes:
    """The part's body exactly as it travelled (not decoded: a base64 part stays base64)."""
    cte = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    if cte in _IDENTITY:
        data = part.get_payload(decode=True)  # the received bytes (surrogate-escaped back)
        if not isinstance(data, bytes):
            raise DmpRequestError("a MIME part inside a MIME part is not MTOM")
        return data
    text = part.get_payload()
    if not isinstance(text, str):
        raise DmpRequestError("a MIME part inside a MIME part is not MTOM")
    try:
        return text.encode("ascii")
    except UnicodeEncodeError:
        raise DmpRequestError(f"a {cte} MIME part holds non-ASCII bytes") from None


def parse(content_type: str, data: bytes) -> MtomMessage:
    """The message, or :class:`DmpRequestError` saying in one line what is wrong with it."""
    if any(c in content_type for c in "\r\n\0"):
        raise DmpRequestError("Content-Type with a line break")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1",
                                                                            "replace")
    msg = BytesParser(policy=policy.compat32).parsebytes(head + data)
    if msg.get_content_type() != MULTIPART_RELATED:
        raise DmpRequestError(f"{media_type(content_type)} is not multipart/related")
    if not msg.get_param("boundary"):
        raise DmpRequestError("multipart/related without a boundary parameter")
    if str(msg.get_param("type") or "").lower() != XOP_MEDIA:
        raise DmpRequestError('multipart/related must have type="application/xop+xml" (MTOM)')
    framing = [d for d in msg.defects if isinstance(d, _FRAMING_DEFECTS)]
    if framing:
        raise DmpRequestError(f"malformed MIME body: {type(framing[0]).__name__}")
    payload = msg.get_payload()
    parts = [p for p in payload if isinstance(p, Message)] if isinstance(payload, list) else []
    if not parts:
        raise DmpRequestError("multipart/related body without any part")
    for part in parts:
        bad = [d for d in part.defects if isinstance(d, _FRAMING_DEFECTS)]
        if bad:
            raise DmpRequestError(f"malformed MIME part: {type(bad[0]).__name__}")

    start = _cid(str(msg.get_param("start") or ""))
    if start:
        found = [p for p in parts if _cid(p.get("Content-ID")) == start]
        if not found:
            raise DmpRequestError(f"no MIME part has the root's Content-ID <{start}> (start)")
        root = found[0]
    else:
        root = parts[0]
    if root.get_content_type() != XOP_MEDIA:
        raise DmpRequestError(f"the root part is {root.get_content_type()}, not "
                              f'{XOP_MEDIA}; type="{soap.SOAP12_MEDIA}"')
    inner = str(root.get_param("type") or msg.get_param("start-info") or "")
    if media_type(inner) != soap.SOAP12_MEDIA:
        raise DmpRequestError(f"the root part is not SOAP 1.2 (type {inner or 'missing'})")
    root_bytes = root.get_payload(decode=True)
    if not isinstance(root_bytes, bytes):
        raise DmpRequestError("the root part is not a SOAP envelope")
    try:
        envelope = soap.parse_xml(root_bytes)
    except soap.SoapProtocolError as exc:
        raise DmpRequestError(f"the root part: {exc}") from None
    if envelope.tag != f"{{{soap.SOAP12_NS}}}Envelope":
        raise DmpRequestError("the root part is not a SOAP 1.2 Envelope")

    attachments: list[Part] = []
    seen = {_cid(root.get("Content-ID"))} - {""}
    for part in parts:
        if part is root:
            continue
        cid = _cid(part.get("Content-ID"))
        if not cid:
            raise DmpRequestError("an attachment part has no Content-ID")
        if cid in seen:
            raise DmpRequestError(f"two MIME parts have the Content-ID <{cid}>")
        seen.add(cid)
        # raw_items: the header lines as received (items() would re-encode odd bytes).
        attachments.append(Part(cid, tuple((k, str(v)) for k, v in part.raw_items()),
                                _transfer_bytes(part)))
    ids = {p.content_id for p in attachments}
    for include in envelope.iter(f"{{{XOP_NS}}}Include"):
        href = include.get("href") or ""
        if not href.startswith("cid:"):
            raise DmpRequestError(f"xop:Include href {href[:80]!r} is not a cid: URL")
        if unquote(href[4:]) not in ids:  # RFC 2392: a cid URL is %-encoded
            raise DmpRequestError(f"xop:Include {href[:80]!r} names no MIME part")
    return MtomMessage(
        params=tuple((str(k).lower(), str(v)) for k, v in (msg.get_params() or [])[1:]),
        root=Part(_cid(root.get("Content-ID")), (), root_bytes),
        root_type=str(root.get("Content-Type")), envelope=envelope,
        attachments=tuple(attachments),
    )


def _header(value: str, params: list[tuple[str, str]]) -> str:
    """A Content-Type value with the given parameters, quoted by the email package."""
    holder = Message()
    holder["Content-Type"] = value
    for name, param in params:
        holder.set_param(name, param, header="Content-Type")
    return str(holder["Content-Type"])


def serialize(message: MtomMessage, envelope: bytes) -> tuple[str, bytes]:
    """(Content-Type, body) of the message with ``envelope`` as its root part. Attachments
    keep their headers and bytes; the root its Content-ID (one is made if it had none)."""
    root_id = message.root.content_id or f"root.{uuid.uuid4().hex}@comptoir"
    datas = [envelope, *(p.data for p in message.attachments)]
    for _ in range(8):
        boundary = f"MIMEBoundary_{uuid.uuid4().hex}"
        if not any(boundary.encode() in d for d in datas):
            break
    else:  # pragma: no cover - 8 random 128-bit boundaries all inside the data
        raise DmpRequestError("no MIME boundary absent from the parts")
    root_type = _header(message.root_type, [("charset", "UTF-8")])
    chunks = [f"--{boundary}\r\nContent-Type: {root_type}\r\nContent-Transfer-Encoding: "
              f"binary\r\nContent-ID: <{root_id}>\r\n\r\n".encode(), envelope]
    for part in message.attachments:
        head = "".join(f"{name}: {value}\r\n" for name, value in part.headers)
        chunks += [f"\r\n--{boundary}\r\n{head}\r\n".encode("ascii", "surrogateescape"),
                   part.data]
    chunks.append(f"\r\n--{boundary}--\r\n".encode())
    received = dict(message.params)
    params = [(k, v) for k, v in message.params if k not in _OWN_PARAMS]
    params += [("type", XOP_MEDIA), ("start", f"<{root_id}>"),
               ("start-info", received.get("start-info") or soap.SOAP12_MEDIA),
               ("boundary", boundary)]
    return _header(MULTIPART_RELATED, params), b"".join(chunks)
