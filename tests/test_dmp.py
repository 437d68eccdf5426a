"""DMP through the box's keys against the DMP double: TD0.2 with the box's VIHF (ORG SIGN in
SoftHSM2, checked by xmlsec1 in the double) over stunnel with ORG AUTH_CLI, and the relay of a
counter's own SOAP request."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

import pytest
from lxml import etree

from drivers.sim import testpki
from drivers.sim.services import dmp_double
from drivers.sim.services.https import HttpsDouble
from hostd.teleservices import dmp, mtls, soap
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
