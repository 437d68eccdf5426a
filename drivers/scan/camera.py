"""A camera watching the counter: decode only frames that changed, one scan per code shown.

A webcam delivers 15–30 frames a second, almost all identical while nothing moves, and a code
held under it stays visible for seconds. Decoding every frame would burn the box's small CPU
and report the same code dozens of times. So: each frame is reduced to a small grey thumbnail
and compared with the last frame that was decoded; only a frame where at least
``changed_blocks`` blocks moved by more than ``change_threshold`` grey levels is decoded
(a mean over the whole frame would miss one code replaced by another in the same place).
A code seen again within ``window_s`` of its last sighting is the same scan, not a new
one — a prescription held for ten seconds is one scan; shown again a minute later, it is a
new scan (which the ordonnance guard then judges).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from drivers.scan.decode import Decoder, default_decoder

THUMB = (160, 90)
"""8×8-pixel blocks at 720p: a code replaced by another of the same size still changes many
blocks by tens of grey levels, while sensor noise moves a block's mean by well under one."""


class FrameSource(Protocol):
    def read(self) -> np.ndarray | None:
        """The next frame, or None when the source has ended or failed."""

    def close(self) -> None: ...


class CaptureSource:
    """OpenCV capture: a camera index (``0`` for /dev/video0), a device path or a video file."""

    def __init__(self, source: int | str) -> None:
        self._cap = cv2.VideoCapture(source)
        if not self._cap.isOpened():
            raise OSError(f"cannot open camera or video {source!r}")

    def read(self) -> np.ndarray | None:
        ok, frame = self._cap.read()
        return frame if ok else None

    def close(self) -> None:
        self._cap.release()


@dataclass
class CameraStats:
    frames: int = 0
    decoded: int = 0
    scans: int = 0


class CameraScanner:
    """Turns frames into scans; :meth:`process` is the whole logic, :meth:`run` the loop."""

    def __init__(self, on_code: Callable[[str], None], *, decoder: Decoder | None = None,
                 window_s: float = 3.0, change_threshold: float = 12.0,
                 changed_blocks: int = 3,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._on_code = on_code
        self._decode = decoder or default_decoder
        self.window_s = window_s
        self.change_threshold = change_threshold
        self.changed_blocks = changed_blocks
        self._clock = clock
        self._last_thumb: np.ndarray | None = None
        self._last_codes: list[str] = []
        self._seen: dict[str, float] = {}
        self.stats = CameraStats()

    def _changed(self, frame: np.ndarray) -> bool:
        gray = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        thumb = cv2.resize(gray, THUMB, interpolation=cv2.INTER_AREA).astype(np.int16)
        if self._last_thumb is not None:
            moved = np.abs(thumb - self._last_thumb) > self.change_threshold
            if int(np.count_nonzero(moved)) < self.changed_blocks:
                return False
        self._last_thumb = thumb
        return True

    def process(self, frame: np.ndarray) -> list[str]:
        """Returns the codes that count as new scans in this frame (already passed on)."""
        self.stats.frames += 1
        now = self._clock()
        if self._changed(frame):
            self.stats.decoded += 1
            self._last_codes = self._decode(frame)
        # An unchanged frame still shows the codes of the last decoded one: they stay "seen",
        # so a code held still does not become a second scan when the window runs out.
        new = []
        for code in self._last_codes:
            last = self._seen.get(code)
            self._seen[code] = now
            if last is None or now - last > self.window_s:
                new.append(code)
        for code in [c for c, t in self._seen.items() if now - t > self.window_s]:
            del self._seen[code]
        for code in new:
            self.stats.scans += 1
            self._on_code(code)
        return new

    def run(self, source: FrameSource, should_stop: Callable[[], bool],
            max_frames: int | None = None) -> CameraStats:
        """Reads until the source ends, ``should_stop()`` or ``max_frames``."""
        try:
            while not should_stop() and (max_frames is None or self.stats.frames < max_frames):
                frame = source.read()
                if frame is None:
                    break
                self.process(frame)
        finally:
            source.close()
        return self.stats
