"""Shared by the card tests: the sample card files, a direct transport into a simulated card,
and openssl as the independent verifier of card and token signatures."""

from __future__ import annotations

import subprocess
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from drivers.sim.card import SimCard
from drivers.sim.make_sample_cards import CARDS_DIR

__all__ = [
    "CARDS_DIR",
    "LEFEVRE",
    "VITALE_SAMPLES",
    "DirectTransport",
    "openssl_verifies",
    "openssl_verify",
]

LEFEVRE = CARDS_DIR / "cps-titulaire-lefevre.toml"
"""The sample CPS3 with two situations, PIN 1234 and three tries (see docs/card-files.md)."""
VITALE_SAMPLES = sorted(CARDS_DIR.glob("vitale-*.toml"))


class DirectTransport:
    """The driver's ``transmit`` straight into a simulated card's ``process``, with a log of
    the command APDUs so tests can see how the driver talked to the card."""

    def __init__(self, card: SimCard) -> None:
        self.card = card
        self.sent: list[bytes] = []
        card.power_on()

    def transmit(self, apdu: bytes) -> bytes:
        self.sent.append(bytes(apdu))
        return self.card.process(apdu)


def _openssl_dgst_verify(
    cert_der: bytes, data: bytes, signature: bytes, tmp: Path
) -> subprocess.CompletedProcess[str]:
    pub = x509.load_der_x509_certificate(cert_der).public_key()
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    (tmp / "pub.pem").write_bytes(pub.public_bytes(serialization.Encoding.PEM, spki))
    (tmp / "data").write_bytes(data)
    (tmp / "sig").write_bytes(signature)
    return subprocess.run(
        [
            *("openssl", "dgst", "-sha256", "-verify", tmp / "pub.pem"),
            *("-signature", tmp / "sig", tmp / "data"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def openssl_verifies(cert_der: bytes, data: bytes, signature: bytes, tmp: Path) -> bool:
    """Whether ``openssl dgst -sha256 -verify`` accepts an RSA PKCS#1 v1.5 signature of
    ``data`` under the certificate's key (files are written under ``tmp``)."""
    done = _openssl_dgst_verify(cert_der, data, signature, tmp)
    return done.returncode == 0 and "Verified OK" in done.stdout


def openssl_verify(cert_der: bytes, data: bytes, signature: bytes, tmp: Path) -> None:
    """Assert that openssl accepts the signature, showing openssl's output when it does not."""
    done = _openssl_dgst_verify(cert_der, data, signature, tmp)
    assert done.returncode == 0 and "Verified OK" in done.stdout, done.stdout + done.stderr
