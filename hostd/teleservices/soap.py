"""SOAP 1.2 for the national téléservices (INSi, DMP, ApCV): envelope, WS-Addressing, the
ContexteLPS header, fault parsing into typed errors, bounded timeouts and retries.

Why our own thin layer and not zeep: the services publish WSDLs we may not redistribute, the
requests are a handful of fixed documents, and what matters here is control over the bytes
(headers signed or not, the exact ``wsa:Action``, faults carrying ``siram:Erreur`` codes).
lxml builds and parses; httpx carries the bytes over whatever transport :mod:`mtls` gives.

Facts (DOMAIN.md "INSi"): SOAP 1.2 document/literal; faults are HTTP 500 with a SOAP 1.2
``Fault`` whose ``Detail`` holds ``siram:Erreur`` elements (``code``, ``severite``,
``messageID``); ``wsa:MessageID`` is ``uuid:<uuid>``.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from lxml import etree

SOAP12_NS = "http://www.w3.org/2003/05/soap-envelope"
WSA_NS = "http://www.w3.org/2005/08/addressing"
WSSE_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
CTXLPS_NS = "urn:siram:lps:ctxlps"
SIRAM_NS = "urn:siram"
SOAP12_MEDIA = "application/soap+xml"

# Codes that mean "try again later" (DOMAIN.md: siram_40 + insi_102, service temporarily
# unavailable). Only these faults are retried, and only for calls the caller marks idempotent.
TRANSIENT_CODES = frozenset({"siram_40", "insi_102"})


class SoapError(Exception):
    """Base of every téléservice error; ``message`` is one line for people."""


class SoapTransportError(SoapError):
    """The service could not be reached or did not answer in time (after the bounded retries)."""


class SoapProtocolError(SoapError):
    """The service answered something that is not the SOAP 1.2 document expected."""


@dataclass(frozen=True)
class ServiceError:
    """One ``siram:Erreur`` of a fault's Detail: the code the service documents."""

    code: str
    severity: str = ""
    message_id: str = ""
    text: str = ""


class SoapFault(SoapError):
    """A SOAP 1.2 Fault, with the service's own codes (``desir_560``, ``siram_100``…)."""

    def __init__(
        self,
        code: str,
        reason: str,
        subcodes: Sequence[str] = (),
        errors: Sequence[ServiceError] = (),
        http_status: int = 500,
    ) -> None:
        super().__init__(f"{code}: {reason}" + (f" ({', '.join(self._codes(errors))})"
                                                 if errors else ""))
        self.code = code  # env:Sender / env:Receiver (local name)
        self.reason = reason
        self.subcodes = tuple(subcodes)
        self.errors = tuple(errors)
        self.http_status = http_status

    @staticmethod
    def _codes(errors: Iterable[ServiceError]) -> list[str]:
        return [e.code for e in errors]

    @property
    def service_codes(self) -> tuple[str, ...]:
        """Every code the service gave: ``siram:Erreur/@code`` values, then subcodes."""
        return tuple(self._codes(self.errors)) + tuple(
            s for s in self.subcodes if s not in self._codes(self.errors)
        )

    @property
    def transient(self) -> bool:
        return bool(TRANSIENT_CODES & set(self.service_codes))


# -- configuration -------------------------------------------------------------------------

_IDAM = re.compile(r"[A-Za-z0-9\-]{1,32}")


@dataclass(frozen=True)
class LpsIdentity:
    """Who the software is, as ContexteLPS (and the VIHF's LPS_* attributes) say it.

    ``idam`` is the software's authorisation number from the Assurance Maladie (an unknown one
    gets fault ``siram_100``/``desir_550``); ``instance`` tells boxes of the same software
    apart (the box's id).
    """

    idam: str
    name: str
    version: str
    instance: str
    emitter: str = "comptoir"

    def __post_init__(self) -> None:
        if not _IDAM.fullmatch(self.idam):
            raise ValueError("lps.idam must be 1-32 letters, digits or '-'")
        for name in ("name", "version", "instance", "emitter"):
            value = getattr(self, name)
            if not value.strip() or len(value) > 64:
                raise ValueError(f"lps.{name} must be 1-64 characters")

    @property
    def urn(self) -> str:
        return f"urn:lps:{self.name}:{self.version}"


@dataclass(frozen=True)
class CallPolicy:
    """Bounds for one call: each attempt has its own timeouts, the whole call a deadline."""

    connect_timeout_s: float = 5.0
    read_timeout_s: float = 20.0
    attempts: int = 2
    backoff_s: float = 0.5
    deadline_s: float = 45.0

    def __post_init__(self) -> None:
        if not 1 <= self.attempts <= 5:
            raise ValueError("attempts must be 1 to 5")
        for name in ("connect_timeout_s", "read_timeout_s", "deadline_s"):
            if not 0 < getattr(self, name) <= 300:
                raise ValueError(f"{name} must be in (0, 300] seconds")
        if not 0 <= self.backoff_s <= 10:
            raise ValueError("backoff_s must be 0 to 10 seconds")


# -- building ------------------------------------------------------------------------------


def _q(ns: str, tag: str) -> str:
    return f"{{{ns}}}{tag}"


def instant(moment: datetime) -> str:
    """xs:dateTime in UTC with milliseconds, as the SIRAM contexts carry ``Temps``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}Z"
    )


def new_message_id() -> str:
    return f"uuid:{uuid.uuid4()}"


def contexte_lps(lps: LpsIdentity, now: datetime) -> Any:
    """``ctxlps:ContexteLPS`` (Nature CTXLPS, Version 01_00)."""
    root = etree.Element(
        _q(CTXLPS_NS, "ContexteLPS"), nsmap={"ctxlps": CTXLPS_NS},
        Nature="CTXLPS", Version="01_00",
    )
    etree.SubElement(root, _q(CTXLPS_NS, "Id")).text = str(uuid.uuid4())
    etree.SubElement(root, _q(CTXLPS_NS, "Temps")).text = instant(now)
    etree.SubElement(root, _q(CTXLPS_NS, "Emetteur")).text = lps.emitter
    lps_el = etree.SubElement(root, _q(CTXLPS_NS, "LPS"))
    etree.SubElement(lps_el, _q(CTXLPS_NS, "IDAM"), R="4").text = lps.idam
    etree.SubElement(lps_el, _q(CTXLPS_NS, "Version")).text = lps.version
    etree.SubElement(lps_el, _q(CTXLPS_NS, "Instance")).text = lps.instance
    etree.SubElement(lps_el, _q(CTXLPS_NS, "Nom")).text = lps.urn
    return root


@dataclass(frozen=True)
class Envelope:
    """A request ready to send: its bytes and what identifies it in logs and answers."""

    action: str
    message_id: str
    data: bytes


def envelope(
    action: str,
    body: Any,
    headers: Sequence[Any] = (),
    security: Sequence[Any] = (),
    *,
    to: str | None = None,
    message_id: str | None = None,
) -> Envelope:
    """The SOAP 1.2 envelope: ``wsa:Action``, ``wsa:MessageID`` (and ``wsa:To``), the given
    headers, and a ``wsse:Security`` header holding ``security`` elements if any."""
    mid = message_id or new_message_id()
    env = etree.Element(_q(SOAP12_NS, "Envelope"), nsmap={"soap": SOAP12_NS, "wsa": WSA_NS})
    header = etree.SubElement(env, _q(SOAP12_NS, "Header"))
    if security:
        sec = etree.SubElement(header, _q(WSSE_NS, "Security"), nsmap={"wsse": WSSE_NS})
        for item in security:
            sec.append(item)
    etree.SubElement(header, _q(WSA_NS, "Action")).text = action
    etree.SubElement(header, _q(WSA_NS, "MessageID")).text = mid
    if to:
        etree.SubElement(header, _q(WSA_NS, "To")).text = to
    for item in headers:
        header.append(item)
    etree.SubElement(env, _q(SOAP12_NS, "Body")).append(body)
    return Envelope(action, mid, etree.tostring(env, xml_declaration=True, encoding="UTF-8"))


# -- parsing -------------------------------------------------------------------------------

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, huge_tree=False, remove_blank_text=False
)


def parse_xml(data: bytes) -> Any:
    """Parses a document from the network or a LAN client: no DTD entities, no network."""
    try:
        return etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise SoapProtocolError(f"not well-formed XML: {exc}") from None


def _local(qname: str | None) -> str:
    """``env:Sender`` → ``Sender``; codes are QNames whose prefix varies between services."""
    return (qname or "").strip().rpartition(":")[2]


def parse_fault(fault: Any, http_status: int = 500) -> SoapFault:
    ns = {"s": SOAP12_NS, "siram": SIRAM_NS}
    code = _local(fault.findtext("s:Code/s:Value", namespaces=ns))
    subcodes: list[str] = []
    sub = fault.find("s:Code/s:Subcode", ns)
    while sub is not None and len(subcodes) < 8:
        subcodes.append(_local(sub.findtext("s:Value", namespaces=ns)))
        sub = sub.find("s:Subcode", ns)
    reason = " ".join((fault.findtext("s:Reason/s:Text", namespaces=ns) or "").split())
    errors = [
        ServiceError(
            code=(e.get("code") or "").strip(),
            severity=(e.get("severite") or "").strip(),
            message_id=(e.get("messageID") or "").strip(),
            text=" ".join((e.text or "").split()),
        )
        for e in fault.iterfind("s:Detail//siram:Erreur", ns)
    ]
    return SoapFault(code or "Receiver", reason or "(no reason)", subcodes, errors, http_status)


def parse_response(status: int, content_type: str, data: bytes) -> Any:
    """The first element of the SOAP Body, or :class:`SoapFault` / :class:`SoapProtocolError`."""
    media = content_type.split(";")[0].strip().lower()
    if media not in (SOAP12_MEDIA, "text/xml", "application/xml"):
        raise SoapProtocolError(f"HTTP {status} with {media or 'no content type'}, not SOAP 1.2")
    root = parse_xml(data)
    if root.tag != _q(SOAP12_NS, "Envelope"):
        raise SoapProtocolError(f"answer is {root.tag}, not a SOAP 1.2 Envelope")
    body = root.find(_q(SOAP12_NS, "Body"))
    if body is None or len(body) == 0:
        raise SoapProtocolError("SOAP answer without a Body element")
    first = body[0]
    if first.tag == _q(SOAP12_NS, "Fault"):
        raise parse_fault(first, status)
    if status != 200:
        raise SoapProtocolError(f"HTTP {status} without a SOAP Fault")
    return first


# -- calling -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SoapAnswer:
    body: Any  # first element of the Body
    raw: bytes
    status: int
    content_type: str
    attempts: int
    elapsed_s: float
    headers: dict[str, str] = field(default_factory=dict)


class SoapClient:
    """Posts envelopes to one service over the given httpx client (see :mod:`mtls`).

    Retries are bounded by ``policy.attempts`` and ``policy.deadline_s``: a connection that
    could not be opened is always retried; a transient fault (``TRANSIENT_CODES``) or a read
    timeout only when the caller says the call is idempotent (a search, a test of existence),
    never for a submission.
    """

    def __init__(self, http: httpx.AsyncClient, base_url: str, policy: CallPolicy) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self.policy = policy

    def _timeout(self, left: float) -> httpx.Timeout:
        p = self.policy
        return httpx.Timeout(
            connect=min(p.connect_timeout_s, left), read=min(p.read_timeout_s, left),
            write=min(p.read_timeout_s, left), pool=min(p.connect_timeout_s, left),
        )

    async def post(
        self, path: str, data: bytes, *, action: str, idempotent: bool,
        content_type: str | None = None,
    ) -> httpx.Response:
        """One bounded POST with retries; returns the raw response (the relay needs it)."""
        start = time.monotonic()
        ctype = content_type or f'{SOAP12_MEDIA}; charset=utf-8; action="{action}"'
        last: Exception | None = None
        for attempt in range(1, self.policy.attempts + 1):
            left = self.policy.deadline_s - (time.monotonic() - start)
            if left <= 0:
                break
            try:
                response = await self._http.post(
                    self._base + path, content=data, headers={"Content-Type": ctype},
                    timeout=self._timeout(left),
                )
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError) as exc:
                # Nothing reached the service (or the tunnel dropped before an answer).
                last = exc
            except httpx.TimeoutException as exc:
                last = exc
                if not idempotent:
                    break
            else:
                if idempotent and response.status_code >= 500 and self._transient(response):
                    last = SoapTransportError("service temporarily unavailable")
                    if attempt < self.policy.attempts:
                        await asyncio.sleep(self.policy.backoff_s * attempt)
                        continue
                response.extensions["comptoir_attempts"] = attempt
                return response
            if attempt < self.policy.attempts:
                await asyncio.sleep(self.policy.backoff_s * attempt)
        raise SoapTransportError(
            f"no answer from the service after {attempt} attempt(s): "
            f"{type(last).__name__ if last else 'deadline'}"
        ) from last

    @staticmethod
    def _transient(response: httpx.Response) -> bool:
        try:
            parse_response(
                response.status_code, response.headers.get("content-type", ""), response.content
            )
        except SoapFault as fault:
            return fault.transient
        except SoapError:
            return False
        return False

    async def call(self, path: str, env: Envelope, *, idempotent: bool) -> SoapAnswer:
        """Sends the envelope; the Body's first element, or a typed fault."""
        start = time.monotonic()
        response = await self.post(path, env.data, action=env.action, idempotent=idempotent)
        ctype = response.headers.get("content-type", "")
        body = parse_response(response.status_code, ctype, response.content)
        return SoapAnswer(
            body, response.content, response.status_code, ctype,
            int(response.extensions.get("comptoir_attempts", 1)), time.monotonic() - start,
        )
