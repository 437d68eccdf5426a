"""Enrolment under attack (issue 11): per-source limits with a global ceiling that never locks
a technician out, refused attempts counted instead of written one by one, and a CSR with a
refused key checked before the pairing code is spent — real enrolment listener, real TLS."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from hostd.audit import AuditLog
from tests.hostd_support import Daemon, start_daemon

P = "urn:comptoir:problem:"


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory, pcsc_session_rig: object) -> Iterator[Daemon]:
    d = start_daemon(tmp_path_factory.mktemp("hostd-enrol"),
                     enrolment={"attempts_per_minute": 12, "attempts_per_source": 5})
    try:
        yield d
    finally:
        d.stop()


def _csr(key: object, name: str = "Comptoir X") -> str:
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
    if isinstance(key, ed25519.Ed25519PrivateKey):
        csr = builder.sign(key, None)
    else:
        csr = builder.sign(key, hashes.SHA256())  # type: ignore[arg-type]
    return csr.public_bytes(serialization.Encoding.PEM).decode()


def _post(daemon: Daemon, source: str, code: str, csr_pem: str) -> httpx.Response:
    transport = httpx.HTTPTransport(verify=daemon.tls_context(), local_address=source)
    with httpx.Client(transport=transport, timeout=10) as http:
        return http.post(f"{daemon.enrol_url}/v1/enrol", json={"code": code, "csr_pem": csr_pem})


def _settle(audit: AuditLog) -> None:
    audit.submit(client="t", operator="-", action="sync", target="-", outcome="ok").result()


GOOD = _csr(ec.generate_private_key(ec.SECP256R1()))


def test_a_refused_csr_key_does_not_spend_the_code(daemon: Daemon) -> None:
    code = daemon.pairing_code("Comptoir K")
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    for key, reason in ((weak, "2048"), (ed25519.Ed25519PrivateKey.generate(), "RSA or EC")):
        r = _post(daemon, "127.0.0.5", code, _csr(key))
        # The CSR's fault, not the code's: 400 bad-csr, and the code is still good after.
        assert r.status_code == 400, r.text
        assert r.json()["type"] == P + "bad-csr" and reason in r.json()["detail"]
    r = _post(daemon, "127.0.0.5", code, GOOD)
    assert r.status_code == 200, r.text


def test_one_hammering_source_does_not_block_another(daemon: Daemon) -> None:
    for _ in range(5):
        assert _post(daemon, "127.0.0.2", "WRONG-CODE1", GOOD).status_code == 403
    r = _post(daemon, "127.0.0.2", "WRONG-CODE1", GOOD)
    assert r.status_code == 429 and r.json()["type"] == P + "rate-limited"
    assert "127.0.0.2" in r.json()["detail"]
    # Another address is untouched by the first one's limit.
    assert _post(daemon, "127.0.0.3", "WRONG-CODE1", GOOD).status_code == 403


def test_the_global_ceiling_still_lets_a_technician_enrol(daemon: Daemon) -> None:
    # Several addresses hammer until the global ceiling (12/min) is reached...
    statuses = [_post(daemon, f"127.0.2.{i}", "WRONG-CODE1", GOOD).status_code
                for i in range(1, 4) for _ in range(5)]
    assert 429 in statuses
    assert _post(daemon, "127.0.2.1", "WRONG-CODE1", GOOD).status_code == 429
    # ...and a technician at another address still gets their first attempt through.
    code = daemon.pairing_code("Comptoir T")
    r = _post(daemon, "127.0.0.9", code, GOOD)
    assert r.status_code == 200, r.text


def test_a_flood_of_refused_attempts_is_counted_not_written_row_by_row(daemon: Daemon) -> None:
    audit = daemon.box.audit
    service = daemon.box.enrol_app.state.service
    service.refusals.flush()
    _settle(audit)
    before = audit.count()
    transport = httpx.HTTPTransport(verify=daemon.tls_context(), local_address="127.0.3.1")
    with httpx.Client(transport=transport, timeout=10) as http:
        answers = [http.post(f"{daemon.enrol_url}/v1/enrol",
                             json={"code": "WRONG-CODE1", "csr_pem": GOOD}).status_code
                   for _ in range(200)]
    assert answers.count(429) >= 195
    _settle(audit)
    assert audit.count() - before == 1  # only the sync row: nothing written per attempt
    service.refusals.flush()
    _settle(audit)
    rows = [r for r in audit.records(after_id=before) if r.action == "client.enrol.refused"]
    assert all(r.client == "peer:127.0.3.1" for r in rows)
    assert len(rows) <= 4  # (rate-limited, pairing-refused) × at most two minutes
    assert sum(r.detail["count"] for r in rows) == 200
    assert audit.verify().ok


def test_a_technician_enrols_more_counters_than_the_limit_from_one_address(
    daemon: Daemon,
) -> None:
    # Valid codes guess nothing: seven counters from one laptop within the minute all enrol
    # (the address's limit is five attempts; wrong codes are what it counts).
    for i in range(7):
        code = daemon.pairing_code(f"Comptoir L{i}")
        r = _post(daemon, "127.0.4.1", code, GOOD)
        assert r.status_code == 200, r.text
