"""The PKCS#11 CPS backend over the field middleware: OpenSC's opensc-pkcs11.so, in this process,
→ libpcsclite → the rig's pcscd → vpcd → the simulated CPS3. Nothing in OpenSC knows the card
is simulated, so the PIN-flag mapping meets a real PKCS#11 token with a real PIN counter."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from drivers.cards.cps_model import KeyRole
from drivers.cards.cps_pkcs11 import Pkcs11Cps
from drivers.errors import CardError, LastTryRefused, PinBlocked, SecurityNotSatisfied, WrongPin
from drivers.sim.cardfile import load_card
from drivers.sim.cps_app import CpsApplication
from tests.card_support import LEFEVRE, OPENSC_PKCS11, openssl_verify, require_installed
from tests.rig import PcscRig

pytestmark = pytest.mark.pcsc


@pytest.fixture(autouse=True)
def _opensc_installed() -> None:
    require_installed(OPENSC_PKCS11.exists(), str(OPENSC_PKCS11))


@pytest.fixture(scope="module")
def opensc(pcsc_session_rig: PcscRig) -> Iterator[Any]:
    import pkcs11

    lib = pkcs11.lib(str(OPENSC_PKCS11))
    yield lib
    # OpenSC keeps PC/SC handles while initialised; later tests connect exclusively.
    lib.finalize()


@pytest.fixture
def card(pcsc_rig: PcscRig) -> CpsApplication:
    app = load_card(LEFEVRE)
    assert isinstance(app, CpsApplication)
    pcsc_rig.insert(0, app)
    return app


@pytest.fixture
def cps(opensc: Any, card: CpsApplication) -> Iterator[Pkcs11Cps]:
    backend = Pkcs11Cps(OPENSC_PKCS11, lib=opensc)
    yield backend
    backend.close()


def test_holder_and_certificates_through_opensc(cps: Pkcs11Cps, card: CpsApplication) -> None:
    holder = cps.holder()
    assert (holder.nom, holder.prenom, holder.rpps, holder.profession) == (
        "LEFÈVRE",
        "Hélène",
        "10009990001",
        "Pharmacien",
    )
    assert holder.card_serial == "0000420001"  # EF.SN.ICC, as OpenSC reports it
    sign = card.config.sign_cert.public_bytes(serialization.Encoding.DER)
    assert cps.certificate(KeyRole.SIGN) == sign


def test_pin_counter_from_token_flags_down_to_blocked(cps: Pkcs11Cps, card: CpsApplication) -> None:
    assert cps.tries_left() == 3
    with pytest.raises(WrongPin) as first:
        cps.verify_pin(bytearray(b"0000"))
    assert first.value.tries_left == 2 == card.pin_tries_left
    with pytest.raises(WrongPin) as second:
        cps.verify_pin(bytearray(b"0001"))
    assert second.value.tries_left == 1 == card.pin_tries_left
    with pytest.raises(LastTryRefused):
        cps.verify_pin(bytearray(b"1234"))  # even a right PIN: an automated call never tries
    assert card.pin_tries_left == 1
    with pytest.raises(PinBlocked):
        cps.verify_pin(bytearray(b"0002"), from_person=True)
    assert card.pin_tries_left == 0 and cps.tries_left() == 0
    with pytest.raises(PinBlocked):
        cps.verify_pin(bytearray(b"1234"), from_person=True)


def test_auth_signatures_verify_with_openssl(cps: Pkcs11Cps, tmp_path: Path) -> None:
    pin = bytearray(b"1234")
    cps.verify_pin(pin)
    assert pin == bytearray(4)
    data = b"<Assertion ID='vihf-1'/>"
    signature = cps.sign_data(KeyRole.AUTH, data)
    openssl_verify(cps.certificate(KeyRole.AUTH), data, signature, tmp_path)
    assert cps.sign_digest(KeyRole.AUTH, hashlib.sha256(data).digest()) == signature


def test_non_repudiation_key_is_a_clear_error_with_opensc(cps: Pkcs11Cps) -> None:
    # OpenSC 0.23 built with OpenSSL 3 cannot do the IAS-ECC partial hash (docs/cards-cps.md):
    # the backend says so instead of leaking a raw PKCS#11 exception. Fails the day it works.
    cps.verify_pin(bytearray(b"1234"))
    with pytest.raises(CardError, match="cannot sign with the sign key"):
        cps.sign_data(KeyRole.SIGN, b"FSE")


def test_logout_needs_the_pin_again(cps: Pkcs11Cps, card: CpsApplication) -> None:
    cps.verify_pin(bytearray(b"1234"))
    cps.sign_data(KeyRole.AUTH, b"x")
    assert card.sec.pin_verified
    cps.logout()
    # OpenSC's C_Logout alone leaves the card verified; the backend resets it through PC/SC.
    assert not card.sec.pin_verified
    with pytest.raises(SecurityNotSatisfied):
        cps.sign_data(KeyRole.AUTH, b"x")
    cps.verify_pin(bytearray(b"1234"))  # OpenSC recovers from the reset
    assert cps.sign_data(KeyRole.AUTH, b"x")


def test_without_the_reset_opensc_leaves_the_card_unlocked(
    opensc: Any, card: CpsApplication
) -> None:
    # Canary for the reason behind reset_on_logout: fails the day OpenSC's C_Logout suffices.
    cps = Pkcs11Cps(OPENSC_PKCS11, lib=opensc, reset_on_logout=False)
    cps.verify_pin(bytearray(b"1234"))
    cps.logout()
    assert card.sec.pin_verified
