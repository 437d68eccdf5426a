"""The terminal firmware on the simulated board, against a host-side Link, on both interpreters.

The keypad is pressed through the simulated matrix (the firmware scans rows and columns), and
the screen is read from the HD44780 decoder fed by the LCD driver's I2C bytes.
"""

from test_link_session import Rng

from appliance import firmware, pin_entry
from appliance import link as L
from appliance import protocol as p
from appliance.hal_sim import SimBoard

SERIAL = "E6614103E7"


class Bench:
    """A terminal on a simulated board, wired to a host Link, with one manual clock."""

    def __init__(self, paired=True):
        self.keys = {}
        self.board = SimBoard(SERIAL, b"seed")
        self.term = firmware.Terminal(self.board)
        self.host = L.Link(L.HOST, Rng(b"host"), lookup=self.keys.get)
        self.events = []
        self.cut = False
        self.host.start(0)
        if paired:
            self.run(100)
            self.host.start_pairing(self.board.now)
            self.run(200)
            self.press("#")
            self.run(500)
            assert self.host.up, self.host.state

    def run(self, ms, step=5):
        for _ in range(ms // step):
            self.board.now += step
            now = self.board.now
            self.term.step(now)
            out = self.board.uart.take()
            events = self.host.tick(now)
            if out and not self.cut:
                events.extend(self.host.feed(out, now))
            for event in events:
                if event.kind == "paired":
                    self.keys[event.info] = bytes(event.body)
                self.events.append(event)
            out = self.host.take_output()
            if out and not self.cut:
                self.board.uart.inject(out)

    def press(self, keys, hold=40):
        for key in keys:
            self.board.matrix.held = key
            self.run(hold)
            self.board.matrix.held = ""
            self.run(hold)

    def screen(self):
        return self.board.lcd.lines()

    def messages(self):
        return [(e.ftype, bytes(e.body)) for e in self.events if e.kind == "message"]

    def send(self, ftype, body):
        self.host.send(ftype, body, self.board.now)
        self.run(60)


def test_lcd_shows_what_the_box_names():
    bench = Bench()
    bench.send(p.DISPLAY, b'{"screen": "idle", "counter": "Comptoir 2"}')
    assert bench.screen() == ["Comptoir 2      ", "Pret            "]
    bench.send(p.DISPLAY, b'{"screen": "insert_card"}')
    assert bench.screen()[0] == "Inserez la carte"


def test_pairing_code_on_the_glass_matches_the_box_and_needs_the_key():
    bench = Bench(paired=False)
    bench.run(100)
    assert bench.screen()[0].startswith("Non appaire")
    bench.host.start_pairing(bench.board.now)
    bench.run(200)
    code = next(e.info for e in bench.events if e.kind == "pair_code")
    assert bench.screen() == ["Appairage " + code, "Meme code? #oui "]
    assert bench.board.key is None
    bench.press("#")
    bench.run(500)
    assert bench.board.key is not None and bench.keys[SERIAL] == bench.board.key
    assert bench.host.up


def test_pin_entry_masked_with_correction_and_validation():
    bench = Bench()
    bench.send(p.PIN_REQUEST, b'{"tries_left": 3}')
    assert bench.screen() == ["Code PIN : ____ ", "3 essai(s) rest."]
    bench.press("12")
    assert bench.screen()[0] == "Code PIN : **__ "
    bench.press("*")  # correction
    bench.press("#")  # validation refused: not 4 digits yet
    assert bench.messages() == []
    bench.press("934")
    assert bench.screen()[0] == "Code PIN : **** "
    bench.press("5#")  # a fifth digit is ignored
    bench.run(100)
    assert bench.messages() == [(p.PIN_ENTERED, b"1934")]
    assert bench.term.pin._digits == bytearray(4)  # wiped
    for line in bench.screen():
        assert "1934" not in line and "9" not in line


def test_cancel_and_timeout_are_reported_without_digits():
    bench = Bench()
    bench.send(p.PIN_REQUEST, b'{"timeout_ms": 2000}')
    bench.press("12D")
    bench.run(100)
    assert bench.messages()[-1] == (p.PIN_CANCELLED, b"")
    assert bench.term.pin._digits == bytearray(4)
    bench.send(p.PIN_REQUEST, b'{"timeout_ms": 2000}')
    bench.press("7")
    bench.run(2100)
    assert bench.messages()[-1] == (p.PIN_TIMEOUT, b"")
    assert bench.term.pin._digits == bytearray(4)
    assert bench.screen()[0].startswith("Temps depasse")


def test_link_lost_during_entry_wipes_the_digits():
    bench = Bench()
    bench.send(p.PIN_REQUEST, b"{}")
    bench.press("123")
    bench.cut = True
    bench.run(L.DEAD_MS + 500)
    assert not bench.term.pin.active
    assert bench.term.pin._digits == bytearray(4)
    assert bench.screen()[1].startswith("Connexion")


def test_debounce_ignores_contact_bounce():
    bench = Bench()
    for _ in range(5):  # 10 ms blips: shorter than the debounce time
        bench.board.matrix.held = "5"
        bench.run(10)
        bench.board.matrix.held = ""
        bench.run(10)
    bench.run(60)
    assert bench.messages() == []
    bench.press("5")
    bench.run(60)
    assert bench.messages() == [(p.KEY, b"5")]


def test_scanner_lines_become_scan_frames():
    bench = Bench()
    bench.board.scanner_uart.inject(b"QR-DATA-1\r\nQR-2")
    bench.run(60)
    bench.board.scanner_uart.inject(b"\n")
    bench.run(60)
    assert bench.messages() == [(p.SCAN, b"QR-DATA-1"), (p.SCAN, b"QR-2")]


def test_box_abort_stops_entry():
    bench = Bench()
    bench.send(p.PIN_REQUEST, b"{}")
    bench.press("12")
    bench.send(p.PIN_ABORT, b"")
    assert not bench.term.pin.active
    assert bench.term.pin._digits == bytearray(4)
    assert pin_entry.PIN_LEN == 4
