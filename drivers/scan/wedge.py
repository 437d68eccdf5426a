"""HID keyboard-wedge QR scanners through Linux evdev (``/dev/input/event*``), where present.

Many cheap scanners only act as a USB keyboard: they "type" the code and press Enter. On the
box there is no one typing, so the daemon reads the scanner's evdev device directly, grabs it
(``EVIOCGRAB``: the keystrokes do not reach a console), and turns key events back into text.
The scanner types for a keyboard *layout* it was configured for: French scanners often send
AZERTY key positions (digits are Shift + the top row), so the layout is configuration.

The kernel's ``struct input_event`` is read as bytes — no binding library is needed — and the
same parser is fed by the tests from a pipe (no ``/dev/uinput`` in CI containers).
"""

from __future__ import annotations

import fcntl
import os
import stat
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from drivers.scan.framing import MAX_CODE_BYTES, Code, Garbage, Item

EVENT = struct.Struct("llHHi")  # struct timeval, __u16 type, __u16 code, __s32 value
EV_KEY = 0x01
KEY_ENTER, KEY_KPENTER = 28, 96
SHIFTS = {42, 54}
EVIOCGRAB = 0x40044590

# Linux key codes of the main block, per row: (code, unshifted, shifted) for a US layout.
_US_ROWS = [
    (2, "1234567890-=", "!@#$%^&*()_+"),
    (16, "qwertyuiop[]", "QWERTYUIOP{}"),
    (30, "asdfghjkl;'`", 'ASDFGHJKL:"~'),
    (43, "\\zxcvbnm,./", "|ZXCVBNM<>?"),
]
# The same key positions on a French AZERTY layout (what a scanner set to "France" sends).
_FR_ROWS = [
    (2, "&é\"'(-è_çà)=", "1234567890°+"),
    (16, "azertyuiop^$", "AZERTYUIOP¨£"),
    (30, "qsdfghjklmù²", "QSDFGHJKLM%~"),
    (43, "*wxcvbn,;:!", "µWXCVBN?./§"),
]


def _keymap(rows: list[tuple[int, str, str]]) -> dict[int, tuple[str, str]]:
    out = {57: (" ", " "), 15: ("\t", "\t")}
    for first, plain, shifted in rows:
        for i, (a, b) in enumerate(zip(plain, shifted, strict=True)):
            out[first + i] = (a, b)
    for code, digit in zip(range(71, 83), "789-456+1230", strict=True):
        out[code] = (digit, digit)  # keypad
    return out


LAYOUTS = {"us": _keymap(_US_ROWS), "fr": _keymap(_FR_ROWS)}


class WedgeDecoder:
    """Key events in, codes out (one per Enter)."""

    def __init__(self, layout: str = "us", max_chars: int = MAX_CODE_BYTES) -> None:
        if layout not in LAYOUTS:
            raise ValueError(f"unknown keyboard layout {layout!r} (known: {', '.join(LAYOUTS)})")
        self._map = LAYOUTS[layout]
        self._max = max_chars
        self._shift: set[int] = set()
        self._chars: list[str] = []
        self._unknown: list[int] = []

    def event(self, type_: int, code: int, value: int) -> Item | None:
        if type_ != EV_KEY:
            return None
        if code in SHIFTS:
            (self._shift.add if value else self._shift.discard)(code)
            return None
        if value != 1:  # releases and auto-repeat
            return None
        if code in (KEY_ENTER, KEY_KPENTER):
            chars, unknown = self._chars, self._unknown
            self._chars, self._unknown = [], []
            text = "".join(chars)
            if unknown:
                return Garbage("unknown-keys", bytes(min(k, 255) for k in unknown[:64]))
            if len(text) > self._max:
                return Garbage("too-long", text[:64].encode())
            return Code(text) if text else None
        keys = self._map.get(code)
        if keys is None:
            self._unknown.append(code)
        elif len(self._chars) <= self._max:
            self._chars.append(keys[1] if self._shift else keys[0])
        return None


def events(stream: BinaryIO) -> Iterator[tuple[int, int, int]]:
    """(type, code, value) triples from a stream of ``struct input_event``."""
    while True:
        raw = b""
        while len(raw) < EVENT.size:  # a pipe may deliver part of a struct
            piece = stream.read(EVENT.size - len(raw))
            if not piece:
                return
            raw += piece
        _sec, _usec, type_, code, value = EVENT.unpack(raw)
        yield type_, code, value


def read_device(path: Path, decoder: WedgeDecoder) -> Iterator[Item]:
    """Items from an evdev device (grabbed) or any stream of input events; ends on unplug."""
    fd = os.open(path, os.O_RDONLY)
    try:
        if stat.S_ISCHR(os.fstat(fd).st_mode):
            fcntl.ioctl(fd, EVIOCGRAB, 1)
        with os.fdopen(fd, "rb", buffering=0, closefd=False) as stream:
            for type_, code, value in events(stream):
                item = decoder.event(type_, code, value)
                if item is not None:
                    yield item
    finally:
        os.close(fd)
