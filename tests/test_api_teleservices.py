"""/v1/ins/search, /v1/dmp/existence and /v1/dmp/relay through the daemon: real HTTPS with
client certificates, real pcscd + vpcd with the simulated CPS and carte Vitale, stunnel with
the box's keys in SoftHSM2, and the INSi and DMP doubles (xmlsec1, schemas, CN rule)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from drivers.sim import testpki
from drivers.sim.services import dmp_double, dmp_lgo, insi_double
from drivers.sim.services.https import HttpsDouble
from drivers.sim.services.run import DMP_NAME, INSI_NAME, server_files
from tests.api_cards_support import PIN, P, insert_cps, url, wait_for_kind
from tests.hostd_support import OPERATOR, Daemon, start_daemon, vitale_card
from tests.rig import PcscRig
from tests.test_api_contract import OPERATION_IDS, _check_document

DEMO_INS = "284056938104286"


@dataclass
class Env:
    daemon: Daemon
    insi: insi_double.InsiDouble
    servers: list[HttpsDouble]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, pcsc_session_rig: PcscRig) -> Iterator[Env]:
    tmp = tmp_path_factory.mktemp("api-teleservices")
    pki = testpki.TestPki.create()
    root, personnes, org = tmp / "root.pem", tmp / "personnes.pem", tmp / "org.pem"
    root.write_bytes(testpki.cert_pem(pki.root.cert))
    personnes.write_bytes(testpki.cert_pem(pki.personnes.cert))
    org.write_bytes(testpki.cert_pem(pki.organisations.cert))
    idouble = insi_double.InsiDouble(root, personnes)
    servers = [
        insi_double.serve(idouble, *server_files(pki, tmp, INSI_NAME), root),
        dmp_double.serve(dmp_double.DmpDouble(root, org), *server_files(pki, tmp, DMP_NAME),
                         root),
    ]
    table = {
        "lps_idam": "AM-TEST-0001", "lps_name": "Comptoir", "lps_version": "0.1.0",
        "lps_instance": "box-0001", "billing_id": "0123456789", "secteur_activite": "SA05",
        "structure_id": "3750000001", "dmp_secteur_activite": "SA33^1.2.250.1.71.4.2.4",
        "dmp_homologation_id": "DMP-TEST-0001", "attempts": 2,
        "insi": {"host": "127.0.0.1", "port": servers[0].port, "server_name": INSI_NAME},
        "dmp": {"host": "127.0.0.1", "port": servers[1].port, "server_name": DMP_NAME},
    }
    daemon = start_daemon(tmp, pki=pki, org_auth_cli="INSI-AUTO", teleservices=table)
    try:
        yield Env(daemon, idouble, servers)
    finally:
        daemon.stop()
        for s in servers:
            s.stop()


def search(http: Any, **body: Any) -> Any:
    return http.post("/v1/ins/search", json=body, headers=OPERATOR)


def test_ins_from_the_demo_vitale_in_both_modes_and_with_the_card_locked_or_pulled(
    env: Env, pcsc_rig: PcscRig
) -> None:
    http = env.daemon.client("Comptoir A")
    vitale_reader = pcsc_rig.insert(2, vitale_card())
    wait_for_kind(http, vitale_reader, "vitale")
    cert = search(http, vitale={"reader": vitale_reader, "beneficiary": 0}, mode="certificate")
    assert cert.status_code == 200, cert.text
    answer = cert.json()
    assert answer["found"] and answer["ins"]["ins"] == DEMO_INS
    assert answer["ins"]["kind"] == "NIR" and answer["mode"] == "certificate"
    assert answer["traits"]["nom_naissance"] == "LEFEVRE"

    cps_reader = insert_cps(pcsc_rig, env.daemon, http)
    before = env.insi.counters.cpx_mode
    locked = search(http, vitale={"reader": vitale_reader, "beneficiary": 0}, mode="cpx")
    assert locked.status_code == 403 and locked.json()["type"] == P + "cps-locked"
    unlocked = http.post(f"{url(cps_reader)}/unlock", json={"pin": PIN}, headers=OPERATOR)
    assert unlocked.status_code == 200, unlocked.text
    cpx = search(http, vitale={"reader": vitale_reader, "beneficiary": 0}, mode="cpx")
    assert cpx.status_code == 200, cpx.text
    assert cpx.json()["mode"] == "cpx" and cpx.json()["ins"]["ins"] == DEMO_INS
    assert env.insi.counters.cpx_mode == before + 1
    pcsc_rig.remove(0)
    wait_for_kind(http, cps_reader, None)
    pulled = search(http, vitale={"reader": vitale_reader, "beneficiary": 0}, mode="cpx")
    assert pulled.status_code == 409 and pulled.json()["type"] == P + "no-cps-for-cpx"
    named = search(http, vitale={"reader": vitale_reader, "beneficiary": 0}, mode="cpx",
                   cps_reader=cps_reader)
    assert named.status_code == 409 and named.json()["type"] == P + "no-card"
    assert env.insi.counters.cpx_mode == before + 1  # locked or pulled: nothing was sent


def test_traits_results_and_problems(env: Env) -> None:
    http = env.daemon.client("Comptoir B")
    several = search(http, traits={"nom_naissance": "Nguyen", "prenoms": ["An"], "sexe": "M",
                                   "date_naissance": "2001-01-01"})
    assert several.status_code == 200 and several.json()["code"] == "02"
    lunar = search(http, traits={"nom_naissance": "Dupont", "prenoms": ["Jean"], "sexe": "M",
                                 "date_naissance": "1950-00-12"})
    assert lunar.status_code == 422 and lunar.json()["type"] == P + "lunar-birth-date"
    bad = search(http, traits={"nom_naissance": "Dupont3", "sexe": "M",
                               "date_naissance": "1950-01-12"})
    assert bad.status_code == 422 and bad.json()["type"] == P + "invalid-traits"
    busy = search(http, traits={"nom_naissance": "Indisponible", "sexe": "M",
                                "date_naissance": "1970-01-01"})
    assert busy.status_code == 503, busy.text
    problem = busy.json()
    assert problem["type"] == P + "teleservice-unavailable" and "insi_102" in problem["codes"]
    assert busy.headers["content-type"].startswith("application/problem+json")
    assert busy.headers["retry-after"] == "30"  # "try later", said the HTTP way


def test_dmp_existence_and_relay(env: Env) -> None:
    http = env.daemon.client("Comptoir C")
    operator = {"id": "810001234567", "name": "LEFEVRE Hélène", "profession": "21",
                "cnop_section": "G"}
    found = http.post("/v1/dmp/existence", json={"ins": DEMO_INS, "operator": operator},
                      headers=OPERATOR)
    assert found.status_code == 200, found.text
    assert found.json() == {"ins": DEMO_INS, "found": True, "dmp_status": "active",
                            "patient_status": "active", "authorization": "VALIDE"}
    request = (
        b'<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" '
        b'xmlns:wsa="http://www.w3.org/2005/08/addressing"><soap:Header>'
        b"<wsa:Action>urn:ihe:iti:2007:RegistryStoredQuery</wsa:Action></soap:Header>"
        b'<soap:Body><q:AdhocQueryRequest xmlns:q="urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0"/>'
        b"</soap:Body></soap:Envelope>"
    )
    headers = {**OPERATOR, "Content-Type": "application/soap+xml; charset=utf-8",
               "X-Comptoir-Patient-Ins": DEMO_INS, "X-Comptoir-Operator-Id": "810001234567",
               "X-Comptoir-Profession": "21", "X-Comptoir-Cnop-Section": "G"}
    relayed = http.post("/v1/dmp/relay/registry", content=request, headers=headers)
    assert relayed.status_code == 200, relayed.text
    assert relayed.headers["content-type"].startswith("application/soap+xml")
    assert b"RegistryResponse" in relayed.content and b"Success" in relayed.content
    refused = http.post("/v1/dmp/relay/registry", content=request,
                        headers={**headers, "Content-Type": "text/xml"})
    assert refused.status_code == 400 and refused.json()["type"] == P + "bad-dmp-request"


def test_mtom_relay_through_the_daemon_keeps_the_documents_and_audits_no_patient_data(
        env: Env) -> None:
    http = env.daemon.client("Comptoir E")
    boundary = "uuid:0d3e5c7a-1111-4c1e-9d3b-5b8f0d1e2a33"
    # Every byte value, CRLF runs, a lone CR at the end, and a line that starts like this
    # message's delimiter (followed by "X", so not one).
    document = (bytes(range(256)) * 8 + b"\r\n--" + boundary.encode() + b"X\r\n"
                + b"\x00\xff\r\n\r\n\n\r")
    ctype, body = dmp_lgo.iti41_mtom({"Doc01": ("application/pdf", document)}, boundary)
    headers = {**OPERATOR, "Content-Type": ctype, "X-Comptoir-Patient-Ins": DEMO_INS,
               "X-Comptoir-Operator-Id": "810001234567", "X-Comptoir-Profession": "21",
               "X-Comptoir-Cnop-Section": "G"}
    relayed = http.post("/v1/dmp/relay/repository", content=body, headers=headers)
    assert relayed.status_code == 200, relayed.text
    assert relayed.headers["content-type"].startswith("multipart/related")
    digest = f"{len(document)}:{hashlib.sha256(document).hexdigest()}".encode()
    assert b"RegistryResponse" in relayed.content and digest in relayed.content
    without_doc = body[:body.index(f"\r\n--{boundary}\r\nContent-Type: application/pdf"
                                   .encode())] + f"\r\n--{boundary}--\r\n".encode()
    for why, bad_type, bad_body in (
        ("malformed MIME", ctype, body[:body.rindex(b"--uuid:")]),  # no closing delimiter
        ("without a boundary", ctype.split("; boundary=")[0], body),
        ("names no MIME part", ctype, without_doc),
        ("root part is text/plain", ctype, body.replace(b"application/xop+xml; charset",
                                                        b"text/plain; charset", 1)),
    ):
        refused = http.post("/v1/dmp/relay/repository", content=bad_body,
                            headers={**headers, "Content-Type": bad_type})
        assert refused.status_code == 400, (why, refused.text)
        assert refused.json()["type"] == P + "bad-dmp-request" and why in refused.json()["detail"]
        assert "retry-after" not in refused.headers
    rows = [r for r in env.daemon.box.audit.records()
            if r.action == "dmp.relay" and r.client == "Comptoir E"]
    assert [(r.target, r.outcome) for r in rows] == [("dmp/repository", "ok")] + [
        ("dmp/repository", "bad-dmp-request")] * 4
    assert rows[0].detail["mtom"] is True and rows[0].detail["attachments"] == 1
    assert set(rows[0].detail) == {"ins_ref", "bytes", "mtom", "status", "answer_bytes",
                                   "attachments"}
    text = json.dumps([r.detail for r in rows])
    for private in (DEMO_INS, "Doc01", "lgo.example", "LEFEVRE", digest.decode()):
        assert private not in text


def test_openapi_and_audit(env: Env) -> None:
    http = env.daemon.client("Comptoir D")
    spec = http.get("/openapi.json").json()
    # The same contract as every other route: ids, closed typed answers with examples,
    # problems under application/problem+json with an example per status.
    _check_document(spec, OPERATION_IDS)
    ops = {spec["paths"][p]["post"]["operationId"] for p in
           ("/v1/ins/search", "/v1/dmp/existence", "/v1/dmp/relay/{service}")}
    assert ops == {"ins_search", "dmp_existence", "dmp_relay"}
    model = spec["paths"]["/v1/ins/search"]["post"]["responses"]["200"]
    assert model["content"]["application/json"]["schema"]["$ref"].endswith("InsSearchModel")
    responses = spec["paths"]["/v1/ins/search"]["post"]["responses"]
    assert "application/problem+json" in responses["502"]["content"]
    for status in ("503", "504"):  # the "try later" problems document their Retry-After
        assert responses[status]["headers"]["Retry-After"]["schema"]["type"] == "integer"
    assert "headers" not in responses["502"]
    found = search(http, traits={"nom_naissance": "Lefèvre", "prenoms": ["Bénédicte"],
                                 "sexe": "F", "date_naissance": "1984-05-21"})
    assert found.status_code == 200 and found.json()["ins"]["ins"] == DEMO_INS
    operator = {"id": "810001234567", "name": "LEFEVRE Hélène", "profession": "21",
                "cnop_section": "G"}
    dmp = http.post("/v1/dmp/existence", json={"ins": DEMO_INS, "operator": operator},
                    headers=OPERATOR)
    assert dmp.status_code == 200
    rows = list(env.daemon.box.audit.records())
    assert {"insi.search", "dmp.existence"} <= {r.action for r in rows}
    assert any(r.action == "insi.search" and r.client == "Comptoir D" and r.outcome == "ok"
               and r.detail.get("cr") == "00" for r in rows)
    text = json.dumps([r.detail for r in rows])
    assert DEMO_INS not in text and "LEFEVRE" not in text and "1984-05-21" not in text


def test_a_box_without_teleservices_never_loads_their_client() -> None:
    # The routes are always documented (one API contract for every box, answered 503
    # teleservice-not-configured here); the HTTP client behind them is never loaded.
    code = ("import sys, hostd.app, hostd.wiring, hostd.api.problems, hostd.config as c; "
            "c.from_dict({}); print('httpx' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout.strip() == "False"


def test_every_teleservice_model_example_is_valid() -> None:
    from pydantic import BaseModel

    from hostd.api import v1_teleservices

    checked = 0
    for value in vars(v1_teleservices).values():
        if isinstance(value, type) and issubclass(value, BaseModel) and value is not BaseModel:
            extra = value.model_config.get("json_schema_extra") or {}
            for example in extra.get("examples", []) if isinstance(extra, dict) else []:
                value.model_validate(example)
                checked += 1
    assert checked >= 6
