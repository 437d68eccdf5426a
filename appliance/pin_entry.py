"""PIN entry on the terminal's keypad: 4 digits, masked, with correction, cancel, validation
and a timeout.

The digits live in one ``bytearray`` that is wiped on every way out (sent, cancelled, timed
out, aborted by the box, link lost); the screen only ever shows stars. The object hands the
digits to its caller exactly once, as a copy the caller must wipe after sealing them.
"""

from appliance import keypad

PIN_LEN = 4
DEFAULT_TIMEOUT_MS = 30000

ENTERED = "entered"
CANCELLED = "cancelled"
TIMEOUT = "timeout"


def _wipe(buf: bytearray) -> None:
    for i in range(len(buf)):
        buf[i] = 0


class PinEntry:
    def __init__(self) -> None:
        self._digits = bytearray(PIN_LEN)
        self._count = 0
        self.active = False
        self._deadline = 0
        self.tries_left = -1
        self.timeout_ms = DEFAULT_TIMEOUT_MS

    def start(self, now: int, timeout_ms: int = DEFAULT_TIMEOUT_MS, tries_left: int = -1) -> None:
        self.stop()
        self.active = True
        self.timeout_ms = timeout_ms
        self._deadline = now + timeout_ms
        self.tries_left = tries_left

    def stop(self) -> None:
        """End the entry, whatever the reason, and wipe what was typed."""
        _wipe(self._digits)
        self._count = 0
        self.active = False

    def screen(self) -> list[str]:
        first = "Code PIN : " + "*" * self._count + "_" * (PIN_LEN - self._count)
        second = "# valider D ann."
        if self.tries_left >= 0:
            second = f"{self.tries_left} essai(s) rest."
        return [first, second]

    def key(self, key: str, now: int) -> tuple[str, bytearray | None]:
        """One debounced key; returns (outcome, digits): outcome '' while typing."""
        if not self.active:
            return "", None
        self._deadline = now + self.timeout_ms  # each key gives the person time again
        if key == keypad.CANCEL:
            self.stop()
            return CANCELLED, None
        if key == keypad.CORRECT:
            if self._count:
                self._count -= 1
                self._digits[self._count] = 0
        elif key == keypad.VALIDATE:
            if self._count == PIN_LEN:
                digits = bytearray(self._digits)
                self.stop()
                return ENTERED, digits
        elif "0" <= key <= "9" and self._count < PIN_LEN:
            self._digits[self._count] = ord(key)
            self._count += 1
        return "", None

    def tick(self, now: int) -> str:
        if self.active and now >= self._deadline:
            self.stop()
            return TIMEOUT
        return ""
