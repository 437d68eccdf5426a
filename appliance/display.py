"""The terminal's screen: one interface, a 16×2 character LCD behind it.

The common HD44780 LCD with a PCF8574 I2C backpack (address 0x27): each I2C byte sets the
expander's eight outputs, wired P0=RS, P1=RW, P2=E, P3=backlight, P4..P7=D4..D7, and the
controller runs in 4-bit mode, so every byte for the controller is two nibbles, each strobed
with E. An SSD1306 OLED would be another class with the same ``show``; the firmware only
knows ``Display``.
"""

from appliance.hal import I2c

WIDTH = 16
HEIGHT = 2

_RS = 0x01
_E = 0x04
_BACKLIGHT = 0x08

# HD44780 ROM A00 has no accented letters: fold the French ones the screens use.
_FOLD = {"é": "e", "è": "e", "ê": "e", "à": "a", "â": "a", "ç": "c", "ô": "o", "î": "i", "ù": "u",
         "É": "E", "È": "E", "À": "A", "Ç": "C"}


def fold(text: str) -> str:
    out = ""
    for ch in text:
        ch = _FOLD.get(ch, ch)
        out += ch if 32 <= ord(ch) < 127 else "?"
    return out


class Display:
    def show(self, lines: list[str]) -> None:
        """Put up to two lines on screen (cut to the width, padded with spaces)."""
        raise NotImplementedError


class Lcd1602(Display):
    def __init__(self, i2c: I2c, addr: int = 0x27) -> None:
        self.i2c = i2c
        self.addr = addr
        self._shown: list[str] = []
        # Power-on: three times "8-bit mode" as a lone high nibble, then "4-bit mode".
        for nibble in (0x3, 0x3, 0x3, 0x2):
            self._nibble(nibble << 4, 0)
        for cmd in (0x28, 0x0C, 0x06, 0x01):  # 2 lines 5x8, display on, increment, clear
            self._byte(cmd, 0)

    def _nibble(self, high: int, rs: int) -> None:
        bits = (high & 0xF0) | _BACKLIGHT | rs
        self.i2c.writeto(self.addr, bytes((bits | _E, bits)))

    def _byte(self, value: int, rs: int) -> None:
        self._nibble(value & 0xF0, rs)
        self._nibble((value << 4) & 0xF0, rs)

    def show(self, lines: list[str]) -> None:
        padded = []
        for row in range(HEIGHT):
            line = lines[row] if row < len(lines) else ""
            padded.append((fold(line) + " " * WIDTH)[:WIDTH])
        for row, text in enumerate(padded):
            if len(self._shown) > row and self._shown[row] == text:
                continue
            self._byte(0x80 | (0x40 * row), 0)  # DDRAM address of the line
            for ch in text:
                self._byte(ord(ch), _RS)
        self._shown = padded
