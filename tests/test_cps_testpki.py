"""The test IGC-Santé-like hierarchy: openssl accepts its chains, names and clock are honoured."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import pytest
from cryptography.x509.oid import NameOID

from drivers.sim import testpki

FIXED = dt.datetime(2030, 6, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def pki() -> testpki.TestPki:
    return testpki.TestPki.create(clock=lambda: FIXED)


def test_openssl_verifies_an_end_entity_chain(pki: testpki.TestPki, tmp_path: Path) -> None:
    key = testpki.new_rsa_key()
    subject = testpki.cps_subject(
        nom="DUPONT", prenom="Hélène", rpps="10001234567", profession="Pharmacien", signature=True
    )
    cert = testpki.issue(
        pki.personnes,
        key.public_key(),
        subject,
        key_usage={"content_commitment"},
        clock=lambda: FIXED,
    )
    (tmp_path / "root.pem").write_bytes(testpki.cert_pem(pki.root.cert))
    (tmp_path / "inter.pem").write_bytes(testpki.cert_pem(pki.personnes.cert))
    (tmp_path / "other.pem").write_bytes(testpki.cert_pem(pki.organisations.cert))
    (tmp_path / "ee.pem").write_bytes(testpki.cert_pem(cert))

    def openssl_verify(at: dt.datetime, intermediate: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                *("openssl", "verify", "-attime", str(int(at.timestamp()))),
                *("-CAfile", tmp_path / "root.pem", "-untrusted", tmp_path / intermediate),
                tmp_path / "ee.pem",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    ok = openssl_verify(FIXED + dt.timedelta(days=2), "inter.pem")
    assert ok.returncode == 0, ok.stderr
    # Issued by the ORGANISATIONS CA instead, the chain through PERSONNES must fail.
    assert openssl_verify(FIXED + dt.timedelta(days=2), "other.pem").returncode != 0
    # After three years the certificate has expired.
    expired = openssl_verify(FIXED + dt.timedelta(days=3 * 365 + 1), "inter.pem")
    assert expired.returncode != 0 and "expired" in expired.stdout + expired.stderr


def test_names_follow_igc_sante_and_say_test(pki: testpki.TestPki) -> None:
    assert pki.root.name == "TEST AC RACINE IGC-SANTE ELEMENTAIRE"
    assert pki.personnes.name.startswith("TEST ")
    ous = [
        a.value
        for a in pki.organisations.cert.subject.get_attributes_for_oid(
            NameOID.ORGANIZATIONAL_UNIT_NAME
        )
    ]
    assert ous == ["0002 187512751", "IGC-SANTE"]
    assert pki.personnes.cert.issuer == pki.root.cert.subject


def test_save_and_load_round_trip(pki: testpki.TestPki, tmp_path: Path) -> None:
    pki.save(tmp_path)
    again = testpki.TestPki.load(tmp_path)
    assert again.personnes.cert == pki.personnes.cert
    assert again.root.key.private_numbers() == pki.root.key.private_numbers()


def test_bad_key_usage_is_rejected(pki: testpki.TestPki) -> None:
    key = testpki.new_rsa_key()
    with pytest.raises(ValueError, match="unknown key usage"):
        testpki.issue(
            pki.personnes,
            key.public_key(),
            testpki.igc_sante_name("x"),
            key_usage={"key_cert_sign"},
        )
