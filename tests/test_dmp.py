"""DMP through the box's keys against the DMP double: TD0.2 with the box's VIHF (ORG SIGN in
SoftHSM2, checked by xmlsec1 in the double) over stunnel with ORG AUTH_CLI, and the relay of a
counter's own SOAP request."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import pytest
from lxml import etree

from drivers.sim import testpki
from drivers.sim.services import dmp_double, dmp_lgo
from drivers.sim.services.https import HttpsDouble
from hostd.teleservices import dmp, mtls, soap
from hostd.teleservices.names import MAX_RELAY_BYTES
from provisioning.signing import vihf
from provisioning.signing.xmldsig import _signer
from provisioning.slots import Slot
from provisioning.store import Store
from tests import teleservice_support as ts

SERVER = "dmp.double.test"
POLICY = soap.CallPolicy(connect_timeout_s=5, read_timeout_s=10, attempts=2, backoff_s=0.05)
T = TypeVar("T")
DEMO_INS = "284056938104286"
CTX = vihf.VihfContext(
    operator_id="810001234567", operator_name="LEFEVRE Hélène",
    profession=vihf.Code("21", vihf.PROFESSION_SYSTEM, "Pharmacien"),
    cnop_section=vihf.Code("G", vihf.CNOP_SECTION_SYSTEM, "Pharmacien titulaire d'officine"),
    structure_id="3750000001", secteur_activite="SA33^1.2.250.1.71.4.2.4",
    patient_ins=DEMO_INS, lps_name="Comptoir", lps_version="0.1.0",
    lps_homologation_id="DMP-TEST-0001",
)


@dataclass
class Env:
    pki: testpki.TestPki
    store: Store
    double: dmp_double.DmpDouble
    server: HttpsDouble
    tunnel: mtls.TokenTlsTunnel

    def sign(self, ctx: vihf.VihfContext) -> bytes:
        return vihf.build_and_sign(self.store, Slot.ORG_SIGN, ctx)

    def run(self, make: Callable[[dmp.DmpClient], Awaitable[T]],
            sign: Callable[[vihf.VihfContext], bytes] | None = None) -> T:
        async def go() -> T:
            async with self.tunnel.http_client("dmp") as http:
                client = dmp.DmpClient(
                    soap.SoapClient(http, self.tunnel.base_url("dmp"), POLICY),
                    sign or self.sign, "comptoir-box-1")
                return await make(client)

        return asyncio.run(go())


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    tmp = tmp_path_factory.mktemp("dmp")
    pki = testpki.TestPki.create()
    store = ts.box_store(tmp / "state", pki)
    files = ts.server_files(tmp / "srv", pki, SERVER)
    (tmp / "root.pem").write_bytes(testpki.cert_pem(pki.root.cert))
    (tmp / "org.pem").write_bytes(testpki.cert_pem(pki.organisations.cert))
    double = dmp_double.DmpDouble(tmp / "root.pem", tmp / "org.pem")
    server = dmp_double.serve(double, files.chain, files.key, files.client_roots)
    tunnel = mtls.TokenTlsTunnel(
        tmp / "run", mtls.store_key(store, Slot.ORG_AUTH_CLI),
        [mtls.Endpoint("dmp", "127.0.0.1", server.port, SERVER)], mtls.trust_pem(store))
    tunnel.start()
    yield Env(pki, store, double, server, tunnel)
    tunnel.stop()
    server.stop()
    store.close()


def test_td02_existence_with_the_box_vihf(env: Env) -> None:
    found = env.run(lambda c: c.existence(CTX))
    assert found.found and (found.dmp_status, found.patient_status, found.authorization) == (
        "active", "active", "VALIDE")
    sent = etree.fromstring(env.server.requests[-1].body)
    assertion = sent.find(f".//{{{soap.WSSE_NS}}}Security/{{{vihf.SAML_NS}}}Assertion")
    assert assertion is not None  # the VIHF travelled in wsse:Security (xmlsec1 checked it)
    other = replace(CTX, patient_ins="190029935001241")
    missing = env.run(lambda c: c.existence(other))
    assert not missing.found and missing.dmp_status is None


def test_vihf_signed_outside_the_test_chain_is_refused(env: Env) -> None:
    rogue = testpki.TestPki.create()

    def rogue_sign(ctx: vihf.VihfContext) -> bytes:
        # Same layout, but signed by a key and certificate the DMP does not trust.
        key = testpki.new_rsa_key()
        cert = testpki.issue(rogue.organisations, key.public_key(),
                             testpki.igc_sante_name("PHARMACIE DU MARCHE", ["3750000001"]),
                             key_usage={"digital_signature", "content_commitment"})
        assertion = vihf.build(ctx, cert.subject.rfc4514_string(), env.store.now())
        signed = _signer("rsa-sha256").sign(assertion, key=key, cert=[cert],
                                            reference_uri="#" + assertion.get("ID"),
                                            id_attribute="ID")
        return bytes(etree.tostring(signed))

    refused = env.double.counters.refused
    with pytest.raises(soap.SoapFault, match="signature"):
        env.run(lambda c: c.existence(CTX), sign=rogue_sign)
    assert env.double.counters.refused == refused + 1


COUNTER_REQUEST = b"""<?xml version="1.0" encoding="UTF-8"?>
<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"
               xmlns:wsa="http://www.w3.org/2005/08/addressing">
 <soap:Header>
  <wsa:Action>urn:ihe:iti:2007:RegistryStoredQuery</wsa:Action>
  <wsa:MessageID>uuid:5f0c2a0e-1d1b-4a51-9d83-2f1f6c8b0a11</wsa:MessageID>
 </soap:Header>
 <soap:Body><query:AdhocQueryRequest xmlns:query="urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0">
  <query:ResponseOption returnType="LeafClass"/>
 </query:AdhocQueryRequest></soap:Body>
</soap:Envelope>"""
CTYPE = 'application/soap+xml; charset=utf-8; action="urn:ihe:iti:2007:RegistryStoredQuery"'


def test_relay_adds_the_vihf_and_returns_the_answer_unchanged(env: Env) -> None:
    answer = env.run(lambda c: c.relay("registry", CTYPE, COUNTER_REQUEST, CTX))
    assert answer.status == 200 and answer.content_type.startswith("application/soap+xml")
    body = soap.parse_response(answer.status, answer.content_type, answer.body)
    assert body.get("requestId") == "urn:ihe:iti:2007:RegistryStoredQuery"
    sent = env.server.requests[-1]
    assert sent.path == "/si-dmp-server/v2/services/registry"
    assert sent.headers["content-type"] == CTYPE
    root = etree.fromstring(sent.body)
    assert root.find(f".//{{{soap.WSSE_NS}}}Security/{{{vihf.SAML_NS}}}Assertion") is not None
    original = etree.fromstring(COUNTER_REQUEST).find(f"{{{soap.SOAP12_NS}}}Body")
    relayed = root.find(f"{{{soap.SOAP12_NS}}}Body")
    assert etree.tostring(relayed, method="c14n") == etree.tostring(original, method="c14n")


def test_relay_refuses_what_it_must_not_forward(env: Env) -> None:
    calls = env.double.counters.calls
    with_security = COUNTER_REQUEST.replace(
        b"<soap:Header>", b'<soap:Header><wsse:Security xmlns:wsse="%s"/>' % soap.WSSE_NS.encode())
    for service, ctype, data, match in (
        ("registry", CTYPE, with_security, "already has wsse:Security"),
        ("registry", "text/xml", COUNTER_REQUEST, "only SOAP 1.2"),
        ("nowhere", CTYPE, COUNTER_REQUEST, "unknown DMP service"),
        ("registry", CTYPE, b"<x", "well-formed"),
    ):
        with pytest.raises(dmp.DmpRequestError, match=match):
            env.run(lambda c, s=service, t=ctype, d=data: c.relay(s, t, d, CTX))
    assert env.double.counters.calls == calls  # nothing left the box


def test_dmp_double_refuses_a_request_without_vihf(env: Env, tmp_path: Path) -> None:
    async def bare(c: dmp.DmpClient) -> soap.SoapAnswer:
        env_ = soap.envelope(dmp.ACTION_TD02, dmp.td02_body(DEMO_INS, vihf.INS_NIR_OID, "x",
                                                            env.store.now()))
        return await c._client.call(dmp.SERVICE_ROOT + "patients", env_, idempotent=True)

    with pytest.raises(soap.SoapFault, match="VIHF absent"):
        env.run(bare)


# -- MTOM (TD2.1/TD2.2: ITI-41 with the documents as attachments) ------------------------------

BOUNDARY = "uuid:0f6c1c5e-7a42-4c1e-9d3b-5b8f0d1e2a33"
# Bytes that break naive text handling: every byte value (NUL, 0xFF, lone CR and LF), CRLF
# runs, lines that look like this message's delimiter (but are not: RFC 2046 needs the exact
# boundary at the start of a line followed only by "--", spaces or the line end).
TRICKY = (bytes(range(256)) + b"\r\n--" + BOUNDARY.encode() + b"-lookalike\r\n"
          + b"\x00\xff\r\r\n\n%PDF-1.7\r\n" + b"--" + BOUNDARY.encode() + b"--x\r\n"
          + b"\xff" * 64 + b"\r\n\r\n" + b"\r")
CDA = b'<?xml version="1.0" encoding="UTF-8"?>\r\n<ClinicalDocument xmlns="urn:hl7-org:v3">' \
      b"\r\n  <title>Compte rendu</title>\r\n</ClinicalDocument>\r\n"
DOCUMENTS = {"Doc01": ("application/pdf", TRICKY), "Doc02": ("text/xml", CDA)}


def _parts(content_type: str, body: bytes) -> tuple[Any, dict[str, bytes]]:
    """(root envelope, {Content-ID: bytes}) of an MTOM body, read independently of hostd."""
    from email import policy
    from email.parser import BytesParser

    msg = BytesParser(policy=policy.compat32).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    start = str(msg.get_param("start")).strip("<>")
    parts = {str(p["Content-ID"]).strip("<>"): p.get_payload(decode=True)
             for p in msg.get_payload()}
    return etree.fromstring(parts.pop(start)), parts


def test_mtom_submission_keeps_every_attachment_byte_for_byte(env: Env) -> None:
    ctype, body = dmp_lgo.iti41_mtom(DOCUMENTS, BOUNDARY)
    assert body.count(TRICKY) == 1
    accepted = env.double.counters.mtom
    answer = env.run(lambda c: c.relay("repository", ctype, body, CTX))
    # The double's answer (itself MTOM) comes back unchanged: type and bytes.
    sent_back = env.double.counters.last_answer
    assert sent_back is not None and answer.status == 200 == sent_back.status
    assert (answer.content_type, answer.body) == (sent_back.content_type, sent_back.body)
    assert answer.content_type.startswith("multipart/related") and answer.attachments == 2
    assert env.double.counters.mtom == accepted + 1
    root, _ = _parts(answer.content_type, answer.body)
    response = root.find(f"{{{soap.SOAP12_NS}}}Body/{{{dmp_double.RS_NS}}}RegistryResponse")
    assert response.get("status") == dmp_double.SUCCESS
    received = {s.get("name"): s.findtext(f".//{{{dmp_double.RIM_NS}}}Value")
                for s in response.iter(f"{{{dmp_double.RIM_NS}}}Slot")}
    assert received == {f"document:{k}": f"{len(d)}:{hashlib.sha256(d).hexdigest()}"
                        for k, (_, d) in DOCUMENTS.items()}
    # What went over the wire: the same attachments (bytes and Content-IDs), a fresh
    # boundary, the root with the box's VIHF and the counter's body unchanged.
    wire = env.server.requests[-1]
    assert wire.path == "/si-dmp-server/v2/services/repository"
    assert wire.body.count(TRICKY) == 1 and BOUNDARY not in wire.headers["content-type"]
    sent_root, attachments = _parts(wire.headers["content-type"], wire.body)
    assert attachments == {dmp_lgo.content_id(k): d for k, (_, d) in DOCUMENTS.items()}
    assert f'start="<{dmp_lgo.ROOT_ID}>"' in wire.headers["content-type"]
    assert 'start-info="application/soap+xml"' in wire.headers["content-type"]
    assert sent_root.find(f".//{{{soap.WSSE_NS}}}Security/{{{vihf.SAML_NS}}}Assertion") \
        is not None
    original = etree.fromstring(dmp_lgo.iti41_envelope({k: m for k, (m, _) in
                                                        DOCUMENTS.items()}))
    body_of = f"{{{soap.SOAP12_NS}}}Body"
    assert etree.tostring(sent_root.find(body_of), method="c14n") == etree.tostring(
        original.find(body_of), method="c14n")


def _mtom_variant(change: Callable[[str, bytes], tuple[str, bytes]]) -> tuple[str, bytes]:
    return change(*dmp_lgo.iti41_mtom(DOCUMENTS, BOUNDARY))


def test_malformed_mtom_is_refused_before_anything_leaves_the_box(env: Env) -> None:
    doc02 = f"\r\n--{BOUNDARY}\r\nContent-Type: text/xml".encode()
    cases: list[tuple[str, Callable[[str, bytes], tuple[str, bytes]]]] = [
        ("without a boundary", lambda t, b: (t.split("; boundary=")[0], b)),
        ('type="application/xop\\+xml"', lambda t, b: (t.replace("application/xop+xml",
                                                                  "text/xml", 1), b)),
        ("root's Content-ID <nowhere@x>", lambda t, b: (t.replace(dmp_lgo.ROOT_ID,
                                                                  "nowhere@x"), b)),
        ("root part is text/plain", lambda t, b: (t, b.replace(
            b"application/xop+xml; charset", b"text/plain; charset", 1))),
        ("not SOAP 1.2", lambda t, b: (t, b.replace(
            b'type="application/soap+xml"', b'type="text/xml"', 1))),
        ("names no MIME part", lambda t, b: (t, b[:b.index(doc02)] + f"\r\n--{BOUNDARY}--\r\n"
                                             .encode())),
        ("malformed MIME body", lambda t, b: (t, b[:b.rindex(f"--{BOUNDARY}--".encode())])),
        ("the root part: not well-formed", lambda t, b: (t, b.replace(b"</soap:Envelope>",
                                                                      b"</soap:Envelop>"))),
        ("no Content-ID", lambda t, b: (t, b.replace(
            f"Content-ID: <{dmp_lgo.content_id('Doc02')}>\r\n".encode(), b""))),
    ]
    calls = env.double.counters.calls
    for match, change in cases:
        ctype, body = _mtom_variant(change)
        with pytest.raises(dmp.DmpRequestError, match=match):
            env.run(lambda c, t=ctype, b=body: c.relay("repository", t, b, CTX))
    assert env.double.counters.calls == calls  # nothing left the box


def test_the_double_validates_the_submission_it_receives(env: Env) -> None:
    # Well-formed MTOM the box relays, but whose ITI-41 body the DMP refuses (an
    # ExtrinsicObject without its mimeType): the double's schema check is real, and its
    # fault comes back to the counter unchanged.
    ctype, body = _mtom_variant(lambda t, b: (t, b.replace(b' mimeType="text/xml"', b"", 1)))
    answer = env.run(lambda c: c.relay("repository", ctype, body, CTX))
    assert answer.status == 500 and b"mimeType" in answer.body
    with pytest.raises(soap.SoapFault, match="invalide"):
        soap.parse_response(answer.status, answer.content_type, answer.body)


def test_the_relay_body_limit_fits_the_largest_relayed_request(env: Env) -> None:
    from hostd import limits

    limit = limits.body_limit("POST", "/v1/dmp/relay/repository")
    # The daemon reads a whole 10 MiB request (plain or MTOM) and then says why it refuses more.
    assert MAX_RELAY_BYTES < limit <= MAX_RELAY_BYTES + 64 * 1024
    assert limits.body_limit("POST", "/v1/dmp/existence") < MAX_RELAY_BYTES
    ctype, body = dmp_lgo.iti41_mtom(
        {"Doc01": ("application/pdf", b"\0" * MAX_RELAY_BYTES)})
    calls = env.double.counters.calls
    with pytest.raises(dmp.DmpRequestError, match="larger than 10 MiB"):
        env.run(lambda c: c.relay("repository", ctype, body, CTX))
    assert env.double.counters.calls == calls
