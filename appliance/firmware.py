"""The counter terminal: link, keypad, screen, PIN entry, scanner relay and watchdog.

``Terminal.step(now)`` does one round of everything and never blocks, so the tests drive it
with a manual clock on both interpreters; ``run`` puts it in MicroPython's asyncio loop on the
board (and on the simulated terminal under Node). The box decides what the screen says: the
terminal renders the screens the box names, and shows on its own only what the box must not
control (the PIN stars, the pairing code, the link state).
"""

import json

from appliance import keypad as kp
from appliance import link as L
from appliance import pin_entry
from appliance import protocol as p
from appliance.display import Display, Lcd1602
from appliance.hal import Board

FIRMWARE_VERSION = "0.2.0"
SCAN_MAX = 200
POLL_MS = 5


def render(screen: str, data: dict[str, object]) -> list[str]:
    """The box's named screens, as two lines of the 16×2 display."""
    text = str(data.get("text", ""))
    if screen == "idle":
        return [str(data.get("counter", "Comptoir")), "Pret"]
    if screen == "insert_card":
        return ["Inserez la carte", text]
    if screen == "result":
        return [text, str(data.get("detail", ""))]
    if screen == "error":
        return ["Erreur", text]
    if screen == "wrong_pin":
        return ["Code faux", f"{data.get('tries_left', '?')} essai(s) rest."]
    # "message" (to the patient) and anything newer than this firmware: the text, wrapped.
    return [text[:16], text[16:32]]


class Terminal:
    def __init__(self, board: Board, display: Display | None = None) -> None:
        self.board = board
        self.display = display if display is not None else Lcd1602(board.i2c)
        self.keypad = kp.Keypad(board.rows, board.cols)
        self.pin = pin_entry.PinEntry()
        self.identity: dict[str, object] = {
            "serial": board.unique_id(),
            "firmware": FIRMWARE_VERSION,
            "keypad": "4x4",
            "display": "lcd16x2",
            "scanner": board.scanner is not None,
            "pin_len": pin_entry.PIN_LEN,
        }
        self.link = L.Link(L.TERMINAL, board.random_bytes, self.identity, board.load_key())
        self._scan = bytearray()
        self._screen: list[str] = []
        self._base = ["Comptoir", "Connexion..."]
        self.loop_rounds = 0
        self._show(self._base)

    def _show(self, lines: list[str]) -> None:
        self._screen = lines
        self.display.show(lines)

    # -- one round ------------------------------------------------------------------------

    def step(self, now: int) -> None:
        data = self.board.uart.read_available()
        events = self.link.feed(data, now) if data else []
        events.extend(self.link.tick(now))
        for event in events:
            self._on_event(event, now)
        key = self.keypad.scan(now)
        if key:
            self._on_key(key, now)
        outcome = self.pin.tick(now)
        if outcome:
            self._pin_done(outcome, None, now)
        self._relay_scanner(now)
        out = self.link.take_output()
        if out:
            self.board.uart.write(out)
        self.loop_rounds += 1

    def _on_event(self, event: L.Event, now: int) -> None:
        kind = event.kind
        if kind == "up":
            self._base = ["Comptoir", "Pret"]
            self._show(self._base)
        elif kind == "down":
            self.pin.stop()  # the link is gone: nobody may receive what was typed
            self._base = ["Comptoir", "Connexion..."]
            self._show(self._base)
        elif kind == "refused":
            self._base = ["Non appaire", "Voir technicien"]
            self._show(self._base)
        elif kind == "pair_code":
            code = str(event.info)
            self._show(["Appairage " + code, "Meme code? #oui"])
        elif kind == "paired":
            self.board.store_key(bytes(event.body))
            self._show(["Appairage", "termine"])
        elif kind == "pair_failed":
            self._show(["Appairage", "refuse"])
        elif kind == "message":
            self._on_message(event.ftype, event.body, now)

    def _on_message(self, ftype: int, body: bytes | bytearray, now: int) -> None:
        try:
            data = json.loads(bytes(body)) if body else {}
        except ValueError:
            return
        if not isinstance(data, dict):
            return
        if ftype == p.DISPLAY:
            self.pin.stop()
            self._base = render(str(data.get("screen", "message")), data)
            self._show(self._base)
        elif ftype == p.PIN_REQUEST:
            tries = data.get("tries_left", -1)
            timeout = data.get("timeout_ms", pin_entry.DEFAULT_TIMEOUT_MS)
            self.pin.start(
                now,
                timeout_ms=timeout if isinstance(timeout, int) else pin_entry.DEFAULT_TIMEOUT_MS,
                tries_left=tries if isinstance(tries, int) else -1,
            )
            self._show(self.pin.screen())
        elif ftype == p.PIN_ABORT:
            self.pin.stop()
            self._show(self._base)

    def _on_key(self, key: str, now: int) -> None:
        if self.link.pairing_code_shown:
            if key == kp.VALIDATE:
                self.link.confirm_pairing(True)
            elif key == kp.CANCEL:
                self.link.confirm_pairing(False)
            return
        if self.pin.active:
            outcome, digits = self.pin.key(key, now)
            if outcome:
                self._pin_done(outcome, digits, now)
            else:
                self._show(self.pin.screen())
            return
        if self.link.up:
            self.link.send(p.KEY, key.encode(), now)

    def _pin_done(self, outcome: str, digits: bytearray | None, now: int) -> None:
        if outcome == pin_entry.ENTERED and digits is not None:
            if self.link.up:
                self.link.send(p.PIN_ENTERED, digits, now)  # the link copies, seals and wipes
            for i in range(len(digits)):
                digits[i] = 0
            self._show(["Verification...", ""])
            return
        ftype = p.PIN_CANCELLED if outcome == pin_entry.CANCELLED else p.PIN_TIMEOUT
        if self.link.up:
            self.link.send(ftype, b"", now)
        self._show(["Annule" if outcome == pin_entry.CANCELLED else "Temps depasse", ""])

    def _relay_scanner(self, now: int) -> None:
        scanner = self.board.scanner
        if scanner is None:
            return
        for byte in scanner.read_available():
            if byte in (10, 13):  # the scanner module ends each code with CR or LF
                if self._scan and self.link.up:
                    self.link.send(p.SCAN, bytes(self._scan), now)
                self._scan = bytearray()
            elif len(self._scan) < SCAN_MAX:
                self._scan.append(byte)

    @property
    def screen(self) -> list[str]:
        return list(self._screen)


async def run(terminal: Terminal) -> None:
    """The firmware's main loop: link and keypad in one task, a watchdog task that feeds the
    hardware watchdog only while that task keeps making rounds (a hung loop resets the board)."""
    import asyncio

    board = terminal.board

    async def work() -> None:
        while True:
            terminal.step(board.ticks_ms())
            await asyncio.sleep(POLL_MS / 1000)

    async def watchdog() -> None:
        seen = -1
        while True:
            if terminal.loop_rounds != seen:
                seen = terminal.loop_rounds
                board.wdt.feed()
            await asyncio.sleep(0.5)

    await asyncio.gather(work(), watchdog())
