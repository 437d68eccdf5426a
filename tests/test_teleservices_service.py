"""TeleservicesService against both doubles through the real tunnel: settings parsing, INS
search in both modes from a carte Vitale beneficiary, DMP calls, and what the audit keeps."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from drivers.cards.cps import CpsCard
from drivers.cards.vitale import VitaleCard
from drivers.errors import SecurityNotSatisfied
from drivers.sim import testpki
from drivers.sim.cardfile import load_card
from drivers.sim.cps_app import CpsApplication
from drivers.sim.services import dmp_double, insi_double
from drivers.sim.services.https import HttpsDouble
from drivers.sim.timing import Timing
from hostd.audit import AuditLog
from hostd.config import CpsSettings
from hostd.outcomes import TELESERVICE_UNAVAILABLE, kind_of
from hostd.pseudonyms import ins_ref, load_pseudonym_key
from hostd.services.cps import CpsService
from hostd.services.jobs import Caller
from hostd.services.readers import ReaderHub
from hostd.services.teleservices import TeleservicesService
from hostd.teleservices import insi, mtls, settings, soap
from hostd.teleservices.errors import TeleserviceUnavailable, TunnelDown
from hostd.teleservices.ins_traits import Traits
from hostd.teleservices.names import Mode
from provisioning.signing import vihf
from provisioning.slots import Slot
from provisioning.store import Store
from tests import teleservice_support as ts
from tests.card_support import CARDS_DIR, DirectTransport
from tests.hostd_support import cps_config

READER = "Sim Reader 00 00"
ATR = bytes.fromhex("3BAC00402A00122500648000031000" "9000")
CALLER = Caller("Comptoir 1", "Mme Durand")
PIN = "4739"
OPERATOR = {"id": "810001234567", "name": "LEFEVRE Hélène", "profession": "21",
            "cnop_section": "G"}


def table(insi_port: int, dmp_port: int) -> dict[str, Any]:
    return {
        "lps_idam": "AM-TEST-0001", "lps_name": "Comptoir", "lps_version": "0.1.0",
        "lps_instance": "box-0001", "billing_id": "0123456789", "secteur_activite": "SA05",
        "structure_id": "3750000001", "dmp_secteur_activite": "SA33^1.2.250.1.71.4.2.4",
        "dmp_homologation_id": "DMP-TEST-0001", "attempts": 2,
        "insi": {"host": "127.0.0.1", "port": insi_port, "server_name": "insi.double.test"},
        "dmp": {"host": "127.0.0.1", "port": dmp_port, "server_name": "dmp.double.test"},
    }


def test_settings_errors_are_one_line_naming_the_key() -> None:
    good = table(9443, 9444)
    parsed = settings.parse(good)
    assert parsed.insi.path == "/ICIR-v1" and parsed.default_mode is Mode.CERTIFICATE
    for change, message in (
        ({"lps_idam": ""}, "teleservices.lps_idam: required text"),
        ({"default_mode": "card"}, "teleservices.default_mode: certificate or cpx"),
        ({"insi": {"host": "h", "port": 0, "server_name": "s"}}, "teleservices.insi.port"),
        ({"colour": "blue"}, "teleservices.colour: unknown key"),
        ({"attempts": 9}, "attempts must be 1 to 5"),
    ):
        with pytest.raises(settings.TeleserviceSettingsError, match=message):
            settings.parse(good | change)


@dataclass
class Env:
    pki: testpki.TestPki
    store: Store
    audit: AuditLog
    hub: ReaderHub
    cps: CpsService
    service: TeleservicesService
    insi_double: insi_double.InsiDouble
    servers: list[HttpsDouble]
    key: bytes


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    pki = testpki.TestPki.create()
    store = ts.box_store(tmp_path / "state", pki)
    (tmp_path / "root.pem").write_bytes(testpki.cert_pem(pki.root.cert))
    (tmp_path / "personnes.pem").write_bytes(testpki.cert_pem(pki.personnes.cert))
    (tmp_path / "org.pem").write_bytes(testpki.cert_pem(pki.organisations.cert))
    fi = ts.server_files(tmp_path / "srv", pki, "insi.double.test")
    fd = ts.server_files(tmp_path / "srv", pki, "dmp.double.test")
    idouble = insi_double.InsiDouble(tmp_path / "root.pem", tmp_path / "personnes.pem")
    servers = [
        insi_double.serve(idouble, fi.chain, fi.key, fi.client_roots),
        dmp_double.serve(dmp_double.DmpDouble(tmp_path / "root.pem", tmp_path / "org.pem"),
                         fd.chain, fd.key, fd.client_roots),
    ]
    cfg = settings.parse(table(servers[0].port, servers[1].port))
    card = CpsApplication(replace(cps_config(pki), pin=PIN))

    hub = ReaderHub(lambda _r: DirectTransport(card), lambda _k, t: CpsCard(t))
    audit = AuditLog.open(tmp_path)
    cps = CpsService(hub, audit, CpsSettings(api_pin=True), 5.0)
    hub.add_session_listener(cps.session_ended)
    hub.on_card_inserted(READER, ATR)
    family = load_card(CARDS_DIR / "vitale-famille-martin.toml", Timing.zero())

    async def read_vitale(reader: str, caller: Caller) -> Any:
        assert reader == "Vitale reader"
        return VitaleCard(DirectTransport(family)).read()

    tunnel = mtls.TokenTlsTunnel(tmp_path / "run", mtls.store_key(store, Slot.ORG_AUTH_CLI),
                                 cfg.endpoints(), mtls.trust_pem(store))
    key = load_pseudonym_key(tmp_path / "secrets")
    service = TeleservicesService(
        cfg, tunnel, lambda ctx: vihf.build_and_sign(store, Slot.ORG_SIGN, ctx), audit, hub, cps,
        read_vitale, key)
    asyncio.run(service.start())
    yield Env(pki, store, audit, hub, cps, service, idouble, servers, key)
    asyncio.run(service.stop())
    hub.stop()
    for s in servers:
        s.stop()
    store.close()


def test_ins_from_the_demo_vitale_in_both_modes_with_minimal_audit(env: Env) -> None:
    async def run() -> tuple[insi.InsAnswer, insi.InsAnswer]:
        cert = await env.service.ins_search(CALLER, vitale=("Vitale reader", 0))
        await env.cps.unlock(READER, bytearray(PIN.encode()), CALLER)
        cpx = await env.service.ins_search(CALLER, vitale=("Vitale reader", 0),
                                           mode=Mode.CPX)
        return cert, cpx

    cert, cpx = asyncio.run(run())
    for answer in (cert, cpx):
        assert answer.found and answer.ins is not None and answer.ins.ins == "284056938104286"
    assert (cert.mode, cpx.mode) == (Mode.CERTIFICATE, Mode.CPX)
    assert env.insi_double.counters.cpx_mode == 1
    rows = [r for r in env.audit.records() if r.action == "insi.search"]
    assert [r.detail["mode"] for r in rows] == ["certificate", "cpx"]
    assert rows[0].detail["ins_ref"] == ins_ref(env.key, "284056938104286")
    text = json.dumps([r.detail for r in env.audit.records()])
    for secret in ("284056938104286", "2840569381042", "LEFEVRE", "BENEDICTE", "1984"):
        assert secret not in text  # no INS, no trait in clear anywhere in the log
    assert any(r.action == "cps.sign.sign" for r in env.audit.records())


def test_faults_and_refusals_are_audited_with_codes(env: Env) -> None:
    with pytest.raises(soap.SoapFault):
        asyncio.run(env.service.ins_search(
            CALLER, traits=Traits.parse("Indisponible", "", "M", "1970-01-01")))
    row = [r for r in env.audit.records() if r.action == "insi.search"][-1]
    assert row.outcome == "teleservice-unavailable" and "insi_102" in row.detail["codes"]
    with pytest.raises(SecurityNotSatisfied):  # card locked: nothing sent
        asyncio.run(env.service.ins_search(
            CALLER, traits=Traits.parse("Dupont", "Jeanne", "F", "1950-03-15"),
            mode=Mode.CPX))
    row = [r for r in env.audit.records() if r.action == "insi.search"][-1]
    assert row.outcome == "cps-locked"  # the same slug the API answers
    assert env.insi_double.counters.cpx_mode == 0


def test_dmp_existence_and_relay_are_audited_without_the_ins(env: Env) -> None:
    found = asyncio.run(env.service.dmp_existence(CALLER, "284056938104286", OPERATOR))
    assert found.found and found.authorization == "VALIDE"
    rows = [r for r in env.audit.records() if r.action == "dmp.existence"]
    assert rows[-1].detail == {"ins_ref": ins_ref(env.key, "284056938104286"), "found": True,
                               "dmp_status": "active"}


def test_a_dead_tunnel_is_restarted_on_the_next_call(env: Env) -> None:
    tunnel = env.service._tunnel
    tunnel._proc.kill()  # type: ignore[union-attr]  # stunnel dies (OOM, crash)
    tunnel._proc.wait(5)  # type: ignore[union-attr]
    assert not tunnel.running
    answer = asyncio.run(env.service.ins_search(
        CALLER, traits=Traits.parse("Dupont", "Jeanne", "F", "1950-03-15")))
    assert answer.found and tunnel.running


def test_a_tunnel_that_cannot_restart_is_a_try_later_problem(
        env: Env, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    tunnel = env.service._tunnel
    tunnel._proc.kill()  # type: ignore[union-attr]
    tunnel._proc.wait(5)  # type: ignore[union-attr]
    with monkeypatch.context() as patched:
        patched.setenv("PATH", str(tmp_path / "no-stunnel-here"))  # the restart fails
        with pytest.raises(TunnelDown, match="tunnel is down: stunnel is not installed") as down:
            asyncio.run(env.service.ins_search(
                CALLER, traits=Traits.parse("Dupont", "Jeanne", "F", "1950-03-15")))
    assert kind_of(down.value) is TELESERVICE_UNAVAILABLE  # 503 with Retry-After, not
    assert not tunnel.running                              # "not configured"
    answer = asyncio.run(env.service.ins_search(  # the next call restarts it
        CALLER, traits=Traits.parse("Dupont", "Jeanne", "F", "1950-03-15")))
    assert answer.found and tunnel.running


def test_try_later_problems_carry_retry_after_and_the_others_do_not() -> None:
    from starlette.requests import Request

    from hostd.api import problems

    request = Request({"type": "http", "method": "POST", "path": "/v1/ins/search",
                       "headers": [], "query_string": b""})
    busy = soap.SoapFault("Receiver", "indisponible", ["siram_40"],
                          [soap.ServiceError("insi_102")])
    refused = soap.SoapFault("Sender", "droits", [], [soap.ServiceError("desir_560")])
    for exc, slug, later in (
        (busy, "teleservice-unavailable", "30"),
        (TunnelDown("the TLS tunnel is down"), "teleservice-unavailable", "30"),
        (soap.SoapTransportError("no answer after 2 attempt(s)"), "teleservice-unreachable",
         "30"),
        (TeleserviceUnavailable("not started"), "teleservice-not-configured", None),
        (refused, "teleservice-fault", None),
    ):
        response = asyncio.run(problems._handle(request, exc))
        assert json.loads(bytes(response.body))["type"] == problems.TYPE_BASE + slug
        assert response.headers.get("retry-after") == later, slug


def test_a_missing_pkcs11_engine_stops_the_daemon_start_in_one_line(tmp_path: Path) -> None:
    from hostd import config, wiring

    store = ts.box_store(tmp_path / "state", testpki.TestPki.create())
    try:
        missing = tmp_path / "engines-3" / "pkcs11.so"
        box = config.from_dict({"state_dir": str(tmp_path / "state"), "teleservices": table(
            9, 9) | {"pkcs11_engine": str(missing)}})
        assert box.teleservices.pkcs11_engine == str(missing)
        with pytest.raises(wiring.StartupError) as failed:
            wiring.teleservice_parts(box, store, None, bytes(32))  # type: ignore[arg-type]  # never called
        assert str(failed.value) == f"[teleservices] pkcs11_engine {missing} is not a file"
        with pytest.raises(config.ConfigError, match="pkcs11_engine: an absolute path"):
            config.from_dict({"teleservices": table(9, 9) | {"pkcs11_engine": "pkcs11.so"}})
    finally:
        store.close()
