"""The PKCS#11 CPS backend against a real PKCS#11 module (SoftHSM2) holding a CPS-like token;
signatures checked by openssl against the token's certificates."""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from pkcs11 import TokenFlag

from drivers.cards.cps_model import KeyRole
from drivers.cards.cps_pkcs11 import Pkcs11Cps, holder_from_certificate, tries_from_flags
from drivers.errors import CardError, LastTryRefused, SecurityNotSatisfied, WrongPin
from drivers.sim.testpki import TestPki
from tests.card_support import openssl_verify
from tests.rig import CpsTokenHolder, SoftHsmToken, load_softhsm, provision_cps_token

HOLDER = CpsTokenHolder(nom="DUPONT", prenom="CLAIRE", rpps="10100000001", profession="Pharmacien")


@pytest.fixture(scope="module")
def cps_token(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SoftHsmToken, object]]:
    token = SoftHsmToken.create(tmp_path_factory.mktemp("cps-token"), label="CPS3-SIM")
    lib = load_softhsm(token)
    provision_cps_token(lib, token, TestPki.create(), HOLDER)
    yield token, lib


@pytest.fixture
def cps(cps_token: tuple[SoftHsmToken, object]) -> Iterator[Pkcs11Cps]:
    token, lib = cps_token
    backend = Pkcs11Cps(token.directory / "libsofthsm2.so", token_label=token.label, lib=lib)
    yield backend
    backend.close()


def test_holder_comes_from_the_certificate_and_the_token(
    cps: Pkcs11Cps, cps_token: tuple[SoftHsmToken, object]
) -> None:
    holder = cps.holder()
    assert (holder.nom, holder.prenom, holder.rpps, holder.profession) == (
        "DUPONT",
        "CLAIRE",
        "10100000001",
        "Pharmacien",
    )
    # The token serial as SoftHSM's own tool reports it.
    token, _ = cps_token
    slots = subprocess.run(
        ["softhsm2-util", "--show-slots"],
        env={**os.environ, **token.env},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    assert f"Serial number:    {holder.card_serial}" in slots and len(holder.card_serial) == 16
    assert holder.situations == ()  # not exposed by PKCS#11: documented limit


def test_certificates_by_role_follow_key_usage(cps: Pkcs11Cps) -> None:
    auth = x509.load_der_x509_certificate(cps.certificate(KeyRole.AUTH))
    sign = x509.load_der_x509_certificate(cps.certificate(KeyRole.SIGN))
    assert auth.subject.rfc4514_string().startswith("CN=810100000001/CPS-AUTH")
    assert sign.subject.rfc4514_string().startswith("CN=810100000001/CPS-SIGN")
    assert sign.extensions.get_extension_for_class(x509.KeyUsage).value.content_commitment


def test_signing_needs_the_pin(cps: Pkcs11Cps) -> None:
    with pytest.raises(SecurityNotSatisfied):
        cps.sign_data(KeyRole.SIGN, b"ordonnance")


@pytest.mark.parametrize("role", [KeyRole.AUTH, KeyRole.SIGN])
def test_signatures_verify_with_openssl(cps: Pkcs11Cps, role: KeyRole, tmp_path: Path) -> None:
    pin = bytearray(b"1234")
    cps.verify_pin(pin)
    assert pin == bytearray(4)  # wiped once used
    data = b"<FSE numero='42'/>"
    signature = cps.sign_data(role, data)
    openssl_verify(cps.certificate(role), data, signature, tmp_path)
    # The same signature through the digest path: PKCS#1 v1.5 is deterministic.
    assert cps.sign_digest(role, hashlib.sha256(data).digest()) == signature


def test_wrong_pin_is_wrong_pin_and_wiped(cps: Pkcs11Cps) -> None:
    pin = bytearray(b"9999")
    with pytest.raises(WrongPin) as err:
        cps.verify_pin(pin)
    # SoftHSM2 raises USER_PIN_COUNT_LOW after a failure, as a CPS after one wrong PIN.
    assert err.value.tries_left == 2
    assert cps.tries_left() == 2
    assert pin == bytearray(4)
    with pytest.raises(SecurityNotSatisfied):
        cps.sign_data(KeyRole.AUTH, b"x")
    cps.verify_pin(bytearray(b"1234"))  # a right PIN resets the count
    assert cps.tries_left() == 3


def test_logout_ends_the_session(cps: Pkcs11Cps) -> None:
    cps.verify_pin(bytearray(b"1234"))
    cps.sign_data(KeyRole.AUTH, b"x")
    cps.logout()
    with pytest.raises(SecurityNotSatisfied):
        cps.sign_data(KeyRole.AUTH, b"x")


def test_last_try_is_only_for_the_cardholder(cps_token: tuple[SoftHsmToken, object]) -> None:
    # A token whose PIN allows a single try: an automated caller must not spend it.
    token, lib = cps_token
    single = Pkcs11Cps(token.directory / "x.so", token_label=token.label, lib=lib, max_tries=1)
    pin = bytearray(b"1234")
    with pytest.raises(LastTryRefused):
        single.verify_pin(pin)
    assert pin == bytearray(4)  # refused, and still wiped
    single.verify_pin(bytearray(b"1234"), from_person=True)
    assert single.sign_data(KeyRole.SIGN, b"x")
    single.close()


def test_sign_digest_rejects_a_wrong_length(cps: Pkcs11Cps) -> None:
    cps.verify_pin(bytearray(b"1234"))
    with pytest.raises(ValueError, match="32 bytes"):
        cps.sign_digest(KeyRole.SIGN, b"\x00" * 20)


def test_unknown_token_label_is_a_clear_error(cps_token: tuple[SoftHsmToken, object]) -> None:
    token, lib = cps_token
    with pytest.raises(CardError, match="no CPS token"):
        Pkcs11Cps(token.directory / "x.so", token_label="NOPE", lib=lib)


@pytest.mark.parametrize(
    ("flags", "tries"),
    [
        (0, 3),
        (TokenFlag.USER_PIN_COUNT_LOW, 2),
        (TokenFlag.USER_PIN_COUNT_LOW | TokenFlag.USER_PIN_FINAL_TRY, 1),
        (TokenFlag.USER_PIN_FINAL_TRY, 1),
        (TokenFlag.USER_PIN_LOCKED | TokenFlag.USER_PIN_COUNT_LOW, 0),
    ],
)
def test_tries_left_from_token_flags(flags: int, tries: int) -> None:
    assert tries_from_flags(flags) == tries


def test_certificate_without_rpps_is_rejected(cps: Pkcs11Cps) -> None:
    cert = x509.load_der_x509_certificate(cps.certificate(KeyRole.AUTH))
    assert holder_from_certificate(cert, "1").rpps == "10100000001"
    # An IGC-Santé CA certificate is not a CPS: no holder name, no "8" + RPPS in its CN.
    ca = TestPki.create().personnes.cert
    with pytest.raises(CardError, match=r"no surname|not an RPPS"):
        holder_from_certificate(ca, "1")
