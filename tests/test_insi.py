"""INSi client against the INSi double through the real stack: stunnel with the box's key in
SoftHSM2, TLS 1.2 with client certificates, SOAP 1.2 validated against the double's schemas,
the assertion PS made by the simulated CPS through the shared-CPS queue and checked by xmlsec1."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from lxml import etree

from drivers.cards.cps import CpsCard
from drivers.cards.cps_model import KeyRole
from drivers.cards.vitale import VitaleCard
from drivers.cards.vitale_model import VitaleRead
from drivers.errors import SecurityNotSatisfied
from drivers.sim import testpki
from drivers.sim.cardfile import load_card
from drivers.sim.cps_app import CpsApplication
from drivers.sim.services import insi_double
from drivers.sim.services.https import HttpsDouble
from drivers.sim.timing import Timing
from hostd.audit import AuditLog
from hostd.config import CpsSettings
from hostd.services.cps import CpsService
from hostd.services.jobs import Caller
from hostd.services.readers import NoCard, ReaderHub
from hostd.teleservices import cps_assertion, insi, mtls, soap
from hostd.teleservices.ins_traits import LunarBirthDate, Traits, TraitsError, fold
from hostd.teleservices.names import Mode
from provisioning.slots import Slot
from provisioning.store import Store
from tests import teleservice_support as ts
from tests.card_support import CARDS_DIR, DirectTransport
from tests.hostd_support import cps_config

SERVER = "insi.double.test"
LPS = soap.LpsIdentity(idam="AM-TEST-0001", name="Comptoir", version="0.1.0", instance="box-1")
POLICY = soap.CallPolicy(connect_timeout_s=5, read_timeout_s=10, attempts=2, backoff_s=0.05)
READER = "Sim Reader 00 00"
ATR = bytes.fromhex("3BAC00402A00122500648000031000" "9000")
CALLER = Caller("Comptoir 1", "Mme Durand")
PIN = "4739"
T = TypeVar("T")


@dataclass
class Env:
    pki: testpki.TestPki
    store: Store
    double: insi_double.InsiDouble
    server: HttpsDouble
    tunnel: mtls.TokenTlsTunnel
    tmp: Path

    def run(self, make: Callable[[insi.InsiClient], Awaitable[T]],
            tunnel: mtls.TokenTlsTunnel | None = None, lps: soap.LpsIdentity = LPS) -> T:
        tun = tunnel or self.tunnel

        async def go() -> T:
            async with tun.http_client("insi") as http:
                client = insi.InsiClient(soap.SoapClient(http, tun.base_url("insi"), POLICY),
                                         lps, insi_double.PATH)
                return await make(client)

        return asyncio.run(go())


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    tmp = tmp_path_factory.mktemp("insi")
    pki = testpki.TestPki.create()
    store = ts.box_store(tmp / "state", pki)
    files = ts.server_files(tmp / "srv", pki, SERVER)
    (tmp / "root.pem").write_bytes(testpki.cert_pem(pki.root.cert))
    (tmp / "personnes.pem").write_bytes(testpki.cert_pem(pki.personnes.cert))
    double = insi_double.InsiDouble(tmp / "root.pem", tmp / "personnes.pem")
    server = insi_double.serve(double, files.chain, files.key, files.client_roots)
    tunnel = mtls.TokenTlsTunnel(
        tmp / "run", mtls.store_key(store, Slot.ORG_AUTH_CLI),
        [mtls.Endpoint("insi", "127.0.0.1", server.port, SERVER)], mtls.trust_pem(store),
    )
    tunnel.start()
    yield Env(pki, store, double, server, tunnel, tmp)
    tunnel.stop()
    server.stop()
    store.close()


def sent_prenoms(env: Env, since: int) -> list[tuple[str, ...]]:
    out = []
    for r in env.server.requests[since:]:
        body = etree.fromstring(r.body).find(f".//{{{insi.RECSANS_NS}}}RECSANSVITALE")
        out.append(tuple(p.text for p in body.iterfind(f"{{{insi.RECSANS_NS}}}Prenom")))
    return out


def vitale_read(name: str) -> VitaleRead:
    return VitaleCard(DirectTransport(load_card(CARDS_DIR / name, Timing.zero()))).read()


# -- traits --------------------------------------------------------------------------------


def test_traits_are_normalised_as_insi_expects() -> None:
    t = Traits.parse("  Lefèvre–d’Aubigné ", "Bénédicte  Zoë", "f", "1984-05-21", "2a004")
    assert t.nom_naissance == "LEFEVRE-D'AUBIGNE"
    assert t.prenoms == ("BENEDICTE", "ZOE")
    assert (t.sexe, t.lieu_naissance) == ("F", "2A004")
    assert fold("Œdipe Æsa straße") == "OEDIPE AESA STRASSE"
    with pytest.raises(TraitsError, match="NomNaissance"):
        Traits.parse("Dupont2", "Jean", "M", "1950-01-01")
    with pytest.raises(TraitsError, match="calendar"):
        Traits.parse("DUPONT", "JEAN", "M", "1950-02-30")
    with pytest.raises(LunarBirthDate):
        Traits.parse("DUPONT", "JEAN", "M", "1950-00-12")
    with pytest.raises(TraitsError, match="Sexe"):
        Traits.parse("DUPONT", "JEAN", "X", "1950-01-01")


def test_found_on_first_call_with_history_and_traits(env: Env) -> None:
    start = len(env.server.requests)
    traits = Traits.parse("Dupont", "Jeanne Marie", "F", "1950-03-15")
    answer = env.run(lambda c: c.search_traits(traits))
    assert answer.found and answer.calls == 1
    assert answer.ins is not None and answer.ins.ins == "250037505612372"
    assert answer.ins.kind == "NIR"
    assert [(h.ins, h.kind, h.date_fin) for h in answer.history] == [
        ("250039921704507", "NIA", "2003-06-30")]
    assert answer.traits is not None and answer.traits.liste_prenom == "JEANNE MARIE"
    assert sent_prenoms(env, start) == [("JEANNE",)]
    assert answer.to_dict()["ins"]["kind"] == "NIR"


def test_one_call_per_first_name_then_the_list_stopping_on_cr00(env: Env) -> None:
    start = len(env.server.requests)
    answer = env.run(lambda c: c.search_traits(
        Traits.parse("DUPONT", "Marie Jeanne", "F", "1950-03-15")))
    assert answer.found and answer.calls == 2
    assert sent_prenoms(env, start) == [("MARIE",), ("JEANNE",)]
    start = len(env.server.requests)
    answer = env.run(lambda c: c.search_traits(
        Traits.parse("DUPONT", "Paul Jacques", "F", "1950-03-15")))
    assert (answer.code, answer.calls, answer.ins) == ("01", 3, None)
    assert sent_prenoms(env, start) == [("PAUL",), ("JACQUES",), ("PAUL", "JACQUES")]


def test_cr02_is_a_result_and_the_place_of_birth_settles_it(env: Env) -> None:
    answer = env.run(lambda c: c.search_traits(Traits.parse("Nguyen", "An", "M", "2001-01-01")))
    assert answer.code == "02" and answer.ins is None
    answer = env.run(lambda c: c.search_traits(
        Traits.parse("Nguyen", "An", "M", "2001-01-01", "13055")))
    assert answer.found and answer.ins is not None and answer.ins.ins == "101011305565475"


def test_nia_and_test_oid(env: Env) -> None:
    nia = env.run(lambda c: c.search_traits(Traits.parse("Okafor", "Chidi", "M", "1990-02-14")))
    assert nia.ins is not None and (nia.ins.kind, nia.ins.oid) == ("NIA", "1.2.250.1.213.1.4.9")
    test = env.run(lambda c: c.search_traits(Traits.parse("Essai", "Test", "M", "1999-01-01")))
    assert test.ins is not None and test.ins.kind == "NIR (test)"


# -- carte Vitale --------------------------------------------------------------------------


def test_vitale_search_for_each_beneficiary_of_the_demo_card(env: Env) -> None:
    read = vitale_read("vitale-famille-martin.toml")
    found = []
    for i in range(len(read.beneficiaries)):
        q = insi.VitaleQuery.from_read(read, i)
        found.append(env.run(lambda c, q=q: c.search_vitale(q)))
    assert [a.code for a in found] == ["00"] * 4
    assert found[0].ins is not None and found[0].ins.ins == "284056938104286"
    # Twins: same birth date, told apart by the rang.
    assert found[3].traits is not None and found[3].traits.prenom == "NOEL"
    body = etree.fromstring(env.server.requests[-1].body)
    bam = body.find(".//{urn:siram:bam:ctxbam}COUVERTURE")
    assert bam.findtext("{urn:siram:bam:ctxbam}ASSURE/{urn:siram:bam:ctxbam}Id/"
                        "{urn:siram:bam:ctxbam}Num") == "2840569381042"


def test_corsican_nir_through_the_vitale_search(env: Env) -> None:
    q = insi.VitaleQuery.from_read(vitale_read("vitale-corse-2a.toml"), 0)
    answer = env.run(lambda c: c.search_vitale(q))
    assert answer.found and answer.ins is not None and answer.ins.ins == "175062A00401291"
    assert answer.traits is not None and answer.traits.lieu_naissance == "2A004"


def test_lunar_birth_date_is_refused_before_any_call(env: Env) -> None:
    read = vitale_read("vitale-lunaire.toml")
    with pytest.raises(LunarBirthDate, match="lunar"):
        insi.VitaleQuery.from_read(read, 0)


# -- faults --------------------------------------------------------------------------------


def test_unknown_software_fault_carries_siram_100_and_desir_550(env: Env) -> None:
    other = replace(LPS, idam="AM-INCONNU")
    with pytest.raises(soap.SoapFault) as caught:
        env.run(lambda c: c.search_traits(Traits.parse("DUPONT", "JEANNE", "F", "1950-03-15")),
                lps=other)
    assert caught.value.service_codes[:2] == ("siram_100", "desir_550")


def test_unavailable_service_is_retried_within_bounds(env: Env) -> None:
    env.double.unavailable_calls = 1  # the next call fails, the retry succeeds
    answer = env.run(lambda c: c.search_traits(Traits.parse("DUPONT", "JEANNE", "F",
                                                            "1950-03-15")))
    assert answer.found
    before = env.double.counters.calls
    with pytest.raises(soap.SoapFault) as caught:
        env.run(lambda c: c.search_traits(Traits.parse("Indisponible", "", "M", "1970-01-01")))
    assert "insi_102" in caught.value.service_codes and caught.value.transient
    assert env.double.counters.calls - before == POLICY.attempts


def test_cn_rule_answers_desir_560_in_certificate_mode(env: Env) -> None:
    # A certificate for the ORG SIGN key with another CN: still a key in the token.
    pub = env.store.public_key(Slot.ORG_SIGN)
    cert = testpki.issue(env.pki.organisations, pub, testpki.igc_sante_name("PHARMACIE DU MARCHE"),
                         key_usage={"digital_signature"},
                         extended_key_usage=[ExtendedKeyUsageOID.CLIENT_AUTH])
    key = replace(mtls.store_key(env.store, Slot.ORG_SIGN),
                  chain_pem=testpki.cert_pem(cert) + testpki.cert_pem(env.pki.organisations.cert))
    tunnel = mtls.TokenTlsTunnel(
        env.tmp / "run-other", key, [mtls.Endpoint("insi", "127.0.0.1", env.server.port, SERVER)],
        mtls.trust_pem(env.store))
    with tunnel, pytest.raises(soap.SoapFault) as caught:
        env.run(lambda c: c.search_traits(Traits.parse("DUPONT", "JEANNE", "F", "1950-03-15")),
                tunnel=tunnel)
    assert caught.value.service_codes == ("desir_560",)


# -- CPx mode --------------------------------------------------------------------------------



@pytest.fixture
def cps(env: Env, tmp_path: Path) -> Iterator[tuple[CpsService, ReaderHub]]:
    card = CpsApplication(replace(cps_config(env.pki), pin=PIN))
    hub = ReaderHub(lambda _r: DirectTransport(card), lambda _k, t: CpsCard(t))
    svc = CpsService(hub, AuditLog.open(tmp_path), CpsSettings(api_pin=True), 5.0)
    hub.add_session_listener(svc.session_ended)
    hub.on_card_inserted(READER, ATR)
    yield svc, hub
    hub.stop()


async def cpx_search(svc: CpsService, client: insi.InsiClient, traits: Traits) -> Any:
    der = await svc.certificate(READER, KeyRole.SIGN, CALLER)
    key = cps_assertion.CpsSigningKey(x509.load_der_x509_certificate(der),
                                      cps_assertion.CpsQueueSigner(svc, READER, CALLER))
    ps = cps_assertion.PsIdentity("810001234567", "0123456789", "SA05")
    assertion = await cps_assertion.make_assertion(key, ps)
    return await client.search_traits(traits, [assertion])


def test_cpx_mode_with_the_card_unlocked_locked_and_pulled(
    env: Env, cps: tuple[CpsService, ReaderHub]
) -> None:
    svc, hub = cps
    traits = Traits.parse("Martin", "Joël", "M", "1982-11-03")
    before = env.double.counters.cpx_mode
    with pytest.raises(SecurityNotSatisfied):
        env.run(lambda c: cpx_search(svc, c, traits))
    assert env.double.counters.cpx_mode == before  # nothing left the box

    async def unlock_then_search(c: insi.InsiClient) -> Any:
        await svc.unlock(READER, bytearray(PIN.encode()), CALLER)
        return await cpx_search(svc, c, traits)

    answer = env.run(unlock_then_search)
    assert answer.found and answer.mode is Mode.CPX
    assert env.double.counters.cpx_mode == before + 1
    hub.on_card_removed(READER)
    with pytest.raises((NoCard, SecurityNotSatisfied)):
        env.run(lambda c: cpx_search(svc, c, traits))
    assert env.double.counters.cpx_mode == before + 1


def test_a_tampered_assertion_is_refused_by_the_service(
    env: Env, cps: tuple[CpsService, ReaderHub]
) -> None:
    svc, _ = cps

    async def tampered(c: insi.InsiClient) -> Any:
        await svc.unlock(READER, bytearray(PIN.encode()), CALLER)
        der = await svc.certificate(READER, KeyRole.SIGN, CALLER)
        key = cps_assertion.CpsSigningKey(x509.load_der_x509_certificate(der),
                                          cps_assertion.CpsQueueSigner(svc, READER, CALLER))
        assertion = await cps_assertion.make_assertion(
            key, cps_assertion.PsIdentity("810001234567", "0123456789", "SA05"))
        name_id = assertion.find(f".//{{{cps_assertion.SAML_NS}}}NameID")
        name_id.text = "899999999999"
        return await c.search_traits(Traits.parse("Martin", "Joël", "M", "1982-11-03"),
                                     [assertion])

    with pytest.raises(soap.SoapFault) as caught:
        env.run(tampered)
    assert caught.value.service_codes == ("desir_560",)
