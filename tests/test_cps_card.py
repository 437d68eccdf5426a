"""The CPS driver against the simulated CPS3, over a direct transport (zero timing).

Every signature is checked by openssl against the certificate read from the card, so the card,
the driver and the PKI must agree with a verifier nobody here wrote.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import padding
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers import apdu
from drivers.apdu import Command
from drivers.cards import cps_files as F
from drivers.cards.cps import CpsCard, PukBlocked, WrongPuk
from drivers.cards.cps_model import KeyRole
from drivers.errors import LastTryRefused, PinBlocked, SecurityNotSatisfied, WrongPin
from drivers.sim import testpki
from drivers.sim.cps_app import CpsApplication, CpsCardConfig
from drivers.sim.cps_issue import issue_cps
from tests.card_support import HOLDER, DirectTransport, openssl_verifies


@pytest.fixture(scope="module")
def config() -> CpsCardConfig:
    return issue_cps(testpki.TestPki.create(), HOLDER)


@pytest.fixture
def sim(config: CpsCardConfig) -> CpsApplication:
    return CpsApplication(config)


@pytest.fixture
def card(sim: CpsApplication) -> CpsCard:
    return CpsCard(DirectTransport(sim))


def pin(text: str = "1234") -> bytearray:
    return bytearray(text.encode())


def test_identity_is_free_and_situations_need_the_pin(card: CpsCard) -> None:
    ident = card.identity()
    assert (ident.nom, ident.prenom, ident.rpps) == ("LEFÈVRE", "Hélène", "10001234567")
    assert ident.situations == ()
    with pytest.raises(SecurityNotSatisfied):
        card.holder()
    card.verify_pin(pin())
    assert card.holder() == HOLDER


def test_certificates_chain_to_the_personnes_ca(card: CpsCard, config: CpsCardConfig) -> None:
    for role in KeyRole:
        cert = x509.load_der_x509_certificate(card.certificate(role))
        assert cert.issuer == config.auth_cert.issuer
        assert "TEST AC IGC-SANTE ELEMENTAIRE PERSONNES" in cert.issuer.rfc4514_string()
    sign = x509.load_der_x509_certificate(card.certificate(KeyRole.SIGN))
    assert sign.extensions.get_extension_for_class(x509.KeyUsage).value.content_commitment


@pytest.mark.parametrize("role", list(KeyRole))
def test_signatures_verify_with_openssl(card: CpsCard, role: KeyRole, tmp_path: Path) -> None:
    card.verify_pin(pin())
    cert = card.certificate(role)
    # 200 bytes: three full SHA-256 blocks hashed on the host, the tail on the card.
    message = "Ordonnance n°42 — délivrée".encode() * 6
    sig = card.sign_data(role, message)
    assert openssl_verifies(cert, message, sig, tmp_path)
    sig2 = card.sign_digest(role, hashlib.sha256(message).digest())
    assert openssl_verifies(cert, message, sig2, tmp_path)
    assert not openssl_verifies(cert, message + b"x", sig, tmp_path)


@pytest.mark.parametrize("size", [0, 63, 64, 65, 128])
def test_card_finishes_the_hash_at_block_boundaries(
    card: CpsCard, size: int, tmp_path: Path
) -> None:
    card.verify_pin(pin())
    data = bytes(range(256))[:size]
    sig = card.sign_data(KeyRole.SIGN, data)
    assert openssl_verifies(card.certificate(KeyRole.SIGN), data, sig, tmp_path)


def test_keys_refuse_without_pin(card: CpsCard) -> None:
    for role in KeyRole:
        with pytest.raises(SecurityNotSatisfied):
            card.sign_data(role, b"x")
    with pytest.raises(SecurityNotSatisfied):
        card.decipher(bytes(256))


def test_decipher_and_internal_authenticate(card: CpsCard, config: CpsCardConfig) -> None:
    card.verify_pin(pin())
    ct = config.auth_cert.public_key().encrypt(b"cle de session", padding.PKCS1v15())  # type: ignore[union-attr]
    assert card.decipher(ct) == b"cle de session"
    # Input above 40 % of the 256-byte modulus (102 bytes) is refused by the card.
    with pytest.raises(apdu.WrongLength):
        card.internal_authenticate(bytes(103))
    assert len(card.internal_authenticate(bytes(102))) == 256


def test_wrong_pin_down_to_blocked_then_puk_unblock(card: CpsCard) -> None:
    assert card.tries_left() == 3
    with pytest.raises(WrongPin) as e1:
        card.verify_pin(pin("0000"))
    assert e1.value.tries_left == 2
    with pytest.raises(WrongPin):
        card.verify_pin(pin("0000"))
    # Last try: refused to an automated caller without touching the card.
    with pytest.raises(LastTryRefused):
        card.verify_pin(pin("0000"))
    assert card.tries_left() == 1
    with pytest.raises(PinBlocked):
        card.verify_pin(pin("0000"), from_person=True)
    assert card.tries_left() == 0
    with pytest.raises(PinBlocked):
        card.verify_pin(pin("1234"), from_person=True)
    with pytest.raises(WrongPuk) as wp:
        card.unblock(bytearray(b"00000000"))
    assert wp.value.tries_left == 2
    card.unblock(bytearray(b"12345678"), new_pin=pin("4321"))
    assert card.tries_left() == 3
    card.verify_pin(pin("4321"))
    assert card.holder().situations == HOLDER.situations


def test_correct_pin_resets_the_counter(card: CpsCard) -> None:
    with pytest.raises(WrongPin):
        card.verify_pin(pin("9999"))
    card.verify_pin(pin())
    assert card.tries_left() == 3


def test_ten_unblocks_in_a_life(config: CpsCardConfig) -> None:
    sim = CpsApplication(replace(config, unblocks_left=2))
    card = CpsCard(DirectTransport(sim))
    card.unblock(bytearray(b"12345678"))
    card.unblock(bytearray(b"12345678"))
    with pytest.raises(PukBlocked):
        card.unblock(bytearray(b"12345678"))
    assert CpsApplication(config).unblocks_left == 10


def test_puk_blocks_after_three_wrong(card: CpsCard) -> None:
    for left in (2, 1):
        with pytest.raises(WrongPuk) as e:
            card.unblock(bytearray(b"00000000"))
        assert e.value.tries_left == left
    with pytest.raises(PukBlocked):
        card.unblock(bytearray(b"00000000"))
    with pytest.raises(PukBlocked):
        card.unblock(bytearray(b"12345678"))


def test_power_off_and_logout_lose_the_pin(sim: CpsApplication, card: CpsCard) -> None:
    card.verify_pin(pin())
    card.sign_data(KeyRole.AUTH, b"a")
    sim.power_off()
    sim.power_on()
    with pytest.raises(SecurityNotSatisfied):
        card.sign_data(KeyRole.AUTH, b"a")
    card.verify_pin(pin())
    card.logout()
    with pytest.raises(SecurityNotSatisfied):
        card.sign_data(KeyRole.SIGN, b"a")
    with pytest.raises(SecurityNotSatisfied):
        card.holder()  # situations are not served from a cache after logout


def test_pin_is_wiped_and_never_on_display(card: CpsCard) -> None:
    secret = pin("1234")
    card.verify_pin(secret)
    assert secret == bytearray(4)
    bad = pin("12a4")
    with pytest.raises(ValueError, match="PIN must be 4 to 8 digits") as exc:
        card.verify_pin(bad)
    assert "12a4" not in str(exc.value) and bad == bytearray(4)
    wrong = pin("9876")
    with pytest.raises(WrongPin) as wp:
        card.verify_pin(wrong)
    assert "9876" not in str(wp.value) and "39383736" not in str(wp.value).lower()


def test_sim_status_words_for_bad_commands(sim: CpsApplication) -> None:
    sim.power_on()

    def sw(cmd: Command | bytes) -> int:
        raw = cmd if isinstance(cmd, bytes) else cmd.to_bytes()
        return int.from_bytes(sim.process(raw)[-2:], "big")

    assert sw(b"\x00\xa4") == 0x6700  # not an APDU
    assert sw(Command(0x00, 0x0E, 0, 0)) == 0x6D00
    assert sw(Command(0x80, 0xA4, 0, 0)) == 0x6E00
    assert sw(apdu.read_binary(0)) == 0x6986  # no current EF
    assert sw(apdu.select_path(bytes.fromhex("3F000001D999"))) == 0x6A82
    assert sw(apdu.select_path(F.data_path(F.EF_NAME_PS))) == 0x9000
    assert sw(apdu.read_binary(0x7000)) == 0x6B00
    resp = apdu.Response.from_bytes(sim.process(apdu.read_binary(0, 0x100).to_bytes()))
    assert resp.sw == 0x6282 and resp.data.startswith(b"\x70")
    assert sw(apdu.select_path(F.activity_path(1))) == 0x9000
    assert sw(apdu.read_binary(0)) == 0x6982
    assert sw(Command(0x00, 0x2A, 0x9E, 0x9A, le=256)) == 0x6985  # no MSE SET first
    assert sw(Command(0x00, 0x22, 0x41, 0xB6, bytes.fromhex("840182"))) == 0x6A88
    # Empty VERIFY reports tries without spending one.
    assert sw(Command(0x00, 0x20, 0x00, F.PIN_REF)) == 0x63C3
    assert sim.pin_tries_left == 3


def test_select_by_aid_returns_fcp_with_the_aid(sim: CpsApplication) -> None:
    sim.power_on()
    raw = sim.process(apdu.select_aid(F.PKCS15_AID, fci=True).to_bytes())
    assert raw[-2:] == b"\x90\x00" and F.PKCS15_AID in raw


def test_command_chaining_is_reassembled(card: CpsCard, sim: CpsApplication) -> None:
    card.verify_pin(pin())
    ct = sim.config.auth_cert.public_key().encrypt(b"k", padding.PKCS1v15())  # type: ignore[union-attr]
    card._mse(0xB8, F.KEY_AUTH)
    data = b"\x81" + ct
    first = sim.process(Command(0x10, 0x2A, 0x80, 0x86, data[:200]).to_bytes())
    assert first == b"\x90\x00"
    last = sim.process(Command(0x00, 0x2A, 0x80, 0x86, data[200:], le=256).to_bytes())
    assert last == b"k\x90\x00"


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.one_of(
            st.binary(max_size=300),
            st.builds(
                lambda ins, p1, p2, data: Command(0, ins, p1, p2, data).to_bytes(),
                st.sampled_from([0xA4, 0xB0, 0xCB, 0x20, 0x2C, 0x22, 0x2A, 0x88, 0x84]),
                st.integers(0, 255),
                st.integers(0, 255),
                st.binary(max_size=60),
            ),
        ),
        max_size=8,
    )
)
def test_card_answers_any_bytes_with_a_status_word(
    config: CpsCardConfig, raws: list[bytes]
) -> None:
    sim = CpsApplication(config)
    sim.power_on()
    for raw in raws:
        out = sim.process(raw)
        assert len(out) >= 2
    # Whatever was sent, the PIN still works or the card reports why it does not.
    assert sim.pin_tries_left >= 0 and sim.unblocks_left <= 10
