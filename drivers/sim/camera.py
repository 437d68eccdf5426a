"""A simulated counter camera: plays a folder of images (or, through
:class:`drivers.scan.camera.CaptureSource`, a video file) as a stream of frames.

Each image is shown for ``hold`` frames at ``fps`` — like a prescription held under a webcam —
so the camera driver's changed-frame detection and scan window are exercised as on a box.
"""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}


class FolderCamera:
    def __init__(self, folder: Path, *, hold: int = 10, fps: float = 0.0, loop: bool = False,
                 noise: float = 0.0, seed: int = 0) -> None:
        self.paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self.paths:
            raise OSError(f"no JPEG or PNG images in {folder}")
        self.hold = max(1, hold)
        self.fps = fps
        self.loop = loop
        self.noise = noise  # sensor noise so held frames are not bit-identical
        cv2.setRNGSeed(seed)
        self._index = 0
        self._shown = 0
        self._current: np.ndarray | None = None
        self._next_at = time.monotonic()

    def read(self) -> np.ndarray | None:
        if self._index >= len(self.paths):
            if not self.loop:
                return None
            self._index = 0
        if self._current is None:
            image = cv2.imread(str(self.paths[self._index]), cv2.IMREAD_COLOR)
            if image is None:
                raise OSError(f"cannot read image {self.paths[self._index]}")
            self._current = image
        frame = self._current
        if self.noise:
            jitter = np.empty(frame.shape, np.int16)
            cv2.randn(jitter, np.zeros(1), np.full(1, self.noise))
            frame = cv2.add(frame, jitter, dtype=cv2.CV_8U)
        self._shown += 1
        if self._shown >= self.hold:
            self._index += 1
            self._shown = 0
            self._current = None
        if self.fps > 0:
            self._next_at += 1 / self.fps
            delay = self._next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        return frame

    def close(self) -> None:
        self._current = None
