"""Scans through the daemon over mTLS: two pty scanners bound to two counters, the same
ordonnance flagged to both, resumable SSE, image decode, the guard's state, and an ApCV read
from a scan through the shared CPS against the ApCV double."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import cv2
import httpx
import numpy as np
import pytest
import segno
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from drivers.sim import testpki
from drivers.sim.cardfile import load_card
from drivers.sim.scanner import PtyScanner
from drivers.sim.services import apcv_double
from drivers.sim.services.https import HttpsDouble
from hostd.auth import Role
from tests import teleservice_support as ts
from tests.api_cards_support import PIN, P, insert_cps, url, wait_for_kind
from tests.card_support import CARDS_DIR
from tests.hostd_support import OPERATOR, Daemon, start_daemon
from tests.rig import PcscRig
from tests.test_api_contract import OPERATION_IDS, _check_document

ORD = "ORD1:4445556667778889990001"
ORD_ID = "4445556667778889990001"
C1, C2 = "Comptoir 1", "Comptoir 2"


@dataclass
class Env:
    daemon: Daemon
    a: PtyScanner
    b: PtyScanner
    double: apcv_double.ApcvDouble
    server: HttpsDouble
    c1: httpx.Client
    c2: httpx.Client


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, pcsc_session_rig: PcscRig) -> Iterator[Env]:
    tmp = tmp_path_factory.mktemp("api-scans")
    pki = testpki.TestPki.create()
    files = ts.server_files(tmp / "srv", pki, "apcv.double.test")
    (tmp / "root.pem").write_bytes(testpki.cert_pem(pki.root.cert))
    (tmp / "personnes.pem").write_bytes(testpki.cert_pem(pki.personnes.cert))
    double = apcv_double.ApcvDouble(tmp / "root.pem", tmp / "personnes.pem")
    server = apcv_double.serve(double, files.chain, files.key)
    a = PtyScanner(tmp / "scanner-a").plug()
    b = PtyScanner(tmp / "scanner-b").plug()
    daemon = start_daemon(tmp, pki=pki, extra={
        "scan": {"serial": [
            {"name": "scanner-a", "port": str(a.link), "counter": C1},
            {"name": "scanner-b", "port": str(b.link), "counter": C2},
        ]},
        "apcv": {"host": "127.0.0.1", "port": server.port, "server_name": "apcv.double.test",
                 "trust": str(tmp / "root.pem"), "identifiant_facturation": "123456783",
                 "specialite_amo": "50", "national_id": "810001234567",
                 "idam": "AM-TEST-0001"},
    })
    try:
        # A scanner's code is only read once its port is open (pyserial empties the input when
        # it opens): wait for both "connected" events before the tests scan anything.
        hub = daemon.box.api_app.state.ctx.scans
        for counter in (C1, C2):
            wait_for(lambda c=counter: [e for e in hub.after(c, 0).events
                                        if e.type == "device" and e.detail == "connected"],
                     timeout=30)
        yield Env(daemon, a, b, double, server, daemon.client(C1), daemon.client(C2))
    finally:
        daemon.stop()
        server.stop()
        a.unplug()
        b.unplug()


def scans_url(counter: str, tail: str = "") -> str:
    return httpx.URL(f"/v1/counters/{counter}/scans{tail}").raw_path.decode()


def wait_for(predicate: Any, timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise TimeoutError("condition not met")


def sse(http: httpx.Client, counter: str, *, seconds: float, after: int | None = None,
        last_event_id: str | None = None) -> list[tuple[str, str, dict[str, Any]]]:
    params: dict[str, Any] = {"max_seconds": seconds}
    if after is not None:
        params["after"] = after
    headers = {"Last-Event-ID": last_event_id} if last_event_id is not None else {}
    out = []
    with http.stream("GET", scans_url(counter, "/events"), params=params,
                     headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        ident, event = "", ""
        for line in response.iter_lines():
            if line.startswith("id: "):
                ident = line[4:]
            elif line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                out.append((ident, event, json.loads(line[6:])))
    return out


def test_same_ordonnance_at_two_counters_flagged_to_both_and_resumable(env: Env) -> None:
    start = env.c1.get(scans_url(C1), params={"limit": 1}).json()
    since = start[0]["id"] if start else 0
    env.a.scan(ORD)
    first = wait_for(lambda: [e for e in env.c1.get(scans_url(C1)).json()
                              if e["scan"]["text"] == ORD])
    env.b.scan(ORD, chunks=3)
    # Counter 2 resumes from before the scans and misses nothing.
    events = sse(env.c2, C2, seconds=1.5, after=since)
    kinds = [(e, d["scan"]["kind"] if d["scan"] else d["alert"]["reason"]) for _, e, d in events
             if e in ("scan", "guard")]
    assert kinds == [("scan", "ordonnance"), ("guard", "open-at-another-counter")]
    # Counter 1, the holder, got the same alert in its own stream.
    c1_events = sse(env.c1, C1, seconds=1.0, after=first[0]["id"])
    alerts = [d["alert"] for _, e, d in c1_events if e == "guard"]
    assert alerts and alerts[0]["holder"] == C1 and alerts[0]["counters"] == [C1, C2]
    # Reconnecting with the first event's id (Last-Event-ID) gives the rest, same ids.
    ids = [i for i, _, _ in events]
    again = sse(env.c2, C2, seconds=1.0, last_event_id=ids[0])
    assert [i for i, _, _ in again] == ids[1:]
    # An id from another run of the daemon is not taken for this one's: the client is told
    # events may be lost, then gets everything this run still holds.
    epoch, _, seq = ids[0].rpartition("-")
    foreign = sse(env.c2, C2, seconds=1.0, last_event_id=f"0000beef-{seq}")
    assert foreign[0][1] == "gap" and set(ids) <= {i for i, _, _ in foreign}
    assert all(i.startswith(epoch + "-") for i, _, _ in foreign)

    state = env.c1.get("/v1/ordonnances").json()
    assert [(d["prescription_id"], d["counter"], d["alerts"]) for d in state] == [
        (ORD_ID, C1, 1)]
    refused = env.c2.post(f"/v1/ordonnances/{ORD_ID}/finished", headers=OPERATOR)
    assert refused.status_code == 409 and refused.json()["type"] == P + "not-holder"
    done = env.c1.post(f"/v1/ordonnances/{ORD_ID}/finished", headers=OPERATOR)
    assert done.status_code == 200 and done.json()["counter"] == C1
    assert env.c1.get("/v1/ordonnances").json() == []
    gone = env.c1.post(f"/v1/ordonnances/{ORD_ID}/abandoned", headers=OPERATOR)
    assert gone.status_code == 404 and gone.json()["type"] == P + "dispensation-not-open"


def test_a_counter_sees_only_its_own_counter(env: Env) -> None:
    answer = env.c1.get(scans_url(C2))
    assert answer.status_code == 403
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["type"] == P + "counter-forbidden"
    admin = env.daemon.client("Technicien", Role.ADMIN)
    assert admin.get(scans_url(C2)).status_code == 200


def _png(text: str | None) -> bytes:
    frame = np.full((480, 640), 200, np.uint8)
    if text:
        m = np.pad(np.array([list(r) for r in segno.make_qr(text).matrix]), 4)
        code = np.kron(np.where(m > 0, 20, 240).astype(np.uint8), np.ones((5, 5), np.uint8))
        frame[40 : 40 + code.shape[0], 60 : 60 + code.shape[1]] = code
    ok, png = cv2.imencode(".png", frame)
    assert ok
    return png.tobytes()


def test_image_post_decodes_into_scans_and_refuses_bad_images(env: Env) -> None:
    apcv = "APCV1." + "Q" * 48
    answer = env.c1.post(scans_url(C1, "/image"), content=_png(apcv),
                         headers={"Content-Type": "image/png"})
    assert answer.status_code == 200, answer.text
    assert [(e["type"], e["scan"]["kind"], e["scan"]["text"]) for e in answer.json()] == [
        ("scan", "apcv", apcv)]
    assert env.c1.post(scans_url(C1, "/image"), content=_png(None),
                       headers={"Content-Type": "image/png"}).json() == []
    for body, ctype, status, slug in (
        (b"GIF89a", "image/gif", 415, "image-type"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "image/png", 422, "image-unreadable"),
        (b"\xff\xd8\xff" + b"\0" * (8 * 1024 * 1024), "image/jpeg", 413, "image-too-large"),
    ):
        bad = env.c1.post(scans_url(C1, "/image"), content=body, headers={"Content-Type": ctype})
        assert bad.status_code == status, bad.text
        assert bad.headers["content-type"] == "application/problem+json"
        assert bad.json()["type"] == P + slug


@pytest.mark.pcsc
def test_apcv_read_from_a_scan_through_the_shared_cps(env: Env, pcsc_rig: PcscRig) -> None:
    reader = insert_cps(pcsc_rig, env.daemon, env.c2)
    # The CPS is unlocked by counter 2; counter 1 reads an ApCV through it.
    assert env.c2.post(f"{url(reader)}/unlock", json={"pin": PIN},
                       headers=OPERATOR).status_code == 200
    qr = env.double.issue("vitale-famille-martin.toml")
    env.a.scan(qr)
    scan = wait_for(lambda: [e for e in env.c1.get(scans_url(C1)).json()
                             if e["scan"]["text"] == qr])[0]
    assert scan["scan"]["kind"] == "apcv"
    read = env.c1.post(f"/v1/counters/{httpx.URL(C1).raw_path.decode()}/apcv/reads",
                       json={"scan_id": scan["id"], "cps_reader": reader}, headers=OPERATOR)
    assert read.status_code == 200, read.text
    body = read.json()
    assert body["source"] == "apcv-qr" and body["card"]["card_type"] == "ApCV"
    assert len(body["beneficiaries"]) >= 2 and body["nir_problems"] == []
    again = env.c1.post(f"/v1/counters/{C1}/apcv/reads",
                        json={"scan_id": scan["id"], "cps_reader": reader}, headers=OPERATOR)
    assert again.status_code == 422 and again.json()["service_codes"] == ["apcv_qr_02"]
    env.a.scan(ORD)
    ordo = wait_for(lambda: [e for e in env.c1.get(scans_url(C1)).json()
                             if e["scan"]["text"] == ORD and e["id"] > scan["id"]])[0]
    wrong = env.c1.post(f"/v1/counters/{C1}/apcv/reads",
                        json={"scan_id": ordo["id"], "cps_reader": reader}, headers=OPERATOR)
    assert wrong.status_code == 409 and wrong.json()["type"] == P + "not-apcv"
    fse, dre = hashlib.sha256(b"FSE 7").hexdigest(), hashlib.sha256(b"DRE 7").hexdigest()
    nir = body["insured"]["nir"]["text"].replace(" ", "")
    signed = env.c1.post(f"/v1/apcv/contexts/{body['apcv_context']['id']}/sign", json={
        "cps_reader": reader, "nir_assure": nir, "donnee_fse": fse, "donnee_dre": dre,
        "montant_total_cents": 2350, "numero_facture": "7"}, headers=OPERATOR)
    assert signed.status_code == 200, signed.text
    gie = x509.load_pem_x509_certificate(signed.json()["certificate_pem"].encode()).public_key()
    assert isinstance(gie, rsa.RSAPublicKey)
    gie.verify(base64.b64decode(signed.json()["signature_b64"]), f"{nir}|{fse}|{dre}".encode(),
               padding.PKCS1v15(), hashes.SHA256())
    bad = env.c1.post(f"/v1/apcv/contexts/{body['apcv_context']['id']}/sign", json={
        "cps_reader": reader, "nir_assure": "123", "donnee_fse": fse, "donnee_dre": dre,
        "montant_total_cents": 1, "numero_facture": "7"}, headers=OPERATOR)
    assert bad.status_code == 422 and bad.json()["type"] == P + "apcv-refused"
    ended = env.c1.delete(f"/v1/apcv/contexts/{body['apcv_context']['id']}",
                          params={"cps_reader": reader}, headers=OPERATOR)
    assert ended.status_code == 200 and ended.json() == {"id": body["apcv_context"]["id"],
                                                         "ended": True}
    # Each exchange is in the audit log with the slug the counter got, after the CPS's own
    # signature rows.
    rows = [(r.action, r.outcome) for r in env.daemon.box.audit.records()
            if r.action.startswith(("apcv.", "cps.sign"))]
    assert ("apcv.read", "ok") in rows and ("apcv.read", "apcv-refused") in rows
    assert ("apcv.sign", "ok") in rows  # an invalid invoice is refused before any exchange
    assert ("apcv.end", "ok") in rows
    assert rows.index(("apcv.read", "ok")) > next(
        i for i, r in enumerate(rows) if r[0].startswith("cps.sign"))
    pcsc_rig.remove(0)


def test_the_scan_and_apcv_routes_are_in_the_openapi_contract(env: Env) -> None:
    spec = env.c1.get("/openapi.json").json()
    _check_document(spec, OPERATION_IDS)  # the ApCV operations are there on every box
    image = spec["paths"]["/v1/counters/{counter}/scans/image"]["post"]
    assert {"413", "415", "422"} <= set(image["responses"])


@pytest.mark.pcsc
def test_apcv_read_from_a_phone_on_a_contactless_reader(env: Env, pcsc_rig: PcscRig) -> None:
    reader = insert_cps(pcsc_rig, env.daemon, env.c2)
    assert env.c2.post(f"{url(reader)}/unlock", json={"pin": PIN},
                       headers=OPERATOR).status_code == 200
    phone = pcsc_rig.insert(1, load_card(CARDS_DIR / "apcv-nfc-martin.toml"))
    wait_for_kind(env.c1, phone, "contactless")
    read = env.c1.post(f"/v1/counters/{C1}/apcv/reads",
                       json={"nfc_reader": phone, "cps_reader": reader}, headers=OPERATOR)
    assert read.status_code == 200, read.text
    assert read.json()["source"] == "apcv-nfc" and len(read.json()["beneficiaries"]) >= 2
    assert ("apcv.nfc", "ok") in [(r.action, r.outcome)
                                  for r in env.daemon.box.audit.records()]
    both = env.c1.post(f"/v1/counters/{C1}/apcv/reads",
                       json={"nfc_reader": phone, "scan_id": 1, "cps_reader": reader},
                       headers=OPERATOR)
    assert both.status_code == 400 and both.json()["type"] == P + "bad-request"
    pcsc_rig.remove(1)
    pcsc_rig.remove(0)
