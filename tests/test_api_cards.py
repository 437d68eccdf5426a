"""CPS and Vitale through the daemon: real HTTPS, real pcscd + vpcd, simulated cards.

Signatures are verified against the certificate the card itself serves, by openssl and by the
cryptography library; nobody here wrote either verifier.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization

from drivers.sim.timing import Timing
from hostd.auth import Role
from tests.api_cards_support import (
    LOCKED,
    PIN,
    P,
    cert_of,
    insert_cps,
    url,
    verify,
    wait_for_kind,
)
from tests.hostd_support import (
    OPERATOR,
    OPERATOR_NAME,
    Daemon,
    cps_card,
    cps_config,
    start_daemon,
    vitale_card,
)
from tests.rig import PcscRig


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory, pcsc_session_rig: PcscRig) -> Iterator[Daemon]:
    d = start_daemon(tmp_path_factory.mktemp("hostd-cards"))
    try:
        yield d
    finally:
        d.stop()


def test_unlock_holder_and_sign_verified_by_openssl(
    daemon: Daemon, pcsc_rig: PcscRig, tmp_path: Path
) -> None:
    http = daemon.client("Comptoir A")
    reader = insert_cps(pcsc_rig, daemon, http)
    locked = http.post(
        f"{url(reader)}/sign",
        headers=OPERATOR,
        json={"key": "sign", "data_b64": base64.b64encode(b"x").decode()},
    )
    assert locked.status_code == 403 and locked.json()["type"] == P + "cps-locked"

    unlocked = http.post(f"{url(reader)}/unlock", json={"pin": PIN}, headers=OPERATOR)
    assert unlocked.status_code == 200, unlocked.text
    assert unlocked.json()["tries_left"] == 3 and unlocked.json()["unlocked"] is True
    holder = http.get(url(reader), headers=OPERATOR).json()["holder"]
    assert holder["rpps"] == "10001234567" and holder["situations"][0]["finess"] == "750012345"

    document = b"Ordonnance 2026-11-25 Mme X"
    for key in ("sign", "auth"):
        answer = http.post(
            f"{url(reader)}/sign",
            headers=OPERATOR,
            json={"key": key, "data_b64": base64.b64encode(document).decode()},
        )
        assert answer.status_code == 200, answer.text
        signature = base64.b64decode(answer.json()["signature_b64"])
        cert = cert_of(http, reader, key)
        (tmp_path / "pub.pem").write_bytes(
            cert.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        (tmp_path / "doc").write_bytes(document)
        (tmp_path / "sig").write_bytes(signature)
        result = subprocess.run(
            [
                "openssl",
                "dgst",
                "-sha256",
                "-verify",
                tmp_path / "pub.pem",
                "-signature",
                tmp_path / "sig",
                tmp_path / "doc",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0 and "Verified OK" in result.stdout
    digest = hashlib.sha256(b"already hashed by the LGO").digest()
    answer = http.post(
        f"{url(reader)}/sign",
        headers=OPERATOR,
        json={"key": "auth", "digest_b64": base64.b64encode(digest).decode()},
    )
    verify(
        cert_of(http, reader, "auth"),
        base64.b64decode(answer.json()["signature_b64"]),
        b"already hashed by the LGO",
    )

    rows = [r for r in daemon.box.audit.records() if r.action.startswith("cps.sign")]
    assert rows and rows[-1].client == "Comptoir A" and rows[-1].operator == OPERATOR_NAME
    assert rows[-1].target == reader and rows[-1].outcome == "ok"
    lock = http.post(f"{url(reader)}/lock", headers=OPERATOR)
    assert lock.status_code == 200 and lock.json() == LOCKED


def test_ten_counters_sign_concurrently_on_one_cps(daemon: Daemon, pcsc_rig: PcscRig) -> None:
    counters = [daemon.client(f"Comptoir {i:02d}") for i in range(10)]
    reader = insert_cps(pcsc_rig, daemon, counters[0])
    assert (
        counters[0].post(f"{url(reader)}/unlock", json={"pin": PIN}, headers=OPERATOR).status_code
        == 200
    )
    cert = cert_of(counters[0], reader, "sign")

    def work(i: int) -> list[tuple[bytes, bytes]]:
        out = []
        for j in range(3):
            data = f"counter {i} document {j}".encode()
            answer = counters[i].post(
                f"{url(reader)}/sign",
                headers=OPERATOR,
                json={"key": "sign", "data_b64": base64.b64encode(data).decode()},
            )
            assert answer.status_code == 200, answer.text
            out.append((data, base64.b64decode(answer.json()["signature_b64"])))
        return out

    with ThreadPoolExecutor(10) as pool:
        results = [item for chunk in pool.map(work, range(10)) for item in chunk]
    assert len(results) == 30
    for data, signature in results:
        verify(cert, signature, data)
    figures = counters[0].get(f"/v1/readers/{reader}").json()["queue"]
    assert figures["completed"] >= 30 and figures["depth"] == 0


def test_card_pulled_fails_every_queued_job_within_a_second(
    daemon: Daemon, pcsc_rig: PcscRig
) -> None:
    counters = [daemon.client(f"Guichet {i}") for i in range(21)]
    slow = Timing(operation_s={"sign": 0.5})
    reader = insert_cps(pcsc_rig, daemon, counters[0], timing=slow)
    assert (
        counters[0].post(f"{url(reader)}/unlock", json={"pin": PIN}, headers=OPERATOR).status_code
        == 200
    )
    # Each counter's TLS connection is opened before the race: 21 handshakes on a loaded
    # 2-core machine can outlast the first signature, and the queue would never hold 20.
    for counter in counters:
        assert counter.get("/v1/readers").status_code == 200
    answers: list[tuple[float, httpx.Response]] = []
    lock = threading.Lock()

    def sign(i: int) -> None:
        response = counters[i].post(
            f"{url(reader)}/sign",
            headers=OPERATOR,
            json={"key": "sign", "data_b64": base64.b64encode(b"doc").decode()},
        )
        with lock:
            answers.append((time.monotonic(), response))

    threads = [threading.Thread(target=sign, args=(i,)) for i in range(21)]
    for t in threads:
        t.start()
    worker = daemon.box.devices.hub.reader(reader).worker
    deadline = time.monotonic() + 10
    while worker.figures().depth < 20 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert worker.figures().depth == 20
    pulled = time.monotonic()
    pcsc_rig.remove(0, wait=False)
    for t in threads:
        t.join(10)
    removed = [(at, r) for at, r in answers if r.json().get("type") == P + "card-removed"]
    # 20 queued + possibly the one on the card when it left; at most one finished before.
    assert len(removed) >= 20, [r.json() for _, r in answers]
    assert max(at for at, _ in removed) - pulled < 1.0
    assert all(r.status_code == 409 for _, r in removed)
    lease = counters[0].get("/v1/cps").json()
    assert all(entry["reader"] != reader for entry in lease)


def test_wrong_pin_twice_then_the_api_refuses_the_last_try(
    daemon: Daemon, pcsc_rig: PcscRig
) -> None:
    # Two counters (one wrong API PIN each is every client's budget, see the PIN budget test).
    other = daemon.client("Comptoir W2")
    third = daemon.client("Comptoir W3")
    http = daemon.client("Comptoir W")
    reader = insert_cps(pcsc_rig, daemon, http)
    for left, who in ((2, other), (1, third)):
        wrong = who.post(f"{url(reader)}/unlock", json={"pin": "0000"}, headers=OPERATOR)
        assert wrong.status_code == 403
        assert wrong.json()["type"] == P + "wrong-pin" and wrong.json()["tries_left"] == left
    refused = http.post(f"{url(reader)}/unlock", json={"pin": PIN}, headers=OPERATOR)
    assert refused.status_code == 423 and refused.json()["type"] == P + "last-try-refused"
    # The card still has its last try: the refusal spent nothing.
    tries = http.get(f"{url(reader)}/tries-left", headers=OPERATOR)
    assert tries.json() == {"tries_left": 1}
    # The audit log says what the client was told: the same problem slugs.
    rows = [(r.action, r.outcome, r.detail) for r in daemon.box.audit.records()
            if r.client == "Comptoir W"]
    assert rows == [
        ("cps.unlock", "last-try-refused", {"tries_left": 1}),
        ("cps.tries-left", "ok", {}),
    ]


def test_blocked_card_says_so(daemon: Daemon, pcsc_rig: PcscRig) -> None:
    from dataclasses import replace

    http = daemon.client("Comptoir B")
    cfg = replace(cps_config(daemon.pki), pin=PIN, pin_tries_left=0)
    reader = pcsc_rig.insert(0, cps_card(cfg))
    wait_for_kind(http, reader, "cps")
    blocked = http.post(f"{url(reader)}/unlock", json={"pin": PIN}, headers=OPERATOR)
    assert blocked.status_code == 423
    assert blocked.json()["type"] == P + "pin-blocked"


def test_bad_pin_format_is_refused_without_echo(daemon: Daemon, pcsc_rig: PcscRig) -> None:
    http = daemon.client("Comptoir F")
    reader = insert_cps(pcsc_rig, daemon, http)
    for body in ({"pin": "12a4x9"}, {"pin": 4739}, {"pin": "47391111111"}, {"code": "4739"}):
        response = http.post(f"{url(reader)}/unlock", json=body, headers=OPERATOR)
        assert response.status_code in (400, 422), response.text
        assert "4739" not in response.text and "12a4x9" not in response.text
        assert response.headers["content-type"] == "application/problem+json"


def test_pin_never_in_logs_audit_or_responses(
    daemon: Daemon, pcsc_rig: PcscRig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # Eight digits: a 4-digit needle would turn up by chance in the hashes and timestamps.
    secret = "47392816"
    http = daemon.client("Comptoir P")
    reader = insert_cps(pcsc_rig, daemon, http, pin=secret)
    other = daemon.client("Comptoir P2")  # one wrong PIN per counter (PIN budget)
    bodies = []
    for pin, who in (("00000000", http), (secret, other)):
        response = who.post(f"{url(reader)}/unlock", json={"pin": pin}, headers=OPERATOR)
        bodies.append(response.text)
    assert response.status_code == 200, response.text
    bodies.append(http.get("/v1/status").text)
    admin = daemon.client("Titulaire P", role=Role.ADMIN)
    bodies.append(admin.get("/v1/admin/audit", params={"limit": 1000}).text)
    needles = [secret, secret.encode().hex(), secret.encode().hex().upper()]
    for text in [*bodies, caplog.text]:
        assert not any(n in text for n in needles)
    for path in daemon.state.glob("audit.db*"):
        raw = path.read_bytes()
        assert not any(n.encode() in raw for n in needles), path
    assert daemon.box.audit.verify().ok


def test_vitale_read_with_nir_checks(daemon: Daemon, pcsc_rig: PcscRig) -> None:
    http = daemon.client("Comptoir V")
    reader = pcsc_rig.insert(1, vitale_card())
    wait_for_kind(http, reader, "vitale")
    response = http.post(httpx.URL(f"/v1/vitale/{reader}/read").raw_path.decode(), headers=OPERATOR)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    twins = [b for b in body["beneficiaries"] if b["prenom"] in ("Éloïse", "Noël")]
    assert [(b["prenom"], b["rang"]) for b in twins] == [("Éloïse", 1), ("Noël", 2)]
    assert twins[0]["birth_date"] == twins[1]["birth_date"]
    assert body["insured"]["nir"]["valid"] is True and body["nir_problems"] == []
    wrong_kind = http.post(f"{url(reader)}/unlock", json={"pin": PIN}, headers=OPERATOR)
    assert wrong_kind.status_code == 409 and wrong_kind.json()["type"] == P + "no-card"


def test_vitale_read_keeps_lunar_dates_and_reports_a_bad_nir_key(
    daemon: Daemon, pcsc_rig: PcscRig
) -> None:
    http = daemon.client("Comptoir L")
    for card, check in (("vitale-lunaire.toml", "lunar"), ("vitale-nir-cle-fausse.toml", "nir")):
        reader = pcsc_rig.insert(1, vitale_card(card))
        wait_for_kind(http, reader, "vitale")
        response = http.post(
            httpx.URL(f"/v1/vitale/{reader}/read").raw_path.decode(), headers=OPERATOR
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if check == "lunar":
            dates = {b["birth_date"]["text"]: b["birth_date"] for b in body["beneficiaries"]}
            assert dates["19620300"]["lunar"] is True and dates["19620300"]["iso"] is None
            assert dates["19580000"]["lunar"] is True and dates["19580000"]["iso"] is None
        else:
            assert body["insured"]["nir"]["valid"] is False
            assert body["insured"]["nir"]["problem"]
            assert any(p.startswith("insured:") for p in body["nir_problems"])
        pcsc_rig.remove(1)


def test_events_stream_card_insert_and_remove(daemon: Daemon, pcsc_rig: PcscRig) -> None:
    http = daemon.client("Comptoir E")
    seen: list[str] = []

    def listen() -> None:
        with http.stream("GET", "/v1/events", params={"max_seconds": 6}) as stream:
            for line in stream.iter_lines():
                if line.startswith("event: "):
                    seen.append(line.removeprefix("event: "))
                if "card-removed" in seen:
                    return

    listener = threading.Thread(target=listen)
    listener.start()
    time.sleep(0.5)
    pcsc_rig.insert(1, vitale_card())
    pcsc_rig.remove(1)
    listener.join(10)
    assert seen[0] == "snapshot" and "card-inserted" in seen and "card-removed" in seen


def test_metrics_and_status_show_queue_figures(daemon: Daemon, pcsc_rig: PcscRig) -> None:
    http = daemon.client("Comptoir M")
    reader = insert_cps(pcsc_rig, daemon, http)
    http.get(f"{url(reader)}/tries-left", headers=OPERATOR)
    metrics = http.get("/metrics")
    assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
    assert f'comptoir_card_jobs_completed_total{{reader="{reader}"}}' in metrics.text
    assert "# TYPE comptoir_card_queue_depth gauge" in metrics.text
    status = http.get("/v1/status").json()
    entry = next(r for r in status["readers"] if r["name"] == reader)
    assert entry["queue"]["completed"] >= 1 and entry["lease"] == LOCKED
    writer = status["audit"]["writer"]
    assert writer["commits"] >= 1 and writer["rows_written"] >= writer["commits"]
    assert writer["rows_per_commit"] >= 1 and writer["group_max"] >= 1
    assert "# TYPE comptoir_audit_commits_total counter" in metrics.text
    assert "comptoir_audit_rows_written_total " in metrics.text
    # Time in the daemon per route, keyed by the route's template (never the raw path).
    labels = 'listener="api",method="GET",route="/v1/cps/{reader}/tries-left"'
    timed = re.search(rf'comptoir_request_duration_seconds{{{re.escape(labels)},'
                      r'quantile="0.5"} ([0-9.]+)', metrics.text)
    assert timed is not None and 0 < float(timed.group(1)) < 30, metrics.text[-2000:]
    counted = re.search(rf"comptoir_request_duration_seconds_count{{{re.escape(labels)}}} (\d+)",
                        metrics.text)
    assert counted is not None and int(counted.group(1)) >= 1
    assert reader not in "".join(line for line in metrics.text.splitlines()
                                 if line.startswith("comptoir_request_duration"))
    page = http.get("/status")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert reader in page.text and "verrouillée" in page.text


def test_batch_work_waits_behind_every_interactive_counter(
    daemon: Daemon, pcsc_rig: PcscRig
) -> None:
    """A server's signatures run at batch priority, and so does a counter's request that says
    ``X-Comptoir-Priority: batch``: a counter queued after them still goes first."""
    holder = daemon.client("Comptoir P1")
    server = daemon.client("Serveur P", Role.SERVER)
    background = daemon.client("Comptoir P2")
    patient = daemon.client("Comptoir P3")
    reader = insert_cps(pcsc_rig, daemon, holder, timing=Timing(operation_s={"sign": 0.4}))
    assert holder.post(f"{url(reader)}/unlock", json={"pin": PIN},
                       headers=OPERATOR).status_code == 200
    worker = daemon.box.devices.hub.reader(reader).worker
    before = daemon.box.audit.head()[0]
    body = {"key": "sign", "data_b64": base64.b64encode(b"lot").decode()}
    answers: dict[str, int] = {}

    def sign(name: str, http: httpx.Client, headers: dict[str, str]) -> None:
        answers[name] = http.post(f"{url(reader)}/sign", json=body,
                                  headers={**OPERATOR, **headers}).status_code

    def queue(name: str, http: httpx.Client, headers: dict[str, str],
              depth: int) -> threading.Thread:
        thread = threading.Thread(target=sign, args=(name, http, headers))
        thread.start()
        deadline = time.monotonic() + 5
        while worker.figures().depth < depth and time.monotonic() < deadline:
            time.sleep(0.01)
        assert worker.figures().depth >= depth or name == "holder"
        return thread

    threads = [queue("holder", holder, {}, 0)]
    deadline = time.monotonic() + 5
    while not worker.figures().running and time.monotonic() < deadline:
        time.sleep(0.01)
    threads += [queue("server", server, {}, 1),
                queue("background", background, {"X-Comptoir-Priority": "batch"}, 2),
                queue("patient", patient, {}, 3)]
    for thread in threads:
        thread.join(15)
    assert answers == dict.fromkeys(("holder", "server", "background", "patient"), 200)
    signed = [r.client for r in daemon.box.audit.records(after_id=before)
              if r.action == "cps.sign.sign"]
    assert signed == ["Comptoir P1", "Comptoir P3", "Serveur P", "Comptoir P2"]
    refused = patient.post(f"{url(reader)}/sign", json=body,
                           headers={**OPERATOR, "X-Comptoir-Priority": "urgent"})
    assert refused.status_code == 422 and refused.json()["type"] == P + "invalid-request"


def test_caller_that_disconnects_cancels_its_queued_job(daemon: Daemon, pcsc_rig: PcscRig) -> None:
    first = daemon.client("Comptoir Q1")
    impatient = daemon.client("Comptoir Q2", timeout=0.3)
    reader = insert_cps(pcsc_rig, daemon, first, timing=Timing(operation_s={"sign": 1.0}))
    assert (
        first.post(f"{url(reader)}/unlock", json={"pin": PIN}, headers=OPERATOR).status_code == 200
    )
    worker = daemon.box.devices.hub.reader(reader).worker
    before = worker.figures().completed
    body = {"key": "sign", "data_b64": base64.b64encode(b"x").decode()}
    holder = threading.Thread(
        target=lambda: first.post(f"{url(reader)}/sign", json=body, headers=OPERATOR)
    )
    holder.start()
    time.sleep(0.2)  # the first signature is on the card now
    with pytest.raises(httpx.ReadTimeout):
        impatient.post(f"{url(reader)}/sign", json=body, headers=OPERATOR)
    holder.join(10)
    time.sleep(0.3)
    assert worker.figures().completed == before + 1  # only the first one reached the card
    rows = [r for r in daemon.box.audit.records() if r.client == "Comptoir Q2"]
    assert [r.outcome for r in rows if r.action == "cps.sign.sign"] == ["cancelled"]


def test_pcscd_restart_ends_the_session_and_the_card_works_again(
    daemon: Daemon, pcsc_rig: PcscRig
) -> None:
    http = daemon.client("Comptoir R")
    reader = insert_cps(pcsc_rig, daemon, http)
    assert (
        http.post(f"{url(reader)}/unlock", json={"pin": PIN}, headers=OPERATOR).status_code == 200
    )
    pcsc_rig.restart_pcscd()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        # A restarted pcscd powers the card down: the lease must be gone, then the card back.
        entries = http.get("/v1/cps").json()
        if entries and entries[0]["reader"] == reader and not entries[0]["lease"]["unlocked"]:
            break
        time.sleep(0.1)
    assert [(e["reader"], e["lease"], e["pin"]) for e in http.get("/v1/cps").json()] == [
        (reader, LOCKED, "locked")]
    again = http.post(f"{url(reader)}/unlock", json={"pin": PIN}, headers=OPERATOR)
    assert again.status_code == 200, again.text
    signed = http.post(
        f"{url(reader)}/sign",
        headers=OPERATOR,
        json={"key": "sign", "data_b64": base64.b64encode(b"after restart").decode()},
    )
    assert signed.status_code == 200, signed.text
