"""OpenSC's own tools (written by no one here) against the simulated CPS3 through the real
pcscd + vpcd stack: how far a field middleware gets with our card model.

What works is asserted here; what stops OpenSC (the non-repudiation key, see the canary test)
is written in docs/cards-cps.md.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from drivers.sim.cardfile import load_card
from drivers.sim.cps_app import CpsApplication
from tests.card_support import LEFEVRE, OPENSC_PKCS11, require_installed
from tests.rig import PcscRig

pytestmark = pytest.mark.pcsc


@pytest.fixture(autouse=True)
def _opensc_installed() -> None:
    require_installed(shutil.which("pkcs15-tool") is not None, "OpenSC (pkcs15-tool)")
    require_installed(OPENSC_PKCS11.exists(), str(OPENSC_PKCS11))


def run(*args: str) -> subprocess.CompletedProcess[str]:
    # PCSCLITE_CSOCK_NAME is in this process's environment (tests/conftest.py), so the tools
    # reach the rig's private pcscd, never the machine's.
    return subprocess.run(args, capture_output=True, text=True, timeout=60)


@pytest.fixture
def cps(pcsc_rig: PcscRig) -> CpsApplication:
    card = load_card(LEFEVRE)
    assert isinstance(card, CpsApplication)
    pcsc_rig.insert(0, card)
    return card


def test_opensc_identifies_the_card_as_ias_ecc_cpx(cps: CpsApplication) -> None:
    atr = run("opensc-tool", "--atr")
    assert "3b:ac:00:40:2a:00:12:25:00:64:80:00:03:10:00:90:00" in atr.stdout.lower()
    name = run("opensc-tool", "--name")
    assert name.returncode == 0 and "IAS-ECC" in name.stdout
    serial = run("opensc-tool", "--serial")
    assert "00 00 42 00 01" in serial.stdout  # EF.SN.ICC read by short EF identifier


def test_pkcs15_dump_lists_pin_keys_and_certificates(cps: CpsApplication) -> None:
    dump = run("pkcs15-tool", "--dump")
    assert dump.returncode == 0, dump.stderr
    out = dump.stdout
    assert "CPS de Hélène LEFÈVRE" in out
    assert "PIN [PIN CPS]" in out and "ascii-numeric" in out
    assert "Private RSA Key [CPS_PRIV_SIG]" in out and "Key ref        : 129 (0x81)" in out
    assert "Private RSA Key [CPS_PRIV_AUT]" in out and "Key ref        : 130 (0x82)" in out
    assert "nonRepudiation" in out and "ModLength      : 2048" in out
    assert "X.509 Certificate [CPS_CERT_SIG]" in out


def test_pkcs15_reads_the_signature_certificate(cps: CpsApplication) -> None:
    done = run("pkcs15-tool", "--read-certificate", "01")
    assert done.returncode == 0, done.stderr
    cert = x509.load_pem_x509_certificate(done.stdout.encode())
    assert cert == cps.config.sign_cert


def test_opensc_pkcs11_login_spends_and_restores_tries(cps: CpsApplication) -> None:
    bad = run("pkcs11-tool", "--module", str(OPENSC_PKCS11), "-l", "--pin", "0000", "-O")
    assert bad.returncode != 0 and "CKR_PIN_INCORRECT" in bad.stdout + bad.stderr
    assert cps.pin_tries_left == 2
    good = run("pkcs11-tool", "--module", str(OPENSC_PKCS11), "-l", "--pin", "1234", "-O")
    assert good.returncode == 0, good.stderr
    assert "CPS_PRIV_SIG" in good.stdout and "non-repudiation" in good.stdout
    assert cps.pin_tries_left == 3


def _pkcs11(*args: str) -> subprocess.CompletedProcess[str]:
    return run("pkcs11-tool", "--module", str(OPENSC_PKCS11), "-l", "--pin", "1234", *args)


def _pub_pem(cert: x509.Certificate, path: Path) -> Path:
    path.write_bytes(
        cert.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return path


def test_opensc_pkcs11_signs_and_deciphers_with_the_auth_key(
    cps: CpsApplication, tmp_path: Path
) -> None:
    data = "Prescription n°7 — délivrée".encode()
    (tmp_path / "data").write_bytes(data)
    digest_info = bytes.fromhex("3031300d060960864801650304020105000420")
    (tmp_path / "di").write_bytes(digest_info + hashlib.sha256(data).digest())
    # CKM_RSA_PKCS: OpenSC uses MSE SET AT + INTERNAL AUTHENTICATE on key 0x82.
    signed = _pkcs11("--sign", "--id", "02", "-m", "RSA-PKCS",
                     "-i", str(tmp_path / "di"), "-o", str(tmp_path / "sig"))  # fmt: skip
    assert signed.returncode == 0, signed.stdout + signed.stderr
    pub = _pub_pem(cps.config.auth_cert, tmp_path / "pub.pem")
    verify = run("openssl", "dgst", "-sha256", "-verify", str(pub),
                 "-signature", str(tmp_path / "sig"), str(tmp_path / "data"))  # fmt: skip
    assert verify.returncode == 0 and "Verified OK" in verify.stdout
    # PSO DECIPHER with command chaining and the IAS-ECC padding indicator.
    enc = run("openssl", "pkeyutl", "-encrypt", "-pubin", "-inkey", str(pub),
              "-in", str(tmp_path / "data"), "-out", str(tmp_path / "ct"))  # fmt: skip
    assert enc.returncode == 0, enc.stderr
    dec = _pkcs11("--decrypt", "--id", "02", "-m", "RSA-PKCS",
                  "-i", str(tmp_path / "ct"), "-o", str(tmp_path / "pt"))  # fmt: skip
    assert dec.returncode == 0, dec.stdout + dec.stderr
    assert (tmp_path / "pt").read_bytes() == data


def test_opensc_cannot_sign_with_the_non_repudiation_key_here(
    cps: CpsApplication, tmp_path: Path
) -> None:
    """Known platform gap, kept as a canary: OpenSC's iasecc driver computes the partial
    SHA-256 for PSO HASH only when built against OpenSSL < 3, and Debian 12 ships OpenSSL 3,
    so C_Sign with CPS_PRIV_SIG fails before any PSO reaches the card. If this starts
    passing, OpenSC changed: update docs/cards-cps.md."""
    (tmp_path / "data").write_bytes(b"ordonnance")
    signed = _pkcs11("--sign", "--id", "01", "-m", "SHA256-RSA-PKCS",
                     "-i", str(tmp_path / "data"), "-o", str(tmp_path / "sig"))  # fmt: skip
    assert signed.returncode != 0
    assert "CKR_FUNCTION_NOT_SUPPORTED" in signed.stdout + signed.stderr
    assert cps.sec.pending_hash is None  # no PSO HASH was ever sent
