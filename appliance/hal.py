"""The thin hardware layer the firmware sees: UART, keypad matrix pins, I2C, watchdog, clock,
entropy and a little storage.

Two implementations: ``appliance.hal_board`` over MicroPython's ``machine`` (the board) and
``appliance.hal_sim`` (CPython tests and MicroPython under Node). The firmware only calls the
methods named here, so the same logic runs on all three. MicroPython has no ``abc`` or
``typing.Protocol``; this base class documents the contract and fails loudly if a method is
missing.
"""


class Uart:
    def read_available(self) -> bytes:
        """Every byte received since the last call (empty if none); never blocks."""
        raise NotImplementedError

    def write(self, data: bytes) -> None:
        raise NotImplementedError


class Pin:
    """One GPIO: rows are driven (``value(0|1)``), columns read with pull-ups (``value()``)."""

    def value(self, v: int | None = None) -> int:
        raise NotImplementedError


class I2c:
    def writeto(self, addr: int, data: bytes) -> None:
        raise NotImplementedError


class Wdt:
    def feed(self) -> None:
        raise NotImplementedError


class Board:
    """What a board offers the firmware."""

    uart: Uart  # the link to the box (USB CDC or a UART)
    scanner: Uart | None  # the QR scanner module, if fitted
    rows: list[Pin]
    cols: list[Pin]
    i2c: I2c
    wdt: Wdt

    def ticks_ms(self) -> int:
        """Milliseconds, monotonic, never wrapping (the board's ticks are unwrapped)."""
        raise NotImplementedError

    def random_bytes(self, n: int) -> bytes:
        raise NotImplementedError

    def unique_id(self) -> str:
        raise NotImplementedError

    def load_key(self) -> bytes | None:
        raise NotImplementedError

    def store_key(self, key: bytes | None) -> None:
        raise NotImplementedError
