"""The mTLS API and enrolment over real HTTPS: who gets in, who does not, and when."""

from __future__ import annotations

import ssl
import warnings
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hostd.auth import Role
from tests.hostd_support import OPERATOR, Daemon, start_daemon


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory, pcsc_session_rig: object) -> Iterator[Daemon]:
    d = start_daemon(tmp_path_factory.mktemp("hostd-tls"))
    try:
        yield d
    finally:
        d.stop()


def test_no_client_certificate_is_refused_in_the_handshake(daemon: Daemon) -> None:
    # TLS 1.2: the refusal is inside the handshake itself (in TLS 1.3 the client only learns
    # of it on its first read, as an alert or a close: still no HTTP answer either way).
    ctx = daemon.tls_context()
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    # ConnectError = the handshake itself failed (asyncio closes without an alert).
    with httpx.Client(verify=ctx, timeout=5) as http, pytest.raises(httpx.ConnectError):
        http.get(f"{daemon.api_url}/v1/status")
    with httpx.Client(verify=daemon.tls_context(), timeout=5) as http, \
            pytest.raises((httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)):
        http.get(f"{daemon.api_url}/v1/status")


def test_certificate_from_another_ca_is_refused(daemon: Daemon, tmp_path: Path) -> None:
    # A certificate the box never issued (the TEST IGC-Santé PKI is a real CA, just not ours).
    from cryptography.hazmat.primitives import serialization

    from drivers.sim import testpki

    key = testpki.new_rsa_key()
    cert = testpki.issue(daemon.pki.organisations, key.public_key(),
                         testpki.igc_sante_name("INTRUS", ["3750000009"]),
                         key_usage={"digital_signature"})
    (tmp_path / "c.pem").write_bytes(testpki.cert_pem(cert))
    (tmp_path / "c.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    ctx = daemon.tls_context(tmp_path / "c.pem", tmp_path / "c.key")
    with httpx.Client(verify=ctx, timeout=5) as http, \
            pytest.raises((httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)):
        http.get(f"{daemon.api_url}/v1/status")


def test_enrolled_counter_works_and_tls_is_modern(daemon: Daemon) -> None:
    http = daemon.client("Comptoir 1")
    response = http.get("/v1/status")
    assert response.status_code == 200
    body = response.json()
    assert {"readers", "certificates", "audit"} <= body.keys()
    assert any(c["slot"] == "org-sign" for c in body["certificates"])
    # TLS 1.1 is refused outright.
    ctx = daemon.tls_context()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    with httpx.Client(verify=ctx, timeout=5) as old, pytest.raises(httpx.ConnectError):
        old.get(f"{daemon.api_url}/v1/status")


def test_revoked_client_is_refused_on_its_open_connection(daemon: Daemon) -> None:
    http = daemon.client("Comptoir 2")
    assert http.get("/v1/readers").status_code == 200  # keep-alive connection now open
    assert daemon.admin.revoke("Comptoir 2")
    response = http.get("/v1/readers")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "urn:comptoir:problem:client-revoked"


def test_counter_cannot_call_admin_endpoints_admin_can(daemon: Daemon) -> None:
    counter = daemon.client("Comptoir 3")
    for method, path in (("GET", "/v1/admin/clients"), ("GET", "/v1/admin/audit"),
                         ("POST", "/v1/admin/clients/Comptoir%201/revoke")):
        response = counter.request(method, path, headers=OPERATOR)
        assert response.status_code == 403, path
        assert response.json()["type"] == "urn:comptoir:problem:forbidden"
    admin = daemon.client("Titulaire", Role.ADMIN)
    listed = admin.get("/v1/admin/clients").json()
    assert {"Comptoir 3", "Titulaire"} <= {c["name"] for c in listed}
    code = admin.post("/v1/admin/pairing-codes", json={"name": "Comptoir 9"},
                      headers=OPERATOR)
    assert code.status_code == 200 and len(code.json()["code"]) == 11


def test_server_role_cannot_use_cards(daemon: Daemon) -> None:
    server = daemon.client("Serveur", Role.SERVER)
    response = server.post("/v1/cps/any/lock", headers=OPERATOR)
    assert response.status_code == 403


def test_pairing_code_reused_or_expired_is_refused(daemon: Daemon) -> None:
    code = daemon.pairing_code("Comptoir 4")
    first, _, _ = daemon.enrol(code, "Comptoir 4")
    assert first.status_code == 200
    again, _, _ = daemon.enrol(code, "Comptoir 4b")
    assert again.status_code == 403
    assert again.json()["type"] == "urn:comptoir:problem:pairing-refused"
    assert "already used" in again.json()["detail"]
    expired = daemon.pairing_code("Comptoir 5", ttl_s=1)
    import time

    time.sleep(1.2)
    late, _, _ = daemon.enrol(expired, "Comptoir 5")
    assert late.status_code == 403 and "expired" in late.json()["detail"]
    wrong, _, _ = daemon.enrol("ABCDE-FGHJK", "Comptoir 6")
    assert wrong.status_code == 403 and "unknown" in wrong.json()["detail"]


def test_enrolment_listener_serves_nothing_else(daemon: Daemon) -> None:
    with httpx.Client(verify=daemon.tls_context(), timeout=5) as http:
        assert http.get(f"{daemon.enrol_url}/v1/status").status_code == 404
        assert http.get(f"{daemon.enrol_url}/v1/readers").status_code == 404


def test_card_operations_need_the_operator_header(daemon: Daemon) -> None:
    http = daemon.client("Comptoir 7")
    response = http.post("/v1/cps/x/lock")
    assert response.status_code == 400
    assert response.json()["type"] == "urn:comptoir:problem:operator-required"


def test_enrolment_attempts_are_audited(daemon: Daemon) -> None:
    rows = [r for r in daemon.box.audit.records() if r.action == "client.enrol"]
    assert rows and all(r.client.startswith("peer:127.0.0.1") for r in rows)
    # A success names the client; refusals are counted per source and minute (issue 11).
    assert {r.outcome for r in rows} == {"ok"}
    assert all(r.detail["name"] and r.detail["role"] for r in rows)
    daemon.box.enrol_app.state.service.refusals.flush()
    daemon.box.audit.submit(client="t", operator="-", action="sync", target="-",
                            outcome="ok").result()
    refused = [r for r in daemon.box.audit.records() if r.action == "client.enrol.refused"]
    assert {r.outcome for r in refused} == {"pairing-refused"}
    assert sum(r.detail["count"] for r in refused) >= 3  # reused, expired, unknown
