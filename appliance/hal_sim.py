"""The simulated board: the same ``hal`` contract over in-memory parts.

Used by the firmware's tests on CPython and on MicroPython, and by the simulated terminal
(MicroPython under Node, its UART bound to a pty). The parts behave like the real ones where
the firmware could tell the difference: the keypad is a matrix whose columns read low only
while their row is driven low, and the LCD is an HD44780 decoder fed the PCF8574 bytes the
driver writes, so a test reads the screen a person would see.
"""

import hashlib
import hmac

from appliance import hal, keypad

TYPE_CHECKING = False
if TYPE_CHECKING:  # MicroPython has no typing module; annotations are never evaluated there.
    from collections.abc import Callable


class SimUart(hal.Uart):
    def __init__(self) -> None:
        self._rx = bytearray()
        self.sink: Callable[[bytes], None] | None = None  # None: buffer in ``tx``
        self.tx = bytearray()

    def inject(self, data: bytes) -> None:
        """Bytes arriving on the line."""
        self._rx.extend(data)

    def read_available(self) -> bytes:
        data = bytes(self._rx)
        self._rx = bytearray()
        return data

    def write(self, data: bytes) -> None:
        if self.sink is not None:
            self.sink(data)
        else:
            self.tx.extend(data)

    def take(self) -> bytes:
        data = bytes(self.tx)
        self.tx = bytearray()
        return data


class SimMatrix:
    """A keypad matrix: the keys held down, and the pins the firmware drives and reads."""

    def __init__(self) -> None:
        self.held = ""
        self.rows = [_RowPin() for _ in range(4)]
        self.cols = [_ColPin(self, c) for c in range(4)]

    def reads_low(self, col: int) -> bool:
        for r, row in enumerate(self.rows):
            if row.level == 0 and keypad.LAYOUT[r][col] in self.held:
                return True
        return False


class _RowPin(hal.Pin):
    def __init__(self) -> None:
        self.level = 1

    def value(self, v: int | None = None) -> int:
        if v is not None:
            self.level = v
        return self.level


class _ColPin(hal.Pin):
    def __init__(self, matrix: SimMatrix, col: int) -> None:
        self.matrix = matrix
        self.col = col

    def value(self, v: int | None = None) -> int:
        return 0 if self.matrix.reads_low(self.col) else 1  # pull-up


class SimLcd(hal.I2c):
    """An HD44780 behind a PCF8574: decodes the expander bytes into what the glass shows."""

    def __init__(self) -> None:
        self.ddram = bytearray(b" " * 0x68)
        self._addr = 0
        self._four_bit = False
        self._half = -1  # first nibble of a byte in 4-bit mode
        self._last = 0
        self.writes = 0

    def writeto(self, addr: int, data: bytes) -> None:
        for b in data:
            if self._last & 0x04 and not b & 0x04:  # E falling edge latches the nibble
                self._nibble(self._last >> 4, self._last & 0x01)
            self._last = b
            self.writes += 1

    def _nibble(self, nibble: int, rs: int) -> None:
        if not self._four_bit:
            if nibble == 0x2:
                self._four_bit = True
            return
        if self._half < 0:
            self._half = nibble
            return
        value = (self._half << 4) | nibble
        self._half = -1
        if rs:
            if self._addr < len(self.ddram):
                self.ddram[self._addr] = value
            self._addr += 1
        elif value == 0x01:
            self.ddram = bytearray(b" " * 0x68)
            self._addr = 0
        elif value & 0x80:
            self._addr = value & 0x7F

    def lines(self) -> list[str]:
        return [bytes(self.ddram[0:16]).decode(), bytes(self.ddram[0x40:0x50]).decode()]


class SimWdt(hal.Wdt):
    def __init__(self, board: "SimBoard", timeout_ms: int = 8000) -> None:
        self.board = board
        self.timeout_ms = timeout_ms
        self.feeds = 0
        self.last_feed = -1
        self.longest_gap = 0

    def feed(self) -> None:
        now = self.board.ticks_ms()
        if self.last_feed >= 0:
            self.longest_gap = max(self.longest_gap, now - self.last_feed)
        self.last_feed = now
        self.feeds += 1


class SimBoard(hal.Board):
    """A board with a manual clock (tests) or any clock given (the Node bridge)."""

    def __init__(
        self,
        serial: str,
        seed: bytes,
        clock: "Callable[[], int] | None" = None,
        key: bytes | None = None,
    ) -> None:
        self.uart = SimUart()
        self.scanner_uart = SimUart()
        self.scanner = self.scanner_uart
        self.matrix = SimMatrix()
        self.rows = list(self.matrix.rows)
        self.cols = list(self.matrix.cols)
        self.lcd = SimLcd()
        self.i2c = self.lcd
        self.wdt = SimWdt(self)
        self.now = 0
        self._clock = clock
        self._serial = serial
        # HMAC-DRBG-style expansion of the seed the simulator draws from the host's CSPRNG.
        self._drbg_key = hmac.new(b"comptoir-sim-drbg", seed, hashlib.sha256).digest()
        self._drbg_counter = 0
        self.key = key
        self.on_key_change: Callable[[bytes | None], None] | None = None

    def ticks_ms(self) -> int:
        if self._clock is not None:
            return int(self._clock())
        return self.now

    def random_bytes(self, n: int) -> bytes:
        out = b""
        while len(out) < n:
            self._drbg_counter += 1
            block = self._drbg_counter.to_bytes(8, "big")
            out += hmac.new(self._drbg_key, block, hashlib.sha256).digest()
        return out[:n]

    def unique_id(self) -> str:
        return self._serial

    def load_key(self) -> bytes | None:
        return self.key

    def store_key(self, key: bytes | None) -> None:
        self.key = key
        if self.on_key_change is not None:
            self.on_key_change(key)
