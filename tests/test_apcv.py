"""ApCV read through the shared CPS against the ApCV double: real SOAP 1.2 over real TLS,
requests validated against the double's XSDs, the assertion PS signed by the simulated CPS
through the shared-CPS queue and verified by xmlsec1 on the service side."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from drivers.cards.apcv_nfc import ApcvNfcCard, PhoneLocked, is_contactless_atr
from drivers.cards.cps import CpsCard
from drivers.cards.cps_model import KeyRole
from drivers.errors import CardProtocolError, SecurityNotSatisfied
from drivers.pcsc import PcscConnection
from drivers.sim import testpki
from drivers.sim.apcv_nfc_app import ApcvNfcApplication
from drivers.sim.cardfile import load_card
from drivers.sim.cps_app import CpsApplication
from drivers.sim.services import apcv_double
from drivers.sim.services.https import HttpsDouble
from drivers.sim.vitale_config import load_vitale_file
from hostd.audit import AuditLog
from hostd.config import CpsSettings
from hostd.services.apcv import ApcvConfigError, ApcvService, ApcvSettings
from hostd.services.cps import CpsService
from hostd.services.jobs import Caller
from hostd.services.readers import NoCard, ReaderHub
from hostd.teleservices import apcv, cps_assertion, soap
from tests import teleservice_support as ts
from tests.card_support import CARDS_DIR, DirectTransport
from tests.hostd_support import cps_config
from tests.rig import EchoCard, PcscRig

SERVER = "apcv.double.test"
LPS = soap.LpsIdentity(idam="AM-TEST-0001", name="Comptoir", version="0.1.0", instance="box-1")
POLICY = soap.CallPolicy(connect_timeout_s=5, read_timeout_s=10, attempts=2, backoff_s=0.05)
READER = "Sim Reader 00 00"
ATR = bytes.fromhex("3BAC00402A00122500648000031000" "9000")
CALLER = Caller("Comptoir 1", "Mme Durand")
PIN = "4739"
PS = apcv.ProfessionnelSante("12345678", "3", "50")
FIXTURE_QR = "APCV1.ZmFtaWxsZS1tYXJ0aW4tZGVtby0wMDAxLXZhbGlkZS1qdXNxdWVuLTIwOTk"
EXPIRED_QR = "APCV1.ZXhwaXJlZS1kZW1vLTAwMDEtcGVyaW1lZS1kZXB1aXMtMjAyMC1zaW11bGF0ZXVy"
T = TypeVar("T")



@dataclass
class Env:
    pki: testpki.TestPki
    double: apcv_double.ApcvDouble
    server: HttpsDouble
    trust: bytes


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    tmp = tmp_path_factory.mktemp("apcv")
    pki = testpki.TestPki.create()
    files = ts.server_files(tmp / "srv", pki, SERVER)
    (tmp / "root.pem").write_bytes(testpki.cert_pem(pki.root.cert))
    (tmp / "personnes.pem").write_bytes(testpki.cert_pem(pki.personnes.cert))
    double = apcv_double.ApcvDouble(tmp / "root.pem", tmp / "personnes.pem")
    server = apcv_double.serve(double, files.chain, files.key)
    yield Env(pki, double, server, testpki.cert_pem(pki.root.cert))
    server.stop()


@dataclass
class Box:
    svc: CpsService
    hub: ReaderHub


@pytest.fixture
def box(env: Env, tmp_path: Path) -> Iterator[Box]:
    card = CpsApplication(replace(cps_config(env.pki), pin=PIN))
    hub = ReaderHub(lambda _r: DirectTransport(card), lambda _k, t: CpsCard(t))
    svc = CpsService(hub, AuditLog.open(tmp_path), CpsSettings(api_pin=True), 5.0)
    hub.add_session_listener(svc.session_ended)
    hub.on_card_inserted(READER, ATR)
    yield Box(svc, hub)
    hub.stop()


def run(env: Env, box: Box, go: Callable[[apcv.ApcvClient, list[Any]], Awaitable[T]],
        *, unlock: bool = True) -> T:
    async def main() -> T:
        if unlock:
            await box.svc.unlock(READER, bytearray(PIN.encode()), CALLER)
        der = await box.svc.certificate(READER, KeyRole.SIGN, CALLER)
        key = cps_assertion.CpsSigningKey(x509.load_der_x509_certificate(der),
                                          cps_assertion.CpsQueueSigner(box.svc, READER, CALLER))
        assertion = await cps_assertion.make_assertion(
            key, cps_assertion.PsIdentity("810001234567", "123456783", "SA05"))
        async with apcv.https_client(env.trust, "127.0.0.1", env.server.port, SERVER) as http:
            client = apcv.ApcvClient(soap.SoapClient(http, str(http.base_url), POLICY), LPS)
            return await go(client, [assertion])

    return asyncio.run(main())


def codes(exc: pytest.ExceptionInfo[soap.SoapFault]) -> tuple[str, ...]:
    return exc.value.service_codes


def test_valid_qr_gives_a_vitale_shaped_read_marked_apcv(env: Env, box: Box) -> None:
    checked = env.double.counters.assertions_checked
    result = run(env, box, lambda c, sec: c.read(PS, FIXTURE_QR, sec))
    assert result.source == "apcv-qr"
    names = [b.prenom for b in result.read.beneficiaries]
    assert len(names) >= 2  # the holder and dependants
    assert result.read.insured.nir.valid
    body = result.to_dict()
    assert body["source"] == "apcv-qr" and body["apcv_context"]["id"].startswith("ctx-")
    assert body["nir_problems"] == [] and len(body["beneficiaries"]) == len(names)
    # Both calls carried the assertion, verified by xmlsec1 on the service side.
    assert env.double.counters.assertions_checked == checked + 2


def test_reused_and_expired_and_unknown_qr_are_refused(env: Env, box: Box) -> None:
    qr = env.double.issue("vitale-famille-martin.toml")
    run(env, box, lambda c, sec: c.read(PS, qr, sec))
    with pytest.raises(soap.SoapFault) as reused:
        run(env, box, lambda c, sec: c.read(PS, qr, sec))
    assert codes(reused) == ("apcv_qr_02",)
    with pytest.raises(soap.SoapFault) as expired:
        run(env, box, lambda c, sec: c.read(PS, EXPIRED_QR, sec))
    assert codes(expired) == ("apcv_qr_03",)
    with pytest.raises(soap.SoapFault) as unknown:
        run(env, box, lambda c, sec: c.read(PS, "APCV1." + "Z" * 60, sec))
    assert codes(unknown) == ("apcv_qr_01",)


def test_expired_context_is_refused_and_destroy_ends_it(env: Env, box: Box) -> None:
    qr = env.double.issue("vitale-lunaire.toml")

    async def read_then_expire(c: apcv.ApcvClient, sec: list[Any]) -> None:
        first = await c.read(PS, qr, sec)
        assert first.read.beneficiaries[0].birth_date.lunar  # kept as read
        env.double.expire_contexts()
        await c.restore(sec, "apcv-qr")

    with pytest.raises(soap.SoapFault) as caught:
        run(env, box, read_then_expire)
    assert codes(caught) == ("apcv_ctx_02",)

    async def read_destroy_restore(c: apcv.ApcvClient, sec: list[Any]) -> None:
        first = await c.read(PS, env.double.issue("vitale-corse-2a.toml"), sec)
        await c.destroy(first.context.identifiant, sec)
        await c.restore(sec, "apcv-qr")

    with pytest.raises(soap.SoapFault) as gone:
        run(env, box, read_destroy_restore)
    assert codes(gone) == ("apcv_ctx_01",)


def test_signer_vitale_signs_the_invoice_hashes(env: Env, box: Box) -> None:
    fse = hashlib.sha256(b"FSE 0001").hexdigest()
    dre = hashlib.sha256(b"DRE 0001").hexdigest()

    async def read_and_sign(c: apcv.ApcvClient, sec: list[Any]) -> apcv.SignedInvoice:
        got = await c.read(PS, env.double.issue("vitale-corse-2b.toml"), sec)
        nir = got.read.insured.nir.text.replace(" ", "")
        return await c.sign(got.context.identifiant,
                            apcv.Facture(nir, fse, dre, 1234, "42"), sec)

    signed = run(env, box, read_and_sign)
    public = x509.load_der_x509_certificate(signed.certificate_der).public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    public.verify(signed.signature, f"268072B30208844|{fse}|{dre}".encode(),
                  padding.PKCS1v15(), hashes.SHA256())


def test_service_fault_is_typed_and_not_retried_for_the_single_use_call(
    env: Env, box: Box
) -> None:
    env.double.unavailable_calls = 1
    qr = env.double.issue("vitale-famille-martin.toml")
    with pytest.raises(soap.SoapFault) as caught:
        run(env, box, lambda c, sec: c.read(PS, qr, sec))
    assert codes(caught) == ("siram_40",) and caught.value.transient
    # The QR was not consumed by the refused call: the patient does not need a new code.
    assert run(env, box, lambda c, sec: c.read(PS, qr, sec)).source == "apcv-qr"


def test_cps_locked_or_pulled_means_nothing_leaves_the_box(env: Env, box: Box) -> None:
    calls = env.double.counters.calls
    with pytest.raises(SecurityNotSatisfied):
        run(env, box, lambda c, sec: c.read(PS, FIXTURE_QR, sec), unlock=False)
    box.hub.on_card_removed(READER)
    with pytest.raises((NoCard, SecurityNotSatisfied)):
        run(env, box, lambda c, sec: c.read(PS, FIXTURE_QR, sec), unlock=False)
    assert env.double.counters.calls == calls


def test_card_pulled_mid_exchange_sends_nothing_unsigned(env: Env, box: Box) -> None:
    """Read, then the CPS is pulled before the context is destroyed: the destroy call needs a
    new assertion, its signature job fails, and no unsigned request reaches the service (the
    context then ends by expiry on the service side)."""
    qr = env.double.issue("vitale-famille-martin.toml")
    sent: list[int] = []

    async def pull_then_destroy(c: apcv.ApcvClient, sec: list[Any]) -> None:
        got = await c.read(PS, qr, sec)
        box.hub.on_card_removed(READER)
        sent.append(env.double.counters.calls)
        der = await box.svc.certificate(READER, KeyRole.SIGN, CALLER)
        key = cps_assertion.CpsSigningKey(x509.load_der_x509_certificate(der),
                                          cps_assertion.CpsQueueSigner(box.svc, READER, CALLER))
        fresh = await cps_assertion.make_assertion(
            key, cps_assertion.PsIdentity("810001234567", "123456783", "SA05"))
        await c.destroy(got.context.identifiant, [fresh])

    with pytest.raises((NoCard, SecurityNotSatisfied)):
        run(env, box, pull_then_destroy)
    assert sent and env.double.counters.calls == sent[0]


def test_a_tampered_assertion_is_refused_by_the_service(env: Env, box: Box) -> None:
    async def tampered(c: apcv.ApcvClient, sec: list[Any]) -> Any:
        sec[0].find(f".//{{{cps_assertion.SAML_NS}}}NameID").text = "899999999999"
        return await c.read(PS, env.double.issue("vitale-famille-martin.toml"), sec)

    with pytest.raises(soap.SoapFault) as caught:
        run(env, box, tampered)
    assert codes(caught) == ("apcv_auth_02",)


def test_requests_the_box_refuses_to_send() -> None:
    with pytest.raises(apcv.ApcvRequestError, match="8 digits"):
        apcv.ProfessionnelSante("1234", "3", "50")
    with pytest.raises(apcv.ApcvRequestError, match="Donnees"):
        apcv.auth_body(PS, "")
    with pytest.raises(apcv.ApcvRequestError, match="NIRAssure"):
        apcv.Facture("123", "0" * 64, "0" * 64, 1, "1")


# -- NFC: the phone as a contactless card, through pcscd ------------------------------------


@pytest.mark.pcsc
def test_nfc_phone_through_pcscd_feeds_the_same_flow(env: Env, box: Box,
                                                     pcsc_rig: PcscRig) -> None:
    phone = load_card(CARDS_DIR / "apcv-nfc-martin.toml")
    reader = pcsc_rig.insert(1, phone)
    with PcscConnection(reader) as conn:
        assert is_contactless_atr(conn.atr)
        donnees = ApcvNfcCard(conn).read_donnees()
    pcsc_rig.remove(1)
    result = run(env, box, lambda c, sec: c.read(PS, donnees, sec, source="apcv-nfc"))
    assert result.source == "apcv-nfc"
    assert result.to_dict()["source"] == "apcv-nfc"
    assert {b.prenom for b in result.read.beneficiaries} == {
        b.prenom for b in load_vitale_file(CARDS_DIR / "vitale-famille-martin.toml")
        .content.beneficiaries}


@pytest.mark.pcsc
def test_nfc_locked_phone_and_other_contactless_card(pcsc_rig: PcscRig) -> None:
    reader = pcsc_rig.insert(1, ApcvNfcApplication(["APCV1.x"], locked=True))
    with PcscConnection(reader) as conn, pytest.raises(PhoneLocked):
        ApcvNfcCard(conn).read_donnees()
    pcsc_rig.remove(1)
    reader = pcsc_rig.insert(1, EchoCard(sw=b"\x6a\x82"))
    with PcscConnection(reader) as conn, pytest.raises(CardProtocolError, match="no ApCV"):
        ApcvNfcCard(conn).read_donnees()
    pcsc_rig.remove(1)


# -- the daemon's service: the shared CPS serves every counter ------------------------------


def test_service_reads_for_two_counters_at_once_each_get_their_patient(
    env: Env, box: Box, tmp_path: Path
) -> None:
    (tmp_path / "trust.pem").write_bytes(env.trust)
    settings = ApcvSettings.from_table({
        "host": "127.0.0.1", "port": env.server.port, "server_name": SERVER,
        "trust": str(tmp_path / "trust.pem"), "identifiant_facturation": "123456783",
        "specialite_amo": "50", "national_id": "810001234567", "idam": "AM-TEST-0001"})
    service = ApcvService(box.svc, settings, POLICY)
    qr_a = env.double.issue("vitale-corse-2a.toml")
    qr_b = env.double.issue("vitale-corse-2b.toml")

    async def both() -> list[Any]:
        await box.svc.unlock(READER, bytearray(PIN.encode()), CALLER)
        return await asyncio.gather(
            service.read(qr_a, reader=READER, caller=Caller("Comptoir 1", "A")),
            service.read(qr_b, reader=READER, caller=Caller("Comptoir 2", "B")))

    a, b = asyncio.run(both())
    assert a.read.beneficiaries[0].nom_usuel == "SANTUCCI"
    assert b.read.beneficiaries[0].nom_usuel == "PAOLI"
    asyncio.run(service.end(a.context.identifiant, reader=READER, caller=CALLER))


def test_apcv_settings_mistakes_are_one_line() -> None:
    with pytest.raises(ApcvConfigError, match=r"apcv\.server_name: missing"):
        ApcvSettings.from_table({"host": "h", "trust": "t", "identifiant_facturation": "1",
                                 "specialite_amo": "50", "national_id": "8100", "idam": "X"})
    with pytest.raises(ApcvConfigError, match="8 digits"):
        ApcvSettings.from_table({"host": "h", "server_name": "s", "trust": "t",
                                 "identifiant_facturation": "12", "specialite_amo": "50",
                                 "national_id": "8100", "idam": "X"})
