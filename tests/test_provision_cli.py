"""``comptoir provision`` driven as a technician would, with one-line errors and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from typer.testing import CliRunner

from drivers.sim import testpki
from hostd.cli import app
from provisioning.ca import LocalCA
from provisioning.clients import ClientRegistry
from provisioning.slots import Slot
from tests.provision_fixtures import bundle, org_certificate

COMPTOIR = Path(sys.executable).parent / "comptoir"


@pytest.fixture(scope="module")
def pki() -> testpki.TestPki:
    return testpki.TestPki.create()


class Technician:
    def __init__(self, state: Path) -> None:
        self.state = state
        self.runner = CliRunner()

    def __call__(
        self, *args: str, code: int = 0, input: str | None = None, now: str | None = None
    ) -> tuple[str, str]:
        argv = ["provision", "--state-dir", str(self.state)]
        if now:
            argv += ["--now", now]
        result = self.runner.invoke(app, [*argv, *args], input=input)
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
        return result.stdout, result.stderr


@pytest.fixture()
def tech(tmp_path: Path) -> Iterator[Technician]:
    yield Technician(tmp_path / "state")


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def issue_from_csr(pki: testpki.TestPki, csr_file: Path, out: Path, **kw: object) -> Path:
    csr = x509.load_pem_x509_csr(csr_file.read_bytes())
    assert csr.is_signature_valid
    cert = org_certificate(
        pki,
        csr.public_key(),
        Slot.ORG_AUTH_CLI,  # type: ignore[arg-type]
        cn=csr.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)[0].value,
        **kw,
    )  # type: ignore[arg-type]
    out.write_bytes(bundle(cert, pki.organisations.cert))
    return out


def test_technician_provisions_a_box_end_to_end(
    tech: Technician, pki: testpki.TestPki, tmp_path: Path
) -> None:
    out, _ = tech("init", "--name", "comptoir.local", "--name", "192.168.1.10")
    assert "Provisioned" in out
    server = x509.load_pem_x509_certificate((tech.state / "tls" / "server.pem").read_bytes())
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["comptoir.local"]
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["192.168.1.10"]
    _, err = tech("init", code=1)
    assert "already provisioned" in one_error_line(err)
    tech("server-cert", "--name", "comptoir.lan")
    server = x509.load_pem_x509_certificate((tech.state / "tls" / "server.pem").read_bytes())
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["comptoir.lan"]

    (tmp_path / "root.pem").write_bytes(testpki.cert_pem(pki.root.cert))
    out, _ = tech("trust", "add", str(tmp_path / "root.pem"))
    assert "TEST AC RACINE IGC-SANTE ELEMENTAIRE" in out
    tech("keygen", "org-auth-cli")
    _, err = tech("keygen", "org-auth-cli", code=3)
    assert "renew" in one_error_line(err)
    _, err = tech("keygen", "org-nothing", code=1)
    assert "unknown slot" in one_error_line(err)

    subject = ["--org", "PHARMACIE DU MARCHE", "--structure-id", "3750000001"]
    _, err = tech("csr", "org-auth-cli", "--cn", "PHARMACIE", *subject, code=1)
    assert "DESIR_560" in one_error_line(err)
    req = tmp_path / "req.pem"
    tech("csr", "org-auth-cli", "--cn", "INSI-AUTO", *subject, "-o", str(req))
    out, _ = tech("csr", "org-auth-cli", "--qr")
    assert "▀" in out or "█" in out  # a QR code drawn with block characters

    stranger = org_certificate(
        pki, rsa.generate_private_key(65537, 2048).public_key(), Slot.ORG_AUTH_CLI
    )
    (tmp_path / "stranger.pem").write_bytes(bundle(stranger, pki.organisations.cert))
    _, err = tech("import", "org-auth-cli", str(tmp_path / "stranger.pem"), code=4)
    assert "does not match" in one_error_line(err)
    _, err = tech("import", "org-auth-cli", str(tmp_path / "missing.pem"), code=1)
    assert "missing.pem" in one_error_line(err)

    cert_file = issue_from_csr(pki, req, tmp_path / "cert.pem", days=365)
    out, _ = tech("import", "org-auth-cli", str(cert_file))
    assert "INSI-AUTO" in out and "chain valid" in out

    out, err = tech("status", "--json")
    slots = {s["slot"]: s for s in json.loads(out)}
    auth = slots["org-auth-cli"]
    assert auth["chain_state"] == "valid" and auth["warnings"] == []
    assert "CN=INSI-AUTO" in auth["subject"] and 360 <= auth["days_left"] <= 365
    assert slots["box-lan"]["chain_state"] == "local"
    assert not slots["org-sign"]["has_key"]
    out, _ = tech("status")
    assert "org-auth-cli" in out and "valid" in out

    not_after = x509.load_pem_x509_certificate(cert_file.read_bytes()).not_valid_after_utc
    soon = (not_after - timedelta(days=20)).isoformat()
    _, err = tech("status", now=soon)
    assert "org-auth-cli" in err and "under 30" in err
    later = (not_after + timedelta(days=1)).isoformat()
    out, _ = tech("status", "--json", now=later)
    assert {s["slot"]: s for s in json.loads(out)}["org-auth-cli"]["chain_state"] == "expired"

    # Renewal: new key and CSR (subject reused), the old certificate stays until import.
    new_req = tmp_path / "renew.pem"
    _, err = tech("renew", "org-auth-cli", "-o", str(new_req))
    assert "stays active" in err
    renewed = x509.load_pem_x509_csr(new_req.read_bytes())
    old = x509.load_pem_x509_certificate(cert_file.read_bytes())
    assert renewed.public_key() != old.public_key()
    assert renewed.subject == x509.load_pem_x509_csr(req.read_bytes()).subject
    out, _ = tech("status", "--json")
    assert {s["slot"]: s for s in json.loads(out)}["org-auth-cli"]["renewal_pending"]
    new_cert = issue_from_csr(pki, new_req, tmp_path / "new.pem")
    tech("import", "org-auth-cli", str(new_cert))
    out, _ = tech("status", "--json")
    auth = {s["slot"]: s for s in json.loads(out)}["org-auth-cli"]
    assert not auth["renewal_pending"] and auth["days_left"] > 1000

    # An expired certificate is refused at import time.
    tech("keygen", "org-sign")
    tech("csr", "org-sign", "--cn", "PHARMACIE DU MARCHE", *subject, "-o", str(req))
    late = issue_from_csr(pki, req, tmp_path / "late.pem", days=10)
    _, err = tech(
        "import",
        "org-sign",
        str(late),
        now=(
            x509.load_pem_x509_certificate(late.read_bytes()).not_valid_after_utc
            + timedelta(days=1)
        ).isoformat(),
        code=4,
    )
    assert "expired" in one_error_line(err)


def test_pkcs12_import_with_password_file(
    tech: Technician, pki: testpki.TestPki, tmp_path: Path
) -> None:
    tech("init")
    (tmp_path / "root.pem").write_bytes(testpki.cert_pem(pki.root.cert))
    tech("trust", "add", str(tmp_path / "root.pem"))
    key = rsa.generate_private_key(65537, 2048)
    cert = org_certificate(pki, key.public_key(), Slot.ORG_SIGN)
    p12 = tmp_path / "org-sign.p12"
    p12.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"sign",
            key,
            cert,
            [pki.organisations.cert],
            serialization.BestAvailableEncryption(b"s3cret-pw"),
        )
    )
    (tmp_path / "wrong").write_text("nope\n")
    _, err = tech(
        "import", "org-sign", str(p12), "--password-file", str(tmp_path / "wrong"), code=4
    )
    assert "wrong password" in one_error_line(err)
    # The typed prompt (on a real terminal) is tested in test_provision_technician.py.
    (tmp_path / "right").write_text("s3cret-pw\n")
    out, _ = tech("import", "org-sign", str(p12), "--password-file", str(tmp_path / "right"))
    assert "PHARMACIE DU MARCHE" in out


def test_pairing_clients_and_revocation(tech: Technician) -> None:
    tech("init")
    out, _ = tech("pair", "--name", "Comptoir 2", "--role", "counter")
    code = next(w for w in out.split() if len(w) == 11 and w[5] == "-")
    _, err = tech("pair", "--name", "x", "--role", "boss", code=1)
    assert "unknown role" in one_error_line(err)
    with ClientRegistry(tech.state) as reg:
        grant = reg.redeem_pairing_code(code)
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        key = ec.generate_private_key(ec.SECP256R1())
        csr = (
            x509.CertificateSigningRequestBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "c2")]))
            .sign(key, hashes.SHA256())
        )
        with LocalCA.open(tech.state) as ca:
            pem = ca.issue_client_certificate(
                csr.public_bytes(serialization.Encoding.PEM), grant.name, grant.role
            )
        client = reg.enrol(grant.name, grant.role, pem)
    out, _ = tech("clients", "--json")
    listed = json.loads(out)
    assert [(c["id"], c["name"], c["revoked_at"]) for c in listed] == [
        (client.id, "Comptoir 2", None)
    ]
    out, _ = tech("clients")
    assert "Comptoir 2" in out and "active" in out
    tech("clients", "revoke", str(client.id))
    out, _ = tech("clients", "--json")
    assert json.loads(out)[0]["revoked_at"] is not None
    # By name, as the API does.
    with ClientRegistry(tech.state) as reg:
        reg.enrol("Comptoir 3", "counter", client_cert_for(tech.state))
    out, _ = tech("clients", "revoke", "Comptoir 3")
    assert "(Comptoir 3) revoked" in out
    _, err = tech("clients", "revoke", "Comptoir 9", code=1)
    assert "no active client named 'Comptoir 9'" in one_error_line(err)
    _, err = tech("clients", "revoke", "4242", code=1)
    assert "no client #4242" in one_error_line(err)


def client_cert_for(state: Path) -> bytes:
    """A client certificate from the box's CA for a fresh EC key (what enrolment makes)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "c")]))
        .sign(key, hashes.SHA256())
    )
    with LocalCA.open(state) as ca:
        return ca.issue_client_certificate(
            csr.public_bytes(serialization.Encoding.PEM), "Comptoir 3", "counter"
        )


def test_zeroize_needs_typed_confirmation(tech: Technician) -> None:
    tech("init")
    tech("keygen", "org-sign")
    _, err = tech("zeroize", input="yes\n", code=1)
    assert "not confirmed" in err
    out, _ = tech("status", "--json")
    assert {s["slot"]: s for s in json.loads(out)}["org-sign"]["has_key"]
    out, _ = tech("zeroize", input="DESTROY\n")
    assert "4 token objects destroyed" in out
    tech("keygen", "org-sign")
    out, _ = tech("zeroize", "--yes-destroy-all-keys")
    assert "2 token objects destroyed" in out
    out, _ = tech("status", "--json")
    assert not any(s["has_key"] for s in json.loads(out))
    assert not (tech.state / "tls" / "server.key").exists()
    # The zeroized box can be provisioned again, with a new local CA.
    old_ca = (tech.state / "tls" / "ca.pem").read_bytes()
    tech("init")
    assert (tech.state / "tls" / "ca.pem").read_bytes() != old_ca
    assert (tech.state / "tls" / "server.key").exists()
    tech("keygen", "org-sign")


def test_real_command_line_errors_are_one_line_with_exit_codes(tmp_path: Path) -> None:
    env = dict(os.environ, COMPTOIR_STATE_DIR=str(tmp_path / "absent"))
    done = subprocess.run(
        [str(COMPTOIR), "provision", "status"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 3
    assert one_error_line(done.stderr) == (
        f"error: {tmp_path / 'absent'} is not provisioned: run `comptoir provision init`"
    )
    done = subprocess.run(
        [str(COMPTOIR), "provision", "--now", "yesterday", "status"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "ISO 8601" in one_error_line(done.stderr)
