"""Every CPS operation through the real stack: CpsCard → PcscConnection → pyscard →
libpcsclite → pcscd → libifdvpcd.so → VirtualSlot → the simulated CPS3 from a sample card file.
Signatures are checked by openssl against the certificate read from the card."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from drivers.cards.cps import CpsCard
from drivers.cards.cps_model import KeyRole
from drivers.errors import (
    CardRemoved,
    LastTryRefused,
    PinBlocked,
    SecurityNotSatisfied,
    WrongPin,
)
from drivers.pcsc import PcscConnection, card_atr
from drivers.pcsc_watch import CardInserted, ReaderWatcher
from drivers.sim.card import SimCard
from drivers.sim.cardfile import load_card
from drivers.sim.timing import Timing
from tests.card_support import CARDS_DIR, LEFEVRE, openssl_verify
from tests.rig import PcscRig

pytestmark = pytest.mark.pcsc

ROOT = Path(__file__).resolve().parent.parent
CPS3_ATR = bytes.fromhex("3B AC 00 40 2A 00 12 25 00 64 80 00 03 10 00 90 00")  # DOMAIN.md
PIN, PUK = b"1234", b"12345678"


class Watched:
    """A card whose PSO COMPUTE DIGITAL SIGNATURE sets ``signing``: the moment to pull it."""

    def __init__(self, card: SimCard) -> None:
        self.card = card
        self.signing = threading.Event()

    @property
    def atr(self) -> bytes:
        return self.card.atr

    def power_on(self) -> None:
        self.card.power_on()

    def power_off(self) -> None:
        self.card.power_off()

    def process(self, apdu: bytes) -> bytes:
        if apdu[1:4] == bytes.fromhex("2A9E9A"):
            self.signing.set()
        return self.card.process(apdu)


def test_read_identity_then_situations_with_the_pin(pcsc_rig: PcscRig) -> None:
    reader = pcsc_rig.insert(0, load_card(LEFEVRE, Timing.zero()))
    assert card_atr(reader) == CPS3_ATR
    with PcscConnection(reader) as conn:
        cps = CpsCard(conn)
        ident = cps.identity()
        assert (ident.nom, ident.prenom, ident.rpps) == ("LEFÈVRE", "Hélène", "10009990001")
        with pytest.raises(SecurityNotSatisfied):
            cps.holder()
        cps.verify_pin(bytearray(PIN))
        holder = cps.holder()
    assert [s.structure_name for s in holder.situations] == [
        "Pharmacie de la Gare",
        "SELARL Pharmacie des Écoles",
    ]


@pytest.mark.parametrize("role", [KeyRole.AUTH, KeyRole.SIGN])
def test_signatures_verify_with_openssl(pcsc_rig: PcscRig, role: KeyRole, tmp_path: Path) -> None:
    reader = pcsc_rig.insert(0, load_card(LEFEVRE, Timing.zero()))
    data = b"<Ordonnance id='2026-0042'>" * 40  # several SHA-256 blocks: the card ends the hash
    with PcscConnection(reader) as conn:
        cps = CpsCard(conn)
        cps.verify_pin(bytearray(PIN))
        signature = cps.sign_data(role, data)
        cert = cps.certificate(role)
    openssl_verify(cert, data, signature, tmp_path)


def test_wrong_pins_down_to_blocked_then_puk_unblock(pcsc_rig: PcscRig) -> None:
    reader = pcsc_rig.insert(0, load_card(LEFEVRE, Timing.zero()))
    with PcscConnection(reader) as conn:
        cps = CpsCard(conn)
        with pytest.raises(WrongPin) as first:
            cps.verify_pin(bytearray(b"0000"))
        assert first.value.tries_left == 2
        with pytest.raises(WrongPin) as second:
            cps.verify_pin(bytearray(b"0001"))
        assert second.value.tries_left == 1
        # The last try belongs to the cardholder at a PIN pad, never to an automated call.
        with pytest.raises(LastTryRefused):
            cps.verify_pin(bytearray(b"0002"))
        assert cps.tries_left() == 1
        with pytest.raises(PinBlocked):
            cps.verify_pin(bytearray(b"0002"), from_person=True)
        assert cps.tries_left() == 0
        with pytest.raises(PinBlocked):
            cps.verify_pin(bytearray(PIN), from_person=True)  # even the right PIN
        cps.unblock(bytearray(PUK), bytearray(b"4321"))
        assert cps.tries_left() == 3
        cps.verify_pin(bytearray(b"4321"))
        assert cps.sign_data(KeyRole.AUTH, b"back in service")


def test_reset_is_logout(pcsc_rig: PcscRig) -> None:
    reader = pcsc_rig.insert(0, load_card(LEFEVRE, Timing.zero()))
    with PcscConnection(reader) as conn:
        cps = CpsCard(conn)
        cps.verify_pin(bytearray(PIN))
        cps.sign_data(KeyRole.AUTH, b"x")
        conn.reset()
        with pytest.raises(SecurityNotSatisfied):
            cps.sign_data(KeyRole.AUTH, b"x")


def test_card_pulled_mid_signature_ends_cleanly(pcsc_rig: PcscRig) -> None:
    # Realistic timing: the RSA operation takes 300 ms inside the card, so the pull lands in it.
    card = Watched(load_card(LEFEVRE, Timing.realistic()))
    reader = pcsc_rig.insert(0, card)
    conn = PcscConnection(reader)
    cps = CpsCard(conn)
    cps.verify_pin(bytearray(PIN))
    outcome: list[BaseException | bytes] = []

    def sign() -> None:
        try:
            outcome.append(cps.sign_data(KeyRole.SIGN, b"FSE lot 17"))
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=sign)
    worker.start()
    assert card.signing.wait(5)
    pulled_at = time.monotonic()
    pcsc_rig.slot(0).remove()
    worker.join(5)
    assert not worker.is_alive(), "the signing call hung after the card was pulled"
    assert isinstance(outcome[0], CardRemoved), outcome
    assert time.monotonic() - pulled_at < 1.5
    conn.close()

    # Back in the reader, the card has lost its verified PIN with its power.
    reader = pcsc_rig.insert(0, card)
    with PcscConnection(reader) as conn2, pytest.raises(SecurityNotSatisfied):
        CpsCard(conn2).sign_data(KeyRole.SIGN, b"FSE lot 17")


def test_pcscd_restart_locks_the_card_again(pcsc_rig: PcscRig) -> None:
    reader = pcsc_rig.insert(0, load_card(LEFEVRE, Timing.zero()))
    conn = PcscConnection(reader)
    CpsCard(conn).verify_pin(bytearray(PIN))
    pcsc_rig.restart_pcscd()
    deadline = time.monotonic() + 5
    while True:
        try:
            conn.reconnect()
            break
        except CardRemoved:
            assert time.monotonic() < deadline
            time.sleep(0.1)
    with pytest.raises(SecurityNotSatisfied):
        CpsCard(conn).sign_data(KeyRole.AUTH, b"x")
    conn.close()


_THIEF = textwrap.dedent(
    """
    import sys
    from drivers.cards.cps import CpsCard
    from drivers.cards.cps_model import KeyRole
    from drivers.pcsc import PcscConnection, ReaderBusy
    try:
        conn = PcscConnection(sys.argv[1], exclusive=False)
        print("SIGNED", CpsCard(conn).sign_data(KeyRole.AUTH, b"not mine").hex())
    except ReaderBusy:
        print("BUSY")
    """
)


def test_unlocked_cps_cannot_be_used_by_another_process(pcsc_rig: PcscRig) -> None:
    reader = pcsc_rig.insert(0, load_card(LEFEVRE, Timing.zero()))
    with PcscConnection(reader) as conn:
        CpsCard(conn).verify_pin(bytearray(PIN))
        other = subprocess.run(
            [sys.executable, "-c", _THIEF, reader],
            env={**os.environ},
            capture_output=True,
            text=True,
            timeout=30,
            cwd=ROOT,
        )
        assert other.stdout.strip() == "BUSY", other.stdout + other.stderr
        assert CpsCard(conn).sign_data(KeyRole.AUTH, b"mine")


def test_watcher_reports_the_cps_with_its_atr(pcsc_rig: PcscRig) -> None:
    w = ReaderWatcher(poll_timeout=0.3)
    try:
        w.poll()
        pcsc_rig.slot(2).insert(load_card(LEFEVRE, Timing.zero()))
        deadline = time.monotonic() + 5
        seen: list[object] = []
        while CardInserted(pcsc_rig.reader(2), CPS3_ATR) not in seen:
            assert time.monotonic() < deadline, seen
            seen += w.poll()
    finally:
        w.stop()


def test_cps_and_vitale_in_two_readers_at_once(pcsc_rig: PcscRig, tmp_path: Path) -> None:
    # The counter's everyday case: the pharmacist's CPS in one reader, the patient's Vitale in
    # the other, both used at the same time from two threads.
    from drivers.cards.vitale import VitaleCard
    from drivers.cards.vitale_model import VitaleRead

    cps_reader = pcsc_rig.insert(0, load_card(LEFEVRE, Timing.zero()))
    vitale_reader = pcsc_rig.insert(2, load_card(CARDS_DIR / "vitale-famille-martin.toml"))
    read: list[VitaleRead] = []

    def read_vitale() -> None:
        with PcscConnection(vitale_reader) as conn:
            read.append(VitaleCard(conn).read())

    worker = threading.Thread(target=read_vitale)
    with PcscConnection(cps_reader) as conn:
        cps = CpsCard(conn)
        cps.verify_pin(bytearray(PIN))
        worker.start()
        signature = cps.sign_data(KeyRole.SIGN, b"FSE")
        certificate = cps.certificate(KeyRole.SIGN)
    worker.join(10)
    openssl_verify(certificate, b"FSE", signature, tmp_path)
    assert len(read) == 1
    names = [(b.nom_usuel, b.prenom) for b in read[0].beneficiaries]
    assert ("MARTIN", "Bénédicte") in names and ("MARTIN", "Joël") in names
