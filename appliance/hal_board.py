"""The ``hal`` over MicroPython's ``machine`` on a Raspberry Pi Pico (RP2040) terminal.

Wiring (docs/terminal.md has the table): link to the box over the Pico's USB CDC port;
keypad rows GP2..GP5 (outputs), columns GP6..GP9 (inputs with pull-ups); LCD backpack on I2C0
(SDA GP20, SCL GP21); QR scanner module's TX on UART0 RX (GP1) at 9600 baud.
Only this module imports ``machine``: it is type-checked against the pinned
micropython-rp2-rpi-pico-stubs, never imported on CPython.
"""

import os
import select
import sys
import time

import machine
import micropython

from appliance import hal

KEY_FILE = "link.key"


class UsbCdc(hal.Uart):
    """The USB serial port (the REPL's console). Ctrl-C is disabled: 0x03 is frame data."""

    def __init__(self) -> None:
        micropython.kbd_intr(-1)
        self._poll = select.poll()
        self._poll.register(sys.stdin, select.POLLIN)
        self._in = sys.stdin.buffer
        self._out = sys.stdout.buffer

    def read_available(self) -> bytes:
        data = bytearray()
        while self._poll.poll(0) and len(data) < 512:
            chunk = self._in.read(1)
            if not chunk:
                break
            data.extend(chunk)
        return bytes(data)

    def write(self, data: bytes) -> None:
        self._out.write(data)


class MachineUart(hal.Uart):
    def __init__(self, uart: machine.UART) -> None:
        self._uart = uart

    def read_available(self) -> bytes:
        n = self._uart.any()
        return bytes(self._uart.read(n) or b"") if n else b""

    def write(self, data: bytes) -> None:
        self._uart.write(data)


class GpioPin(hal.Pin):
    def __init__(self, pin: machine.Pin) -> None:
        self._pin = pin

    def value(self, v: int | None = None) -> int:
        if v is None:
            return int(self._pin.value())
        self._pin.value(v)
        return v


class MachineI2c(hal.I2c):
    def __init__(self, i2c: machine.I2C) -> None:
        self._i2c = i2c

    def writeto(self, addr: int, data: bytes) -> None:
        self._i2c.writeto(addr, data)


class MachineWdt(hal.Wdt):
    def __init__(self, timeout_ms: int = 8000) -> None:  # the RP2040's longest is 8.3 s
        self._wdt = machine.WDT(timeout=timeout_ms)

    def feed(self) -> None:
        self._wdt.feed()


class PicoBoard(hal.Board):
    def __init__(self, scanner: bool = True) -> None:
        self.uart = UsbCdc()
        self.scanner = None
        if scanner:
            self.scanner = MachineUart(machine.UART(0, baudrate=9600, rx=machine.Pin(1)))
        pin = machine.Pin
        self.rows = [GpioPin(pin(n, pin.OUT, value=1)) for n in (2, 3, 4, 5)]
        self.cols = [GpioPin(pin(n, pin.IN, pin.PULL_UP)) for n in (6, 7, 8, 9)]
        self.i2c = MachineI2c(machine.I2C(0, sda=machine.Pin(20), scl=machine.Pin(21), freq=100000))
        self.wdt = MachineWdt()
        self._last = time.ticks_ms()
        self._elapsed = 0

    def ticks_ms(self) -> int:
        # time.ticks_ms wraps; the link's timers want a plain growing integer.
        now = time.ticks_ms()
        self._elapsed += time.ticks_diff(now, self._last)
        self._last = now
        return self._elapsed

    def random_bytes(self, n: int) -> bytes:
        return bytes(os.urandom(n))  # the RP2040's ring-oscillator source

    def unique_id(self) -> str:
        return "".join(f"{b:02X}" for b in machine.unique_id())

    def load_key(self) -> bytes | None:
        try:
            with open(KEY_FILE, "rb") as f:
                key = f.read()
        except OSError:
            return None
        return key if len(key) == 32 else None

    def store_key(self, key: bytes | None) -> None:
        if key is None:
            try:
                os.remove(KEY_FILE)
            except OSError:  # no file: nothing to forget (MicroPython has no contextlib)
                return
            return
        with open(KEY_FILE, "wb") as f:
            f.write(key)
