"""Cutting a scanner's byte stream into codes: configurable prefix/suffix framing.

Serial QR scanners (USB CDC or RS-232) send each code followed by a suffix (CR by factory
default, often CR LF), sometimes preceded by a prefix the technician programmed. Reads arrive
in arbitrary pieces: one code split over several reads, several codes in one read. Nothing is
dropped silently: bytes outside a frame, an over-long line or text that is not UTF-8 become a
:class:`Garbage` item carrying the raw bytes, so the counter can show "unreadable scan".
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_CODE_BYTES = 4096
"""A QR code holds at most 2,953 bytes; a longer line is noise or a stuck scanner."""

_LINE_ENDS = {b"\r", b"\n", b"\r\n"}


class FramingError(ValueError):
    """Framing settings that cannot work (one line)."""


@dataclass(frozen=True)
class Framing:
    """How a scanner delimits codes. ``suffix`` CR, LF or CR LF all mean "end of line": any of
    CR or LF ends a code and empty lines are ignored, since scanners are often reprogrammed
    between CR and CR LF and the box should not care."""

    prefix: bytes = b""
    suffix: bytes = b"\r"
    max_bytes: int = MAX_CODE_BYTES

    def __post_init__(self) -> None:
        if not self.suffix:
            raise FramingError("suffix must not be empty: nothing would end a code")
        if not 16 <= self.max_bytes <= 65536:
            raise FramingError("max_bytes must be between 16 and 65536")
        if self.prefix and self.prefix in self.suffix:
            raise FramingError("prefix and suffix must differ")

    @property
    def line_mode(self) -> bool:
        return self.suffix in _LINE_ENDS


@dataclass(frozen=True)
class Code:
    text: str


@dataclass(frozen=True)
class Garbage:
    """Bytes that are not a code; ``reason`` is a short slug for the event."""

    reason: str  # outside-frame | too-long | not-utf8 | cut
    raw: bytes


Item = Code | Garbage


class Assembler:
    """Feeds arbitrary chunks, returns the complete items in order."""

    def __init__(self, framing: Framing) -> None:
        self.framing = framing
        self._buf = bytearray()
        self._skipping = False  # after an over-long line: discard until the next suffix

    def feed(self, data: bytes) -> list[Item]:
        self._buf += data
        out: list[Item] = []
        while True:
            end, end_len = self._find_end()
            if end < 0:
                break
            frame = bytes(self._buf[:end])
            del self._buf[: end + end_len]
            if self._skipping:
                self._skipping = False
                continue
            out += self._frame(frame)
        if len(self._buf) > self.framing.max_bytes + len(self.framing.prefix):
            if not self._skipping:
                out.append(Garbage("too-long", bytes(self._buf[:64])))
            self._skipping = True
            self._buf.clear()
        return out

    def flush(self) -> list[Item]:
        """The partial frame left when the scanner went away: reported, not lost."""
        rest = bytes(self._buf)
        self._buf.clear()
        skipping, self._skipping = self._skipping, False
        return [] if not rest or skipping else [Garbage("cut", rest[:64])]

    def _find_end(self) -> tuple[int, int]:
        if self.framing.line_mode:
            positions = [p for p in (self._buf.find(b"\r"), self._buf.find(b"\n")) if p >= 0]
            return (min(positions), 1) if positions else (-1, 0)
        return self._buf.find(self.framing.suffix), len(self.framing.suffix)

    def _frame(self, frame: bytes) -> list[Item]:
        items: list[Item] = []
        prefix = self.framing.prefix
        if prefix:
            at = frame.find(prefix)
            if at < 0:
                return [Garbage("outside-frame", frame[:64])] if frame.strip() else []
            if frame[:at].strip():
                # Noise before the prefix is reported; the framed code after it still counts.
                items.append(Garbage("outside-frame", frame[:at][:64]))
            frame = frame[at + len(prefix) :]
        if not frame:
            return items
        if len(frame) > self.framing.max_bytes:
            return [*items, Garbage("too-long", frame[:64])]
        try:
            items.append(Code(frame.decode("utf-8")))
        except UnicodeDecodeError:
            items.append(Garbage("not-utf8", frame[:64]))
        return items
