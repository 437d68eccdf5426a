"""The CPS PIN typed on the counter terminal, end to end: the daemon (mTLS API, pcscd, the
simulated CPS), the terminal's firmware on the real MicroPython interpreter with its UART on a
pty, and counter PCs that only name their terminal. The PIN goes keypad → terminal → box →
card VERIFY; the tests look for it in every answer, audit row and log line.
"""

from __future__ import annotations

import base64
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from drivers.sim.terminal import SimulatedTerminal
from drivers.terminal import TerminalKeyStore, TerminalManager
from tests.api_cards_support import PIN, P, cert_of, url, verify, wait_for_kind
from tests.hostd_support import OPERATOR, Daemon, cps_card, cps_config, start_daemon
from tests.rig import PcscRig

COUNTER = "comptoir-1"


def pair_beforehand(directory: Path, terminal: SimulatedTerminal) -> bytes:
    """The technician's pairing (comptoir terminal pair), done before the daemon holds the port."""
    keys = TerminalKeyStore(directory / "paired.json")
    manager = TerminalManager(keys, port_globs=(str(terminal.link_path),))
    manager.start()
    try:
        deadline = time.monotonic() + 20
        while not manager.ports() and time.monotonic() < deadline:
            time.sleep(0.05)
        (port,) = manager.ports()
        with port.pairing() as answers:
            _kind, code = answers.get(timeout=30)
            terminal.wait_screen(code)
            terminal.press("#")
            assert answers.get(timeout=30)[0] == "paired"
    finally:
        manager.stop()
    key = keys.key(terminal.serial)
    assert key is not None
    return key


class Box:
    def __init__(self, daemon: Daemon, terminal: SimulatedTerminal, rig: PcscRig) -> None:
        self.daemon = daemon
        self.terminal = terminal
        self.rig = rig
        self.counter = daemon.client(COUNTER)
        self.other = daemon.client("comptoir-2")

    def insert(self, **card: Any) -> str:
        cfg = replace(cps_config(self.daemon.pki), pin=PIN, **card)
        reader = self.rig.insert(0, cps_card(cfg))
        wait_for_kind(self.counter, reader, "cps")
        return reader

    def unlock(self, reader: str, keys: str | None, http: httpx.Client | None = None,
               terminal: str | None = None) -> httpx.Response:
        """POST unlock naming the terminal; ``keys`` is what the person types (None: nothing)."""
        if keys is not None:
            def person() -> None:
                self.terminal.wait_screen("Code PIN", 20)
                self.terminal.press(keys)
            threading.Thread(target=person, daemon=True).start()
        return (http or self.counter).post(
            f"{url(reader)}/unlock", json={"terminal": terminal or self.terminal.serial},
            headers=OPERATOR, timeout=60,
        )

    def tries(self, reader: str) -> int:
        response = self.counter.get(f"{url(reader)}/tries-left", headers=OPERATOR)
        assert response.status_code == 200, response.text
        value: int = response.json()["tries_left"]
        return value


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory, pcsc_session_rig: PcscRig) -> Iterator[Box]:
    base = tmp_path_factory.mktemp("terminal-unlock")
    terminal = SimulatedTerminal(base / "ttyTERM0")
    terminal.plug()
    key = pair_beforehand(base, terminal)
    daemon = start_daemon(
        base, cps={"api_pin": False},
        terminals={
            "ports": [str(base / "ttyTERM*")], "pin_timeout_s": 5,
            "bind": {terminal.serial: {"counter": "Comptoir 1", "client": COUNTER}},
        },
    )
    TerminalKeyStore(daemon.state / "terminals.json").put(terminal.serial, key)
    try:
        b = Box(daemon, terminal, pcsc_session_rig)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            status = b.counter.get("/v1/status").json()
            if any(t["connected"] for t in status["terminals"]):
                break
            time.sleep(0.1)
        terminal.wait_screen("Comptoir 1", 10)  # the idle screen names the counter
        yield b
    finally:
        daemon.stop()
        terminal.unplug()


@pytest.fixture
def rig(box: Box, pcsc_session_rig: PcscRig) -> Iterator[PcscRig]:
    pcsc_session_rig.reset()
    yield pcsc_session_rig
    pcsc_session_rig.reset()


def test_status_shows_the_terminal(box: Box) -> None:
    (terminal,) = box.counter.get("/v1/status").json()["terminals"]
    assert terminal == {"serial": box.terminal.serial, "counter": "Comptoir 1",
                        "client": COUNTER, "paired": True, "connected": True,
                        "firmware": "0.2.0"}
    page = box.counter.get("/status").text
    assert box.terminal.serial in page and "connecté" in page


def test_unlock_on_the_pin_pad_then_two_counters_sign(
    box: Box, rig: PcscRig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    reader = box.insert()
    answer = box.unlock(reader, PIN + "#")
    assert answer.status_code == 200, answer.text
    assert answer.json()["tries_left"] == 3
    box.terminal.wait_screen("PIN correct")
    answers = [answer.text]
    for http in (box.other, box.counter):  # the lease serves every counter
        document = b"ordonnance " + http.headers.get("x", "").encode()
        signed = http.post(f"{url(reader)}/sign", headers=OPERATOR, json={
            "key": "sign", "data_b64": base64.b64encode(document).decode()})
        assert signed.status_code == 200, signed.text
        verify(cert_of(http, reader, "sign"), base64.b64decode(signed.json()["signature_b64"]),
               document)
        answers.append(signed.text)
    rows = sqlite3.connect(box.daemon.state / "audit.db").execute(
        "SELECT client, operator, action, target, outcome, detail FROM audit").fetchall()
    unlocks = [r for r in rows if r[2] == "cps.unlock"]
    assert unlocks[-1][0] == COUNTER and unlocks[-1][4] == "ok"
    assert box.terminal.serial in str(unlocks[-1][5])
    for where in (repr(rows), caplog.text, " ".join(answers), repr(box.terminal.screens)):
        assert PIN not in where


def test_wrong_pin_shows_tries_left_on_the_terminal(box: Box, rig: PcscRig) -> None:
    reader = box.insert()
    answer = box.unlock(reader, "0000#")
    assert answer.status_code == 403
    assert answer.json()["type"] == P + "wrong-pin" and answer.json()["tries_left"] == 2
    box.terminal.wait_screen("Code faux")
    assert box.terminal.screen[1].startswith("2 essai(s)")
    assert "0000" not in answer.text


def test_cancel_and_timeout_leave_the_card_untouched(box: Box, rig: PcscRig) -> None:
    reader = box.insert()
    cancelled = box.unlock(reader, "12D")
    assert cancelled.status_code == 409
    assert cancelled.json()["type"] == P + "pin-entry-cancelled"
    timed_out = box.unlock(reader, "1")  # one digit, then nothing for 5 s
    assert timed_out.status_code == 409
    assert timed_out.json()["type"] == P + "pin-entry-timeout"
    assert box.tries(reader) == 3


def test_unplugged_mid_entry_fails_cleanly(box: Box, rig: PcscRig) -> None:
    reader = box.insert()
    result: dict[str, httpx.Response] = {}
    asker = threading.Thread(target=lambda: result.update(r=box.unlock(reader, None)))
    asker.start()
    box.terminal.wait_screen("Code PIN", 20)
    box.terminal.press("47")
    time.sleep(0.5)
    box.terminal.unplug()
    asker.join(timeout=20)
    assert result["r"].status_code == 503
    assert result["r"].json()["type"] == P + "terminal-absent"
    box.terminal.plug()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not any(
        t["connected"] for t in box.counter.get("/v1/status").json()["terminals"]
    ):
        time.sleep(0.1)
    assert box.tries(reader) == 3  # the card never saw a VERIFY


def test_only_the_bound_counter_and_never_an_api_pin(box: Box, rig: PcscRig) -> None:
    reader = box.insert()
    other = box.unlock(reader, None, http=box.other)
    assert other.status_code == 403 and other.json()["type"] == P + "terminal-not-bound"
    unknown = box.unlock(reader, None, terminal="NOT-A-TERMINAL")
    assert unknown.status_code == 403 and unknown.json()["type"] == P + "terminal-not-bound"
    api = box.counter.post(f"{url(reader)}/unlock", json={"pin": PIN}, headers=OPERATOR)
    assert api.status_code == 403 and api.json()["type"] == P + "api-pin-disabled"
    both = box.counter.post(f"{url(reader)}/unlock", headers=OPERATOR,
                            json={"pin": PIN, "terminal": box.terminal.serial})
    assert both.status_code == 400


def test_a_person_at_the_pad_may_spend_the_last_try(box: Box, rig: PcscRig) -> None:
    reader = box.insert(pin_tries_left=1)
    answer = box.unlock(reader, PIN + "#")
    assert answer.status_code == 200, answer.text
    assert answer.json()["tries_left"] == 3
