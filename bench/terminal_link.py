"""The counter terminal's link: frame round trip, handshake, last key press to the card's answer.

    .venv/bin/python -m bench.terminal_link [--frames 200] [--handshakes 20] [--pins 10]

Real parts throughout: the firmware runs on the real MicroPython interpreter (WebAssembly, Node)
with its UART on a pty paced at 115200 baud (8N1, ten bit times per byte, as a UART would be),
the box's end is pyserial + the shared ``appliance.link`` state machine, and the card is the
simulated CPS3 behind vpcd and a private pcscd with realistic timing. It prints:

- frame round trip: a reliable DISPLAY frame sent by the box until the terminal's
  acknowledgement is back (p50/p99), at 115200 baud and, as the baseline measured in the same
  run, with the same terminal unpaced (what the interpreter, the pty and the crypto cost on
  their own), beside the bytes' own time on the wire at 115200;
- handshake: HELLO sent until the session is up on the box (p50/p99);
- last key press to the card's VERIFY answer: from the moment the validation key goes down on
  the simulated matrix to the end of VERIFY on the card (p50/p99), beside the same VERIFY sent
  straight from the box (the baseline: what the card and PC/SC take without the terminal).

Every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

import serial

from appliance import link as L
from appliance import protocol as p
from drivers.cards.cps import CpsCard
from drivers.pcsc import PcscConnection, wait_for_card
from drivers.sim.cardfile import load_card
from drivers.sim.make_sample_cards import CARDS_DIR
from drivers.sim.pcscd import PrivatePcscd
from drivers.sim.terminal import SimulatedTerminal
from drivers.sim.timing import Timing
from drivers.terminal import PinOutcome, TerminalKeyStore, TerminalManager

CARD = CARDS_DIR / "cps-titulaire-lefevre.toml"
PIN = b"1234"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def fmt(values: list[float]) -> str:
    return f"p50 {pct(values, 0.5) * 1000:7.1f} ms   p99 {pct(values, 0.99) * 1000:7.1f} ms"


def pair(directory: Path, terminal: SimulatedTerminal) -> TerminalKeyStore:
    keys = TerminalKeyStore(directory / "terminals.json")
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
            if answers.get(timeout=30)[0] != "paired":
                raise SystemExit("pairing failed")
    finally:
        manager.stop()
    return keys


class HostEnd:
    """The box's end of the link driven by this script's own loop, to timestamp each frame."""

    def __init__(self, path: Path, keys: TerminalKeyStore) -> None:
        import os

        self.port = serial.Serial(str(path), 115200, timeout=0.001)
        self.link = L.Link(L.HOST, os.urandom, lookup=keys.key)

    def pump(self, until: object, limit_s: float) -> float:
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            data = self.port.read(4096)
            now = int(time.monotonic() * 1000)
            if data:
                self.link.feed(data, now)
            self.link.tick(now)
            out = self.link.take_output()
            if out:
                self.port.write(out)
            if until():  # type: ignore[operator]
                return time.monotonic()
        raise SystemExit("the terminal did not answer in time")

    def handshake(self) -> float:
        t0 = time.monotonic()
        self.link.start(int(t0 * 1000))
        self.port.write(self.link.take_output())
        return self.pump(lambda: self.link.up and self.link.idle, 10) - t0

    def round_trip(self, body: bytes) -> float:
        t0 = time.monotonic()
        self.link.send(p.DISPLAY, body, int(t0 * 1000))
        self.port.write(self.link.take_output())
        return self.pump(lambda: self.link.idle, 10) - t0

    def close(self) -> None:
        self.port.close()


def link_figures(
    base: Path, baud: int, frames: int, handshakes: int
) -> tuple[list[float], list[float]]:
    directory = base / f"link-{baud}"
    directory.mkdir()
    terminal = SimulatedTerminal(directory / "ttyTERM0", baud=baud)
    terminal.plug()
    try:
        keys = pair(directory, terminal)
        host = HostEnd(terminal.link_path, keys)
        try:
            shakes = [host.handshake() for _ in range(handshakes)]
            body = b'{"screen": "message", "text": "Votre ordonnance est prete"}'
            trips = [host.round_trip(body) for _ in range(frames)]
        finally:
            host.close()
    finally:
        terminal.unplug()
    return trips, shakes


def pin_figures(base: Path, pins: int) -> tuple[list[float], list[float]]:
    pcscd = PrivatePcscd(base / "pcscd", readers=1)
    pcscd.use_in_this_process()
    pcscd.start()
    directory = base / "pin"
    directory.mkdir()
    terminal = SimulatedTerminal(directory / "ttyTERM0")
    try:
        pcscd.slot(0).insert(load_card(CARD, Timing.realistic()))
        reader = pcscd.reader_names()[0]
        if not wait_for_card(reader, True, 10):
            raise SystemExit("the simulated CPS did not appear")
        terminal.plug()
        keys = pair(directory, terminal)
        manager = TerminalManager(keys, port_globs=(str(terminal.link_path),))
        manager.start()
        key_to_answer: list[float] = []
        direct: list[float] = []
        try:
            manager.wait_connected(terminal.serial, 20)
            with PcscConnection(reader, exclusive=True) as conn:
                card = CpsCard(conn)
                for _ in range(pins):
                    t0 = time.monotonic()
                    card.verify_pin(bytearray(PIN))
                    direct.append(time.monotonic() - t0)

                    def person() -> None:
                        terminal.wait_screen("Code PIN", 15)
                        terminal.press(PIN.decode() + "#")

                    typing = threading.Thread(target=person)
                    typing.start()
                    reply = manager.request_pin(terminal.serial, 20)
                    typing.join()
                    if reply.outcome != PinOutcome.ENTERED or reply.digits is None:
                        raise SystemExit(f"PIN entry ended with {reply.outcome}")
                    card.verify_pin(reply.digits, from_person=True)  # wipes the digits
                    done = time.monotonic()
                    key, pressed_at = terminal.last_press
                    assert key == "#"
                    key_to_answer.append(done - pressed_at)
        finally:
            manager.stop()
    finally:
        terminal.unplug()
        pcscd.close()
    return key_to_answer, direct


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--handshakes", type=int, default=20)
    parser.add_argument("--pins", type=int, default=10)
    args = parser.parse_args()
    frames = min(max(args.frames, 10), 2000)
    handshakes = min(max(args.handshakes, 3), 200)
    pins = min(max(args.pins, 3), 50)

    base = Path(tempfile.mkdtemp(prefix="comptoir-terminal-bench-"))
    paced_trips, paced_shakes = link_figures(base, 115200, frames, handshakes)
    raw_trips, raw_shakes = link_figures(base, 0, frames, handshakes)
    frame = p.seal(
        p.SessionKeys(b"k" * 32, b"h" * 16, b"t" * 16, b"{}").host_to_terminal,
        p.DISPLAY, 0, 1, b'{"screen": "message", "text": "Votre ordonnance est prete"}',
    )
    ack = p.seal(p.SessionKeys(b"k" * 32, b"h" * 16, b"t" * 16, b"{}").terminal_to_host,
                 p.ACK, 0, 0, b"\x00\x01")
    wire_s = (len(frame) + len(ack)) * 10 / 115200
    key_to_answer, direct = pin_figures(base, pins)

    print(f"frame round trip, DISPLAY {len(frame)} B + ACK {len(ack)} B, {frames} frames")
    print(f"  115200 baud        {fmt(paced_trips)}")
    print(f"  unpaced (baseline) {fmt(raw_trips)}")
    ratio = statistics.median(paced_trips) / statistics.median(raw_trips)
    print(f"  bytes on the wire at 115200: {wire_s * 1000:.1f} ms; "
          f"p50 ratio paced/unpaced {ratio:.2f}")
    print(f"handshake (HELLO -> session up), {handshakes} runs")
    print(f"  115200 baud        {fmt(paced_shakes)}")
    print(f"  unpaced (baseline) {fmt(raw_shakes)}")
    print(f"last key press -> card VERIFY answer, {pins} keypad entries (realistic card timing)")
    print(f"  through the terminal {fmt(key_to_answer)}")
    print(f"  VERIFY from the box  {fmt(direct)}  (baseline)")
    print(f"  ratio p50 {statistics.median(key_to_answer) / statistics.median(direct):.1f}")


if __name__ == "__main__":
    main()
