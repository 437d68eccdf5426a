"""CSRs for IGC-Santé, the box's local CA (key in the token) and LAN client enrolment."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from drivers.sim import testpki
from provisioning.ca import LocalCA
from provisioning.certs import public_keys_match
from provisioning.clients import ALPHABET, ClientRegistry, normalize_code
from provisioning.csr import CsrError, CsrSubject, build_csr
from provisioning.errors import CertificateError, PairingError, ProvisioningError
from provisioning.paths import StatePaths
from provisioning.slots import Slot
from provisioning.store import Store
from tests.provision_fixtures import provision, run


@pytest.fixture(scope="module")
def pki() -> testpki.TestPki:
    return testpki.TestPki.create()


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory, pki: testpki.TestPki) -> Iterator[Path]:
    d = tmp_path_factory.mktemp("lan") / "state"
    store = provision(d, pki)
    store.keygen(Slot.ORG_AUTH_CLI)
    store.keygen(Slot.SERV_SSL)
    yield d
    store.close()


@pytest.fixture()
def store(state: Path) -> Iterator[Store]:
    s = Store.open(state)
    yield s
    s.close()


def _csr(name: str = "Comptoir 2", key: object | None = None) -> tuple[bytes, object]:
    key = key or ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .sign(key, hashes.SHA256())
    )  # type: ignore[arg-type]
    return csr.public_bytes(serialization.Encoding.PEM), key


def test_csr_parses_back_with_subject_signature_and_slot_key(store: Store) -> None:
    subject = CsrSubject(
        common_name="INSI-AUTO",
        organization="PHARMACIE DU MARCHE",
        structure_id="3750000001",
        locality="PARIS",
        state="75",
    )
    pem, warnings = build_csr(store, Slot.ORG_AUTH_CLI, subject)
    assert warnings == []
    csr = x509.load_pem_x509_csr(pem)
    assert csr.is_signature_valid
    assert csr.subject.rfc4514_string() == (
        "CN=INSI-AUTO,OU=3750000001,O=PHARMACIE DU MARCHE,L=PARIS,ST=75,C=FR"
    )
    assert isinstance(csr.public_key(), rsa.RSAPublicKey)
    assert csr.public_key().public_numbers() == store.public_key(Slot.ORG_AUTH_CLI).public_numbers()
    assert csr.signature_hash_algorithm is not None
    assert csr.signature_hash_algorithm.name == "sha256"


def test_csr_refuses_auth_cli_not_usable_for_insi(store: Store) -> None:
    bad = CsrSubject(common_name="PHARMACIE", organization="P", structure_id="3750000001")
    with pytest.raises(CsrError, match="DESIR_560"):
        build_csr(store, Slot.ORG_AUTH_CLI, bad)
    forced = CsrSubject(
        common_name="PHARMACIE", organization="P", structure_id="3750000001", not_for_insi=True
    )
    _, warnings = build_csr(store, Slot.ORG_AUTH_CLI, forced)
    assert warnings and "INSi" in warnings[0]
    with pytest.raises(CsrError, match="structure id"):
        build_csr(
            store,
            Slot.ORG_AUTH_CLI,
            CsrSubject(common_name="INSI-MANU", organization="P", structure_id="37 50"),
        )
    with pytest.raises(CsrError, match="host name"):
        build_csr(
            store,
            Slot.SERV_SSL,
            CsrSubject(common_name="not a host", organization="P", structure_id="1"),
        )
    with pytest.raises(CsrError, match="box itself"):
        build_csr(
            store,
            Slot.BOX_LAN,
            CsrSubject(common_name="x.example.fr", organization="P", structure_id="1"),
        )


def test_server_csr_carries_its_host_name(store: Store) -> None:
    pem, _ = build_csr(
        store,
        Slot.SERV_SSL,
        CsrSubject(
            common_name="lgo.pharmacie-du-marche.fr", organization="P", structure_id="3750000001"
        ),
    )
    san = (
        x509.load_pem_x509_csr(pem)
        .extensions.get_extension_for_class(x509.SubjectAlternativeName)
        .value
    )
    assert san.get_values_for_type(x509.DNSName) == ["lgo.pharmacie-du-marche.fr"]


def test_local_ca_key_lives_in_the_token(store: Store, state: Path) -> None:
    ca_cert = store.certificate(Slot.BOX_LAN)
    assert ca_cert is not None
    assert public_keys_match(ca_cert, store.public_key(Slot.BOX_LAN))
    assert (state / "tls" / "ca.pem").read_bytes() == ca_cert.public_bytes(
        serialization.Encoding.PEM
    )
    labels = {o.label for o in store.token_objects() if o.object_class == "PRIVATE_KEY"}
    assert any(label.startswith("comptoir/box-lan/") for label in labels)
    assert not any(p.suffix == ".key" and "ca" in p.name for p in (state / "tls").iterdir())
    assert (state / "tls" / "server.key").stat().st_mode & 0o777 == 0o600
    assert (state / "secrets").stat().st_mode & 0o777 == 0o700
    # The CA may only sign certificates and CRLs; the TLS server key only signs and agrees.
    server = x509.load_pem_x509_certificate((state / "tls" / "server.pem").read_bytes())
    for cert, expected in ((ca_cert, ("key_cert_sign", "crl_sign")),
                           (server, ("digital_signature", "key_agreement"))):  # fmt: skip
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
        assert usage.critical
        bits = ("digital_signature", "content_commitment", "key_encipherment",
                "data_encipherment", "key_agreement", "key_cert_sign", "crl_sign")  # fmt: skip
        assert {b for b in bits if getattr(usage.value, b)} == set(expected)


def test_client_certificate_from_csr_verifies_with_openssl(state: Path, tmp_path: Path) -> None:
    csr_pem, _ = _csr()
    with LocalCA.open(state) as ca:
        pem = ca.issue_client_certificate(csr_pem, "Comptoir 2", "counter", days=30)
        ca_path = ca.ca_cert_path
    cert = x509.load_pem_x509_certificate(pem)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Comptoir 2"
    assert (
        cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value == "counter"
    )
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert (cert.not_valid_after_utc - datetime.now(UTC)) <= timedelta(days=30)
    (tmp_path / "client.pem").write_bytes(pem)
    done = run(
        ["openssl", "verify", "-CAfile", ca_path, "-purpose", "sslclient", tmp_path / "client.pem"]
    )
    assert done.returncode == 0, done.stderr


def test_client_certificate_refuses_bad_requests(state: Path) -> None:
    csr_pem, _ = _csr()
    tampered = x509.load_pem_x509_csr(csr_pem).public_bytes(serialization.Encoding.DER)
    # Flip one bit of the signature (last byte of the DER): proof of possession fails.
    broken = x509.load_der_x509_csr(tampered[:-1] + bytes([tampered[-1] ^ 1]))
    with LocalCA.open(state) as ca:
        with pytest.raises(CertificateError, match="signature"):
            ca.issue_client_certificate(
                broken.public_bytes(serialization.Encoding.PEM), "x", "counter"
            )
        with pytest.raises(CertificateError, match="role"):
            ca.issue_client_certificate(csr_pem, "x", "root")
        with pytest.raises(CertificateError, match="PEM"):
            ca.issue_client_certificate(b"hello", "x", "counter")
        weak, _ = _csr(key=rsa.generate_private_key(65537, 1024))
        with pytest.raises(CertificateError, match="2048"):
            ca.issue_client_certificate(weak, "x", "counter")


def test_mutual_tls_on_loopback_with_box_identity(state: Path, tmp_path: Path) -> None:
    """The files LocalCA writes are what the daemon's TLS server loads: a real handshake."""
    key = ec.generate_private_key(ec.SECP256R1())
    csr_pem, _ = _csr(key=key)
    with LocalCA.open(state) as ca:
        client_pem = ca.issue_client_certificate(csr_pem, "Comptoir 3", "counter")
        paths = (ca.server_cert_path, ca.server_key_path, ca.ca_cert_path)
    (tmp_path / "c.pem").write_bytes(client_pem)
    (tmp_path / "c.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(paths[0], paths[1])
    server_ctx.load_verify_locations(paths[2])
    server_ctx.verify_mode = ssl.CERT_REQUIRED
    client_ctx = ssl.create_default_context(cafile=str(paths[2]))
    client_ctx.load_cert_chain(tmp_path / "c.pem", tmp_path / "c.key")
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)
    port = listener.getsockname()[1]
    seen: list[str] = []

    def serve() -> None:
        conn, _ = listener.accept()
        with server_ctx.wrap_socket(conn, server_side=True) as tls:
            peer = tls.getpeercert()
            seen.append(dict(x[0] for x in peer["subject"])["commonName"])  # type: ignore[index]
            tls.sendall(b"ok")

    t = threading.Thread(target=serve)
    t.start()
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        client_ctx.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        assert tls.recv(2) == b"ok"
    t.join(10)
    listener.close()
    assert seen == ["Comptoir 3"]


def test_pairing_code_is_single_use_and_expires(state: Path) -> None:
    now = [datetime.now(UTC)]
    with ClientRegistry(state, clock=lambda: now[0]) as reg:
        code = reg.create_pairing_code("Comptoir 4", "counter", ttl_s=600)
        plain = normalize_code(code)
        assert len(plain) == 10 and set(plain) <= set(ALPHABET)
        stored = reg._db.rows("SELECT code_hash FROM pairing_codes")
        assert all(plain not in r["code_hash"] for r in stored)
        # Typed in lower case with a space instead of the dash: still the same code.
        grant = reg.redeem_pairing_code(code.lower().replace("-", " "))
        assert (grant.name, grant.role) == ("Comptoir 4", "counter")
        with pytest.raises(PairingError, match="already used"):
            reg.redeem_pairing_code(code)
        with pytest.raises(PairingError, match="unknown"):
            reg.redeem_pairing_code("ZZZZZ-ZZZZZ")
        late = reg.create_pairing_code("Comptoir 5", "server", ttl_s=60)
        now[0] += timedelta(seconds=61)
        with pytest.raises(PairingError, match="expired"):
            reg.redeem_pairing_code(late)
        with pytest.raises(ProvisioningError, match="role"):
            reg.create_pairing_code("x", "superuser")
        with pytest.raises(ProvisioningError, match="lifetime"):
            reg.create_pairing_code("x", "counter", ttl_s=0)


def test_pairing_code_records_until_when_the_enrolment_port_must_open(state: Path) -> None:
    """The box's firewall (a root helper watching this file) opens port 8444 until the latest
    code expires, whether the code came from the console or from the admin API."""
    now = [datetime(2026, 12, 1, 10, 0, 0, tzinfo=UTC)]
    window = StatePaths(state).enrolment_window
    window.unlink(missing_ok=True)  # the state directory is shared with the module's other tests
    with ClientRegistry(state, clock=lambda: now[0]) as reg:
        reg.create_pairing_code("Comptoir 7", "counter", ttl_s=600)
        assert int(window.read_text()) == int(now[0].timestamp()) + 600
        # A shorter code made later does not cut the first one's window short...
        now[0] += timedelta(seconds=10)
        reg.create_pairing_code("Comptoir 8", "counter", ttl_s=60)
        assert int(window.read_text()) == int(now[0].timestamp()) + 590
        # ...a longer one extends it.
        reg.create_pairing_code("Comptoir 9", "admin", ttl_s=3600)
        assert int(window.read_text()) == int(now[0].timestamp()) + 3600
        with pytest.raises(ProvisioningError, match="lifetime"):
            reg.create_pairing_code("x", "counter", ttl_s=0)
        assert int(window.read_text()) == int(now[0].timestamp()) + 3600


def test_enrol_find_by_fingerprint_and_revoke(state: Path) -> None:
    csr_pem, _ = _csr("Comptoir 6")
    with LocalCA.open(state) as ca:
        pem = ca.issue_client_certificate(csr_pem, "Comptoir 6", "admin")
    fp = x509.load_pem_x509_certificate(pem).fingerprint(hashes.SHA256()).hex()
    with ClientRegistry(state) as reg:
        client = reg.enrol("Comptoir 6", "admin", pem)
        assert client.active and client.role == "admin"
        found = reg.by_fingerprint(fp.upper())
        assert found is not None and found.id == client.id
        with pytest.raises(ProvisioningError, match="already enrolled"):
            reg.enrol("Comptoir 6", "admin", pem)
        assert client.id in [c.id for c in reg.list()]
        revoked = reg.revoke(client.id)
        assert not revoked.active
        assert reg.by_fingerprint(fp) is None
        with pytest.raises(ProvisioningError, match="no client"):
            reg.revoke(999_999)
