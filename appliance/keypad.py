"""4×4 keypad matrix scan with debounce.

Rows are driven low one at a time; the columns have pull-ups, so a pressed key reads 0 in its
column while its row is low. A key counts as pressed (or released) only after it reads the same
for ``DEBOUNCE_MS``: contacts bounce for a few milliseconds and one press must give one digit.
Only one key at a time is reported; a second key held with the first is ignored (ghosting on a
diode-less matrix makes multi-key reads unreliable anyway).
"""

from appliance.hal import Pin

LAYOUT = ("123A", "456B", "789C", "*0#D")
DEBOUNCE_MS = 20

# Roles of the non-digit keys on the pad (printed on the keycaps of the terminal's overlay).
VALIDATE = "#"
CORRECT = "*"
CANCEL = "D"


class Keypad:
    def __init__(self, rows: list[Pin], cols: list[Pin]) -> None:
        self.rows = rows
        self.cols = cols
        self._raw = ""  # what the last scan read
        self._since = 0  # when the raw reading last changed
        self._stable = ""  # the debounced state

    def _read(self) -> str:
        found = ""
        for r, row in enumerate(self.rows):
            for other in self.rows:
                other.value(1)
            row.value(0)
            for c, col in enumerate(self.cols):
                if col.value() == 0 and not found:
                    found = LAYOUT[r][c]
            row.value(1)
        return found

    def scan(self, now: int) -> str:
        """Scan once; returns a key at the moment its press becomes stable, else ''."""
        raw = self._read()
        if raw != self._raw:
            self._raw = raw
            self._since = now
            return ""
        if raw != self._stable and now - self._since >= DEBOUNCE_MS:
            self._stable = raw
            return raw  # '' on release
        return ""
