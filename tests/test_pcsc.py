"""PcscConnection and the PC/SC error mapping, through pyscard → pcscd → vpcd → a sim card."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from drivers.apdu import ApduChannel, Command
from drivers.errors import CardRemoved, ReaderUnavailable
from drivers.pcsc import PcscConnection, ReaderBusy, list_readers, raise_for
from tests.rig import EchoCard, PcscRig

pytestmark = pytest.mark.pcsc


def test_list_readers_names_every_slot(pcsc_rig: PcscRig) -> None:
    assert list_readers() == sorted(pcsc_rig.reader_names)
    assert "Comptoir sim 0 00 00" in list_readers()


def test_transmit_carries_apdu_and_answer(pcsc_rig: PcscRig) -> None:
    card = EchoCard(sw=b"\x6a\x82")
    reader = pcsc_rig.insert(0, card)
    with PcscConnection(reader) as conn:
        assert conn.atr == card.atr
        answer = conn.transmit(bytes.fromhex("00A4040007A0000000041010"))
    assert answer == bytes.fromhex("00A404006A82")
    assert card.received == [bytes.fromhex("00A4040007A0000000041010")]


def test_works_as_the_transport_of_the_apdu_channel(pcsc_rig: PcscRig) -> None:
    card = EchoCard()
    reader = pcsc_rig.insert(1, card)
    with PcscConnection(reader) as conn:
        response = ApduChannel(conn).transceive(Command(0x00, 0xB0, 0x00, 0x00, le=256))
    # Le=256 travels as 00; the echoed header comes back as data with SW 9000.
    assert card.received == [bytes.fromhex("00B0000000")]
    assert (response.data, response.sw) == (bytes.fromhex("00B00000"), 0x9000)


def test_reset_power_cycles_the_card(pcsc_rig: PcscRig) -> None:
    # CPS logout relies on this: a reset card has forgotten the verified PIN.
    card = EchoCard()
    reader = pcsc_rig.insert(0, card)
    with PcscConnection(reader) as conn:
        conn.transmit(bytes.fromhex("00B00000"))
        cycles = card.power_cycles
        conn.reset()
        assert card.power_cycles == cycles + 1
        assert conn.transmit(bytes.fromhex("00B00000")).endswith(b"\x90\x00")


def test_close_resets_the_card_by_default(pcsc_rig: PcscRig) -> None:
    card = EchoCard()
    reader = pcsc_rig.insert(0, card)
    conn = PcscConnection(reader)
    conn.transmit(bytes.fromhex("00B00000"))
    cycles = card.power_cycles
    conn.close()
    # pcscd may also power the idle card down later; the reset itself is a new power-up.
    assert card.power_cycles >= cycles + 1
    with pytest.raises(CardRemoved, match="no open connection"):
        conn.transmit(bytes.fromhex("00B00000"))


_OTHER_PROCESS = textwrap.dedent(
    """
    import sys
    from drivers.pcsc import PcscConnection, ReaderBusy
    try:
        PcscConnection(sys.argv[1], exclusive=False).transmit(bytes.fromhex("00B00000"))
    except ReaderBusy as exc:
        print("busy:", exc)
        sys.exit(3)
    print("got the card")
    """
)


def _other_process_tries(reader: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _OTHER_PROCESS, reader],
        env={**os.environ},
        capture_output=True,
        text=True,
        timeout=30,
        cwd=os.path.dirname(os.path.dirname(__file__)),
    )


def test_exclusive_connection_locks_out_other_processes(pcsc_rig: PcscRig) -> None:
    card = EchoCard()
    reader = pcsc_rig.insert(0, card)
    with PcscConnection(reader):
        blocked = _other_process_tries(reader)
        assert blocked.returncode == 3, blocked.stdout + blocked.stderr
        assert "Sharing violation" in blocked.stdout
        assert card.received == []
    # Once released, the same attempt succeeds: the refusal came from our lock, not a fault.
    released = _other_process_tries(reader)
    assert released.returncode == 0, released.stdout + released.stderr


def test_second_exclusive_connection_in_process_is_busy(pcsc_rig: PcscRig) -> None:
    reader = pcsc_rig.insert(0, EchoCard())
    with PcscConnection(reader), pytest.raises(ReaderBusy):
        PcscConnection(reader)


def test_connect_to_empty_slot_is_card_removed(pcsc_rig: PcscRig) -> None:
    with pytest.raises(CardRemoved):
        PcscConnection(pcsc_rig.reader(3))


def test_connect_to_unknown_reader_is_reader_unavailable(pcsc_rig: PcscRig) -> None:
    with pytest.raises(ReaderUnavailable, match="no reader named"):
        PcscConnection("No Such Reader 00 00")


def test_card_pulled_mid_command_is_card_removed_promptly(pcsc_rig: PcscRig) -> None:
    card = EchoCard()
    card.process_delay = 2.0
    reader = pcsc_rig.insert(0, card)
    conn = PcscConnection(reader)
    puller = threading.Thread(target=lambda: card.busy.wait(5) and pcsc_rig.slot(0).remove())
    puller.start()
    started = time.monotonic()
    with pytest.raises(CardRemoved):
        conn.transmit(bytes.fromhex("002A9E9A00"))
    assert time.monotonic() - started < 1.9  # ended by the pull, not by the card finishing
    puller.join(5)
    with pytest.raises(CardRemoved):
        conn.transmit(bytes.fromhex("00B00000"))
    conn.close()


def test_card_pulled_between_commands_is_card_removed(pcsc_rig: PcscRig) -> None:
    reader = pcsc_rig.insert(0, EchoCard())
    with PcscConnection(reader) as conn:
        pcsc_rig.remove(0)
        with pytest.raises(CardRemoved):
            conn.transmit(bytes.fromhex("00B00000"))


def test_reconnect_after_card_swap(pcsc_rig: PcscRig) -> None:
    reader = pcsc_rig.insert(0, EchoCard(atr=bytes.fromhex("3B80800101")))
    with PcscConnection(reader) as conn:
        pcsc_rig.remove(0)
        pcsc_rig.insert(0, EchoCard(atr=bytes.fromhex("3B8080010102")))
        with pytest.raises(CardRemoved):
            conn.transmit(bytes.fromhex("00B00000"))
        conn.reconnect()
        assert conn.atr == bytes.fromhex("3B8080010102")
        assert conn.transmit(bytes.fromhex("00B00000")).endswith(b"\x90\x00")


def test_pcscd_gone_is_reader_unavailable_and_reconnect_recovers(pcsc_rig: PcscRig) -> None:
    reader = pcsc_rig.insert(0, EchoCard())
    with PcscConnection(reader) as conn:
        pcsc_rig.kill_pcscd()
        with pytest.raises(ReaderUnavailable):
            conn.transmit(bytes.fromhex("00B00000"))
        with pytest.raises(ReaderUnavailable):
            list_readers()
        pcsc_rig.start()
        deadline = time.monotonic() + 5
        while True:
            try:
                conn.reconnect()
                break
            except CardRemoved:  # pcscd up, card not seen yet (presence poll)
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        assert conn.transmit(bytes.fromhex("00B00000")).endswith(b"\x90\x00")


def test_failing_card_application_answers_6f00_and_keeps_serving(pcsc_rig: PcscRig) -> None:
    class Broken(EchoCard):
        def process(self, apdu: bytes) -> bytes:
            if apdu[1] == 0x2A:
                raise RuntimeError("simulated card bug")
            if apdu[1] == 0xCA:
                return b""
            return super().process(apdu)

    reader = pcsc_rig.insert(0, Broken())
    with PcscConnection(reader) as conn:
        assert conn.transmit(bytes.fromhex("002A9E9A00")) == b"\x6f\x00"
        assert conn.transmit(bytes.fromhex("00CA010000")) == b"\x6f\x00"
        assert conn.transmit(bytes.fromhex("00B00000")) == bytes.fromhex("00B000009000")


def test_error_mapping_never_shows_raw_codes_as_success() -> None:
    from smartcard import scard

    raise_for(scard.SCARD_S_SUCCESS, "ok")
    with pytest.raises(CardRemoved):
        raise_for(scard.SCARD_W_REMOVED_CARD, "x")
    with pytest.raises(ReaderUnavailable):
        raise_for(scard.SCARD_E_NO_SERVICE, "x")
    with pytest.raises(ReaderBusy):
        raise_for(scard.SCARD_E_SHARING_VIOLATION, "x")
