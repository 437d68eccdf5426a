"""Shared by the card tests: the sample card files, a direct transport into a simulated card,
and openssl as the independent verifier of card and token signatures."""

from __future__ import annotations

import sysconfig
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from drivers.cards.cps_model import CpsHolder, Situation
from drivers.sim.card import SimCard
from drivers.sim.make_sample_cards import CARDS_DIR
from tests import provision_fixtures

__all__ = [
    "CARDS_DIR",
    "LEFEVRE",
    "VITALE_SAMPLES",
    "DirectTransport",
    "openssl_verifies",
    "openssl_verify",
]

LEFEVRE = CARDS_DIR / "cps-titulaire-lefevre.toml"

OPENSC_PKCS11 = (
    Path("/usr/lib") / (sysconfig.get_config_var("MULTIARCH") or "x86_64-linux-gnu")
    / "opensc-pkcs11.so"
)  # fmt: skip


def require_installed(present: bool, what: str) -> None:
    """A missing tool is a broken set-up, not a reason to pass: ./test.sh installs them all."""
    if not present:
        pytest.fail(f"{what} is missing: ./test.sh installs it (scripts/setup.sh)")


HOLDER = CpsHolder(
    card_serial="0012345678",
    civilite="Mme",
    nom="LEFÈVRE",
    prenom="Hélène",
    rpps="10001234567",
    profession="Pharmacien",
    specialty="Pharmacie d'officine",
    situations=(
        Situation(1, "Pharmacie de la Gare", "750012345", "12345678900012", "Titulaire"),
        Situation(3, "Pharmacie du Marché", "920098765", None, "Titulaire"),
    ),
)
"""A pharmacist with two situations, for cards issued in tests (``issue_cps``)."""
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

    def close(self) -> None:
        self.card.power_off()  # like a reset: the card forgets the verified PIN


def openssl_verifies(cert_der: bytes, data: bytes, signature: bytes, tmp: Path) -> bool:
    """Whether openssl accepts an RSA PKCS#1 v1.5 SHA-256 signature of ``data`` under the
    certificate's key (files are written under ``tmp``)."""
    pub = x509.load_der_x509_certificate(cert_der).public_key()
    assert isinstance(pub, rsa.RSAPublicKey)
    return provision_fixtures.openssl_verifies(pub, data, signature, tmp)


def openssl_verify(cert_der: bytes, data: bytes, signature: bytes, tmp: Path) -> None:
    """Assert that openssl accepts the signature."""
    assert openssl_verifies(cert_der, data, signature, tmp), "openssl rejected the signature"
