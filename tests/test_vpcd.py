"""The vpcd card side: the wire protocol (against a loopback stand-in for vpcd's listening end)
and the behaviour pcscd sees through the real libifdvpcd.so."""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Iterator

import pytest

from drivers.pcsc import PcscConnection, card_atr
from drivers.sim.vpcd import VirtualSlot
from tests.rig import EchoCard, PcscRig


class VpcdEnd:
    """vpcd's side of the socket, driven by the test: listen, accept, send frames."""

    def __init__(self) -> None:
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(1)
        self.server.settimeout(5)
        self.port = self.server.getsockname()[1]
        self.conn: socket.socket | None = None

    def accept(self) -> None:
        self.conn, _ = self.server.accept()
        self.conn.settimeout(5)

    def send(self, payload: bytes) -> None:
        assert self.conn is not None
        self.conn.sendall(struct.pack(">H", len(payload)) + payload)

    def recv(self) -> bytes:
        assert self.conn is not None
        header = self._exact(2)
        return self._exact(struct.unpack(">H", header)[0])

    def _exact(self, n: int) -> bytes:
        assert self.conn is not None
        buf = b""
        while len(buf) < n:
            chunk = self.conn.recv(n - len(buf))
            if not chunk:
                raise EOFError
            buf += chunk
        return buf

    def close(self) -> None:
        if self.conn:
            self.conn.close()
        self.server.close()


@pytest.fixture
def vpcd_end() -> Iterator[VpcdEnd]:
    end = VpcdEnd()
    yield end
    end.close()


def test_wire_protocol_control_bytes_and_apdus(vpcd_end: VpcdEnd) -> None:
    card = EchoCard(atr=bytes.fromhex("3B80800101"), sw=b"\x6a\x82")
    with VirtualSlot(vpcd_end.port) as slot:
        slot.insert(card)
        vpcd_end.accept()
        vpcd_end.send(b"\x04")
        assert vpcd_end.recv() == bytes.fromhex("3B80800101")
        assert slot.wait_seen(1)
        vpcd_end.send(b"\x01")  # power on: no answer expected
        vpcd_end.send(bytes.fromhex("00A4040007A0000000041010"))
        assert vpcd_end.recv() == bytes.fromhex("00A40400") + b"\x6a\x82"
        assert card.powered and card.power_cycles == 1
        vpcd_end.send(b"\x02")  # reset = power off + on
        vpcd_end.send(b"\x04")
        vpcd_end.recv()
        assert card.power_cycles == 2
        vpcd_end.send(b"\x00")
        vpcd_end.send(b"\x04")
        vpcd_end.recv()
        assert not card.powered


def test_extended_apdu_crosses_the_socket_whole(vpcd_end: VpcdEnd) -> None:
    card = EchoCard()
    with VirtualSlot(vpcd_end.port) as slot:
        slot.insert(card)
        vpcd_end.accept()
        apdu = bytes.fromhex("002A9E9A000400") + bytes(range(256)) * 4 + b"\x00\x00"
        vpcd_end.send(apdu)
        assert vpcd_end.recv() == apdu[:4] + b"\x90\x00"
        assert card.received == [apdu]


def test_remove_closes_the_connection_and_reinsert_reconnects(vpcd_end: VpcdEnd) -> None:
    with VirtualSlot(vpcd_end.port) as slot:
        slot.insert(EchoCard())
        vpcd_end.accept()
        slot.remove()
        with pytest.raises(EOFError):
            vpcd_end.recv()
        slot.insert(EchoCard(atr=bytes.fromhex("3B00")))
        vpcd_end.accept()
        vpcd_end.send(b"\x04")
        assert vpcd_end.recv() == bytes.fromhex("3B00")


def test_pull_during_a_command_ends_the_exchange_without_an_answer(vpcd_end: VpcdEnd) -> None:
    card = EchoCard()
    card.process_delay = 0.5
    with VirtualSlot(vpcd_end.port) as slot:
        slot.insert(card)
        vpcd_end.accept()
        vpcd_end.send(bytes.fromhex("002A9E9A00"))
        assert card.busy.wait(2)
        started = time.monotonic()
        slot.remove()
        with pytest.raises(EOFError):
            vpcd_end.recv()
        assert time.monotonic() - started < 0.4  # the pull does not wait for the card


def test_only_loopback_is_accepted() -> None:
    with pytest.raises(ValueError, match="loopback"):
        VirtualSlot(40000, host="192.0.2.1")


def test_close_stops_the_thread_while_waiting_for_a_reader() -> None:
    # Nothing listens on this port: the slot keeps retrying, and close() must still be prompt.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    slot = VirtualSlot(port)
    slot.insert(EchoCard())
    time.sleep(0.2)
    started = time.monotonic()
    slot.close()
    assert time.monotonic() - started < 1.0
    assert not any(t.name == f"vpcd-slot-{port}" for t in threading.enumerate())


# -- through the real pcscd + libifdvpcd.so ------------------------------------------------------


@pytest.mark.pcsc
def test_pcscd_sees_insertion_and_removal(pcsc_rig: PcscRig) -> None:
    reader = pcsc_rig.insert(0, EchoCard(atr=bytes.fromhex("3B80800101")))
    assert card_atr(reader) == bytes.fromhex("3B80800101")
    assert card_atr(pcsc_rig.reader(1)) is None
    pcsc_rig.remove(0)
    assert card_atr(reader) is None


@pytest.mark.pcsc
def test_every_slot_is_its_own_reader(pcsc_rig: PcscRig) -> None:
    # vpcd keeps its sockets in per-library globals: the rig loads one copy per reader entry,
    # or reader 1 would answer for reader 0. Each slot must reach its own card.
    cards = [EchoCard(atr=bytes.fromhex(f"3B80800101{i:02X}")) for i in range(4)]
    for i, card in enumerate(cards):
        pcsc_rig.insert(i, card)
    for i, card in enumerate(cards):
        with PcscConnection(pcsc_rig.reader(i)) as conn:
            assert conn.atr == card.atr
            conn.transmit(bytes([0x00, 0xB0, 0x00, i]))
        assert card.received == [bytes([0x00, 0xB0, 0x00, i])]


@pytest.mark.pcsc
def test_card_left_in_slot_is_seen_again_after_pcscd_restart(pcsc_rig: PcscRig) -> None:
    reader = pcsc_rig.insert(2, EchoCard())
    pcsc_rig.restart_pcscd()
    deadline = time.monotonic() + 5
    while card_atr(reader) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    with PcscConnection(reader) as conn:
        assert conn.transmit(bytes.fromhex("00B00000")) == bytes.fromhex("00B000009000")
