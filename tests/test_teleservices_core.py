"""The téléservice building blocks: SOAP 1.2 envelope and faults, the assertion PS signed by
the simulated CPS through the shared-CPS queue (checked by xmlsec1), and TLS client
authentication through stunnel with the key kept in SoftHSM2 (the token's signatures counted)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from lxml import etree
from pkcs11 import Attribute, ObjectClass

from drivers.cards.cps import CpsCard
from drivers.cards.cps_model import KeyRole
from drivers.errors import SecurityNotSatisfied
from drivers.sim import testpki
from drivers.sim.cps_app import CpsApplication
from drivers.sim.services.https import DoubleRequest, DoubleResponse, HttpsDouble
from hostd.audit import AuditLog
from hostd.config import CpsSettings
from hostd.services.cps import CpsService
from hostd.services.jobs import Caller
from hostd.services.readers import ReaderHub
from hostd.teleservices import cps_assertion, mtls, soap
from provisioning.slots import Slot
from tests import teleservice_support as ts
from tests.card_support import DirectTransport
from tests.hostd_support import cps_config

READER = "Sim Reader 00 00"
ATR = bytes.fromhex("3BAC00402A00122500648000031000" "9000")
CALLER = Caller("Comptoir 1", "Mme Durand")
PIN = "4739"


@pytest.fixture(scope="module")
def pki() -> testpki.TestPki:
    return testpki.TestPki.create()


# -- SOAP ----------------------------------------------------------------------------------

LPS = soap.LpsIdentity(idam="AM-TEST-0001", name="Comptoir", version="0.1.0", instance="box-1")


def test_envelope_carries_addressing_and_contexte_lps() -> None:
    from datetime import UTC, datetime

    body = etree.Element("{urn:x}Ping")
    env = soap.envelope("urn:act", body, [soap.contexte_lps(LPS, datetime.now(UTC))])
    root = etree.fromstring(env.data)
    ns = {"s": soap.SOAP12_NS, "wsa": soap.WSA_NS, "c": soap.CTXLPS_NS}
    assert root.findtext("s:Header/wsa:Action", namespaces=ns) == "urn:act"
    assert root.findtext("s:Header/wsa:MessageID", namespaces=ns) == env.message_id
    assert env.message_id.startswith("uuid:")
    lps = root.find("s:Header/c:ContexteLPS", ns)
    assert lps.get("Nature") == "CTXLPS" and lps.get("Version") == "01_00"
    assert lps.findtext("c:LPS/c:IDAM", namespaces=ns) == "AM-TEST-0001"
    assert lps.find("c:LPS/c:IDAM", ns).get("R") == "4"
    assert lps.findtext("c:LPS/c:Nom", namespaces=ns) == "urn:lps:Comptoir:0.1.0"
    assert root.find(f"s:Header/{{{soap.WSSE_NS}}}Security", ns) is None
    assert root.find("s:Body/{urn:x}Ping", ns) is not None


def test_lps_identity_rejects_bad_configuration() -> None:
    with pytest.raises(ValueError, match=r"lps\.idam"):
        soap.LpsIdentity(idam="bad idam!", name="C", version="1", instance="b")
    with pytest.raises(ValueError, match="attempts"):
        soap.CallPolicy(attempts=0)


FAULT = b"""<?xml version="1.0"?>
<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" xmlns:siram="urn:siram">
 <env:Body><env:Fault>
  <env:Code><env:Value>env:Sender</env:Value>
   <env:Subcode><env:Value>siram:siram_100</env:Value></env:Subcode></env:Code>
  <env:Reason><env:Text xml:lang="fr">Logiciel inconnu</env:Text></env:Reason>
  <env:Detail>
   <siram:Erreur code="siram_100" severite="fatal" messageID="uuid:1">LPS inconnu</siram:Erreur>
   <siram:Erreur code="desir_550" severite="fatal" messageID="uuid:1">IDAM inconnu</siram:Erreur>
  </env:Detail>
 </env:Fault></env:Body></env:Envelope>"""


def test_fault_becomes_typed_error_with_service_codes() -> None:
    with pytest.raises(soap.SoapFault) as caught:
        soap.parse_response(500, "application/soap+xml; charset=utf-8", FAULT)
    fault = caught.value
    assert fault.code == "Sender" and fault.reason == "Logiciel inconnu"
    assert fault.service_codes == ("siram_100", "desir_550")
    assert fault.errors[1].text == "IDAM inconnu" and not fault.transient


def test_non_soap_answer_is_a_protocol_error() -> None:
    with pytest.raises(soap.SoapProtocolError, match="text/html"):
        soap.parse_response(502, "text/html", b"<html>bad gateway</html>")


# -- assertion PS through the shared-CPS queue ----------------------------------------------



@pytest.fixture
def cps(tmp_path: Path, pki: testpki.TestPki) -> Iterator[tuple[CpsService, AuditLog]]:
    card = CpsApplication(replace(cps_config(pki), pin=PIN))
    hub = ReaderHub(lambda _r: DirectTransport(card), lambda _k, t: CpsCard(t))
    audit = AuditLog.open(tmp_path)
    svc = CpsService(hub, audit, CpsSettings(api_pin=True), 5.0)
    hub.add_session_listener(svc.session_ended)
    hub.on_card_inserted(READER, ATR)
    yield svc, audit
    hub.stop()


async def _assertion(svc: CpsService) -> Any:
    der = await svc.certificate(READER, KeyRole.SIGN, CALLER)
    key = cps_assertion.CpsSigningKey(
        x509.load_der_x509_certificate(der),
        cps_assertion.CpsQueueSigner(svc, READER, CALLER),
    )
    ps = cps_assertion.PsIdentity(national_id="810001234567", billing_id="0123456789",
                                  sector="SA05")
    return await cps_assertion.make_assertion(key, ps)


def test_assertion_ps_is_signed_by_the_cps_and_verifies_with_xmlsec1(
    cps: tuple[CpsService, AuditLog], pki: testpki.TestPki, tmp_path: Path
) -> None:
    svc, audit = cps

    async def run() -> Any:
        await svc.unlock(READER, bytearray(PIN.encode()), CALLER)
        return await _assertion(svc)

    assertion = asyncio.run(run())
    xml = tmp_path / "assertion.xml"
    xml.write_bytes(etree.tostring(assertion))
    root_pem, inter_pem = tmp_path / "root.pem", tmp_path / "personnes.pem"
    root_pem.write_bytes(testpki.cert_pem(pki.root.cert))
    inter_pem.write_bytes(testpki.cert_pem(pki.personnes.cert))
    done = ts.xmlsec_verify(xml, [root_pem, inter_pem], ts.SAML_ASSERTION)
    assert done.returncode == 0, done.stderr
    ns = {"saml2": cps_assertion.SAML_NS, "ds": "http://www.w3.org/2000/09/xmldsig#"}
    assert assertion.get("ID").startswith("_")
    cert_cn = "CN=810001234567/CPS-SIGN"
    assert assertion.findtext("saml2:Issuer", namespaces=ns).startswith(cert_cn + ",GN=")
    assert assertion.findtext("saml2:Subject/saml2:NameID", namespaces=ns) == "810001234567"
    assert assertion.find("saml2:Subject/saml2:NameID", ns).get("NameQualifier") == "CPS"
    sig = assertion.find("ds:Signature", ns)
    assert assertion.index(sig) == 1  # right after the Issuer
    assert sig.find("ds:SignedInfo/ds:SignatureMethod", ns).get("Algorithm").endswith(
        "rsa-sha256")
    # The one RSA operation was a card job in the queue, audited under the caller.
    rows = [r for r in audit.records() if r.action == "cps.sign.sign"]
    assert len(rows) == 1 and rows[0].client == "Comptoir 1" and rows[0].outcome == "ok"
    # Tampering breaks it.
    xml.write_bytes(xml.read_bytes().replace(b"SA05", b"SA06"))
    assert ts.xmlsec_verify(xml, [root_pem, inter_pem], ts.SAML_ASSERTION).returncode != 0


def test_assertion_ps_refused_while_the_card_is_locked(cps: tuple[CpsService, AuditLog]) -> None:
    svc, _ = cps
    with pytest.raises(SecurityNotSatisfied):
        asyncio.run(_assertion(svc))


# -- TLS client authentication with the key in the token ------------------------------------


def _echo(request: DoubleRequest) -> DoubleResponse:
    cert = request.client_cert
    cn = cert.subject.rfc4514_string() if cert else "none"
    return DoubleResponse(200, "text/plain", cn.encode())


def test_tunnel_authenticates_with_the_token_key_which_signs_each_full_handshake(
    tmp_path: Path, pki: testpki.TestPki
) -> None:
    store = ts.box_store(tmp_path / "state", pki)
    files = ts.server_files(tmp_path / "srv", pki, "insi.double.test")
    double = HttpsDouble(_echo, files.chain, files.key, files.client_roots).start()
    before = sorted((o.object_class, o.key_id) for o in store.token_objects())
    spy = tmp_path / "spy.log"
    key = ts.spied_key(mtls.store_key(store, Slot.ORG_AUTH_CLI))
    tunnel = mtls.TokenTlsTunnel(
        tmp_path / "run", key,
        [mtls.Endpoint("insi", "127.0.0.1", double.port, "insi.double.test")],
        mtls.trust_pem(store), extra_env=ts.spy_env(spy),
    )
    try:
        with tunnel:
            assert (tunnel.socket("insi").stat().st_mode & 0o777) == 0o600

            async def calls() -> list[str]:
                out = []
                for _ in range(3):  # a new connection each time: full or resumed handshakes
                    async with tunnel.http_client("insi") as http:
                        out.append((await http.post("/x", content=b"a")).text)
                async with tunnel.http_client("insi") as http:  # keep-alive: one connection
                    for _ in range(5):
                        out.append((await http.post("/x", content=b"b")).text)
                return out

            answers = asyncio.run(calls())
        assert all("CN=INSI-AUTO" in a for a in answers)
        # The token PIN went through a pipe: not in any file of the runtime directory.
        for path in (tmp_path / "run").iterdir():
            if path.is_file():
                assert key.pin.encode() not in path.read_bytes(), path
        full = sum(1 for r in double.requests if not r.session_reused)
        connections = 4
        assert 1 <= full <= connections
        # Each full handshake is one C_Sign on the token (CertificateVerify); nothing else.
        assert ts.spy_calls(spy, "C_Sign") == full
    finally:
        double.stop()
    # The key is still one non-extractable, sensitive object; nothing was added or copied.
    assert sorted((o.object_class, o.key_id) for o in store.token_objects()) == before
    key_id = store.key_id(Slot.ORG_AUTH_CLI)
    with store.token.lock:
        priv = store.token.session.get_key(object_class=ObjectClass.PRIVATE_KEY, id=key_id)
        assert priv[Attribute.SENSITIVE] and not priv[Attribute.EXTRACTABLE]
        assert priv[Attribute.NEVER_EXTRACTABLE]
    store.close()


def test_tunnel_refuses_a_server_outside_the_trust_store(tmp_path: Path, pki: testpki.TestPki
                                                         ) -> None:
    store = ts.box_store(tmp_path / "state", pki)
    other = testpki.TestPki.create()
    files = ts.server_files(tmp_path / "srv", other, "insi.double.test")
    files.client_roots.write_bytes(testpki.cert_pem(pki.root.cert))
    double = HttpsDouble(_echo, files.chain, files.key, files.client_roots).start()
    tunnel = mtls.TokenTlsTunnel(
        tmp_path / "run", mtls.store_key(store, Slot.ORG_AUTH_CLI),
        [mtls.Endpoint("insi", "127.0.0.1", double.port, "insi.double.test")],
        mtls.trust_pem(store),
    )
    try:
        with tunnel:
            async def call() -> None:
                async with tunnel.http_client("insi") as http:
                    await http.post("/x", content=b"a")

            with pytest.raises(httpx.HTTPError):
                asyncio.run(call())
        assert double.requests == []
    finally:
        double.stop()
        store.close()


def test_timeouts_and_retries_are_bounded(tmp_path: Path, pki: testpki.TestPki) -> None:
    def slow(request: DoubleRequest) -> DoubleResponse:
        time.sleep(1.5)  # longer than the read timeout below
        return DoubleResponse(200, "application/soap+xml", b"")

    store = ts.box_store(tmp_path / "state", pki)
    files = ts.server_files(tmp_path / "srv", pki, "insi.double.test")
    double = HttpsDouble(slow, files.chain, files.key, files.client_roots).start()
    tunnel = mtls.TokenTlsTunnel(
        tmp_path / "run", mtls.store_key(store, Slot.ORG_AUTH_CLI),
        [mtls.Endpoint("insi", "127.0.0.1", double.port, "insi.double.test")],
        mtls.trust_pem(store),
    )
    policy = soap.CallPolicy(connect_timeout_s=2, read_timeout_s=0.4, attempts=3,
                             backoff_s=0.05, deadline_s=5)
    env = soap.envelope("urn:act", etree.Element("{urn:x}Ping"))
    try:
        with tunnel:
            async def call(idempotent: bool) -> float:
                async with tunnel.http_client("insi") as http:
                    client = soap.SoapClient(http, tunnel.base_url("insi"), policy)
                    start = time.monotonic()
                    with pytest.raises(soap.SoapTransportError, match="attempt"):
                        await client.call("/x", env, idempotent=idempotent)
                    return time.monotonic() - start

            sent = len(double.requests)
            elapsed = asyncio.run(call(idempotent=False))
            assert elapsed < 1.2  # one attempt: a submission is never sent twice
            time.sleep(1.6)
            assert len(double.requests) - sent == 1
            sent = len(double.requests)
            elapsed = asyncio.run(call(idempotent=True))
            assert elapsed < 3.0  # three attempts of 0.4 s plus backoff
            time.sleep(1.6)
            assert len(double.requests) - sent == 3
    finally:
        double.stop()
        store.close()


# -- the PKCS#11 engine's path (multiarch) ----------------------------------------------------


def _engine_at(root: Path, triplet: str | None) -> Path:
    path = root / "usr" / "lib" / (triplet or "") / "engines-3" / "pkcs11.so"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x7fELF")
    return path


def test_engine_follows_the_machine_multiarch(tmp_path: Path) -> None:
    arm = _engine_at(tmp_path, "aarch64-linux-gnu")  # a Raspberry Pi's layout
    assert mtls.find_engine(tmp_path, "aarch64-linux-gnu") == arm
    assert mtls.find_engine(tmp_path, None) == arm  # multiarch unknown: the only one there
    with pytest.raises(mtls.TunnelError, match=r"x86_64-linux-gnu.*libengine-pkcs11-openssl"):
        mtls.find_engine(tmp_path, "x86_64-linux-gnu")  # never another machine's engine
    x86 = _engine_at(tmp_path, "x86_64-linux-gnu")
    assert mtls.find_engine(tmp_path, "x86_64-linux-gnu") == x86
    assert mtls.find_engine(tmp_path, "aarch64-linux-gnu") == arm
    with pytest.raises(mtls.TunnelError, match="several PKCS#11 engines"):
        mtls.find_engine(tmp_path, None)
    flat = tmp_path / "flat"
    only_flat = _engine_at(flat, None)
    assert mtls.find_engine(flat, "aarch64-linux-gnu") == only_flat
    with pytest.raises(mtls.TunnelError) as missing:
        mtls.find_engine(tmp_path / "empty", "aarch64-linux-gnu")
    assert "\n" not in str(missing.value)


def test_engine_found_on_this_machine_and_overridable(tmp_path: Path) -> None:
    import sysconfig

    here = mtls.engine_path()
    assert here.is_file() and here.name == "pkcs11.so"
    triplet = mtls.machine_multiarch()
    assert triplet and f"/{triplet}/" in str(here)
    assert triplet == (sysconfig.get_config_var("MULTIARCH") or triplet)
    other = _engine_at(tmp_path, "aarch64-linux-gnu")
    assert mtls.engine_path(str(other)) == other
    with pytest.raises(mtls.TunnelError, match=r"pkcs11_engine /nowhere/pkcs11\.so is not a file"):
        mtls.engine_path("/nowhere/pkcs11.so")


def test_tunnel_with_a_missing_configured_engine_says_so_in_one_line(
        tmp_path: Path, pki: testpki.TestPki) -> None:
    store = ts.box_store(tmp_path / "state", pki)
    tunnel = mtls.TokenTlsTunnel(
        tmp_path / "run", mtls.store_key(store, Slot.ORG_AUTH_CLI),
        [mtls.Endpoint("insi", "127.0.0.1", 9, "insi.double.test")], mtls.trust_pem(store),
        engine=tmp_path / "missing.so")
    try:
        with pytest.raises(mtls.TunnelError, match=r"^\[teleservices\] pkcs11_engine .* not a"):
            tunnel.start()
        assert not tunnel.running
    finally:
        store.close()
