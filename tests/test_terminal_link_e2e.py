"""The terminal link end to end on real parts: the firmware on the real MicroPython interpreter
(WebAssembly, under Node) with its UART on a pty, the box's driver on the other side through
pyserial. Pairing, PIN entry, unplugging and attacks on the cable, as a technician, a
pharmacist and an attacker with a probe on the line would see them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance import protocol as p
from drivers.sim.terminal import SimulatedTerminal
from drivers.terminal import (
    PinOutcome,
    TerminalEvent,
    TerminalKeyStore,
    TerminalManager,
    TerminalPort,
)

PIN = "4711"


class Box:
    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.keys = TerminalKeyStore(directory / "terminals.json")
        self.events: list[TerminalEvent] = []
        self.manager = TerminalManager(
            self.keys, on_event=self.events.append, port_globs=(str(directory / "ttyTERM*"),)
        )

    def port(self, timeout_s: float = 10.0) -> TerminalPort:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            ports = self.manager.ports()
            if ports:
                return ports[0]
            time.sleep(0.05)
        raise AssertionError("no terminal port found")

    def wait_event(self, kind: str, timeout_s: float = 10.0) -> TerminalEvent:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for event in self.events:
                if event.kind == kind:
                    return event
            time.sleep(0.02)
        raise AssertionError(f"no {kind} event in {self.events}")


@pytest.fixture
def box(tmp_path: Path) -> Iterator[Box]:
    b = Box(tmp_path)
    b.manager.start()
    yield b
    b.manager.stop()


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[SimulatedTerminal]:
    term = SimulatedTerminal(tmp_path / "ttyTERM0")
    term.plug()
    yield term
    term.unplug()


def pair(box: Box, terminal: SimulatedTerminal, answer: str = "#") -> tuple[str, str]:
    port = box.port()
    box.wait_event("refused")
    with port.pairing() as answers:
        kind, code = answers.get(timeout=20)
        assert kind == "code"
        terminal.wait_screen(code)  # the same six digits on the terminal's glass
        terminal.press(answer)
        result = answers.get(timeout=20)
    return code, result[0]


def frames_of(chunks: list[bytes], ftype: int) -> list[bytes]:
    """Whole frames of one type seen on the line (the type byte travels in clear)."""
    inner = p.Deframer().feed(b"".join(chunks))
    return [p.wrap(f) for f in inner if len(f) > 1 and f[1] == ftype]


def type_pin(terminal: SimulatedTerminal, keys: str) -> threading.Thread:
    def person() -> None:
        terminal.wait_screen("Code PIN", 15)
        terminal.press(keys)

    thread = threading.Thread(target=person, daemon=True)
    thread.start()
    return thread


def test_unpaired_terminal_is_refused(box: Box, terminal: SimulatedTerminal) -> None:
    event = box.wait_event("refused")
    assert (event.serial, event.data) == (terminal.serial, "unpaired")
    terminal.wait_screen("Non appaire")
    assert box.manager.find(terminal.serial) is None
    assert box.manager.request_pin(terminal.serial, 1).outcome == PinOutcome.ABSENT


def test_pairing_needs_the_keypad_confirmation(box: Box, terminal: SimulatedTerminal) -> None:
    _code, result = pair(box, terminal, answer="D")
    assert result == "failed"
    assert box.keys.entries() == {}
    assert terminal.key is None
    box.events.clear()
    _code, result = pair(box, terminal, answer="#")
    assert result == "paired"
    box.manager.wait_connected(terminal.serial, 10)
    assert box.keys.key(terminal.serial) == terminal.key
    (status,) = box.manager.status()
    assert status.connected and status.firmware == "0.2.0"
    assert status.capabilities["keypad"] == "4x4"


def test_pin_typed_on_the_pad_reaches_the_box_and_nowhere_else(
    box: Box, terminal: SimulatedTerminal, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    pair(box, terminal)
    box.manager.wait_connected(terminal.serial, 10)
    terminal.tap(True)
    person = type_pin(terminal, "12*" + PIN[1:] + "#")  # a typo, corrected
    reply = box.manager.request_pin(terminal.serial, 20, tries_left=3)
    person.join()
    assert reply.outcome == PinOutcome.ENTERED
    assert reply.digits is not None and bytes(reply.digits) == b"1" + PIN[1:].encode()
    reply.wipe()
    assert reply.digits == bytearray(4)
    assert "3 essai(s) rest." in [line for s in terminal.screens for line in s]
    terminal.tap(False)
    wire = b"".join(terminal.wire_rx + terminal.wire_tx)
    assert len(wire) > 100
    assert b"1" + PIN[1:].encode() not in wire  # never in clear on the cable
    everything = repr(box.events) + caplog.text + repr(terminal.screens) + repr(reply)
    assert "1" + PIN[1:] not in everything


def test_cancel_and_timeout(box: Box, terminal: SimulatedTerminal) -> None:
    pair(box, terminal)
    box.manager.wait_connected(terminal.serial, 10)
    type_pin(terminal, "12D")
    assert box.manager.request_pin(terminal.serial, 20).outcome == PinOutcome.CANCELLED
    terminal.wait_screen("Annule")
    reply = box.manager.request_pin(terminal.serial, 1.5)
    assert reply.outcome == PinOutcome.TIMEOUT
    terminal.wait_screen("Temps depasse")


def test_unplugged_mid_entry_fails_cleanly_and_comes_back(
    box: Box, terminal: SimulatedTerminal
) -> None:
    pair(box, terminal)
    box.manager.wait_connected(terminal.serial, 10)
    result: dict[str, str] = {}

    def ask() -> None:
        result["outcome"] = box.manager.request_pin(terminal.serial, 30).outcome

    asker = threading.Thread(target=ask)
    asker.start()
    terminal.wait_screen("Code PIN", 10)
    terminal.press("12")
    time.sleep(0.5)
    started = time.monotonic()
    terminal.unplug()
    asker.join(timeout=10)
    assert result["outcome"] == PinOutcome.ABSENT
    assert time.monotonic() - started < 5  # not the 30 s the request allowed
    terminal.plug()  # back in: the same key, a new session
    box.manager.wait_connected(terminal.serial, 15)
    type_pin(terminal, PIN + "#")
    reply = box.manager.request_pin(terminal.serial, 20)
    assert reply.outcome == PinOutcome.ENTERED
    reply.wipe()


def test_cut_cable_drops_the_session_and_heals(box: Box, terminal: SimulatedTerminal) -> None:
    pair(box, terminal)
    box.manager.wait_connected(terminal.serial, 10)
    box.events.clear()
    terminal.mute(True)
    box.wait_event("down", 10)
    terminal.wait_screen("Connexion", 10)
    terminal.mute(False)
    box.wait_event("up", 15)


def test_replayed_forged_and_garbage_frames_are_refused(
    box: Box, terminal: SimulatedTerminal
) -> None:
    pair(box, terminal)
    port = box.manager.wait_connected(terminal.serial, 10)
    terminal.wait_screen("Pret")
    terminal.tap(True)
    terminal.scan("ORD-0001")
    scans = lambda: [e for e in box.events if e.kind == "scan"]  # noqa: E731
    deadline = time.monotonic() + 10
    while not scans() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [e.data for e in scans()] == ["ORD-0001"]
    time.sleep(0.3)
    captured = frames_of(terminal.wire_tx, p.SCAN)
    assert len(captured) == 1
    host_rejected = port.link.rejected
    # Towards the box: the captured frame replayed, a forged copy, and line noise.
    forged = bytearray(captured[0])
    forged[12] ^= 0x20
    for attack in (captured[0], bytes(forged), b"\x00\xde\xad\xbe\xef\x00", bytes(range(256))):
        terminal.inject_to_box(attack)
    time.sleep(0.5)
    assert [e.data for e in scans()] == ["ORD-0001"]  # nothing new delivered
    assert port.link.rejected >= host_rejected + 3
    # Towards the terminal: a captured box frame replayed, a frame sealed with a made-up key.
    replay = frames_of(terminal.wire_rx, p.ACK)  # the box's acknowledgement of the scan
    assert replay
    stranger = p.SessionKeys(b"S" * 32, b"h" * 16, b"t" * 16, b"{}").host_to_terminal
    rejected_before = terminal.stats.get("rejected", 0)
    for attack in [*replay[-2:], p.seal(stranger, p.PIN_REQUEST, 99999, 500, b"{}")]:
        terminal.inject_to_terminal(attack)
    time.sleep(1.5)
    assert terminal.stats["rejected"] >= rejected_before + 2
    assert "Code PIN" not in terminal.screen[0]  # the forged prompt never showed
    # The session survived all of it.
    assert port.link.up
    terminal.scan("ORD-0002")
    deadline = time.monotonic() + 10
    while len(scans()) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [e.data for e in scans()] == ["ORD-0001", "ORD-0002"]


def test_unpaired_later_is_refused(box: Box, terminal: SimulatedTerminal) -> None:
    pair(box, terminal)
    port = box.manager.wait_connected(terminal.serial, 10)
    assert box.keys.remove(terminal.serial)
    box.events.clear()
    port.call(port.link.start)  # the next handshake (a restart, a replug) finds no key
    assert box.wait_event("refused").data == "unpaired"
    terminal.wait_screen("Non appaire")
    assert box.manager.find(terminal.serial) is None


def test_watchdog_is_fed_by_the_running_loop(box: Box, terminal: SimulatedTerminal) -> None:
    terminal.wait_for(lambda: terminal.stats.get("feeds", 0) >= 2, 10)
    assert 0 < terminal.stats["longest_gap_ms"] < 8000
