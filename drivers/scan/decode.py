"""Reading QR codes in camera frames and images: the default decoder and the candidates.

The default is the winner of ``bench/qr_decode.py`` (see docs/scanning.md for the table):
zxing-cpp restricted to QR codes, on the grey frame, then — only when that pass finds
nothing, or sees a QR symbol it cannot decode — a second pass on a 1.5× enlarged,
unsharp-masked copy, which recovers the small, blurred codes of a paper ordonnance held under
a webcam (2–3 px per module is where a single pass loses them), and a plain 2× copy if that
fails too. Frames with a readable code pay for one pass; empty frames pay for all three, but
an idle camera's frames do not change and :mod:`drivers.scan.camera` decodes only frames that
changed.

Every decoder answers with the texts it read, in reading order, without duplicates. Only
codes whose error correction succeeded are returned: a wrong text would be worse than none.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import zxingcpp

MAX_IMAGE_BYTES = 8 * 1024 * 1024
"""Largest image file accepted for decoding (a 12-Mpx JPEG is ~5 MB)."""
MAX_PIXELS = 40_000_000
"""Largest decoded image accepted: a small file may still inflate (decompression bomb)."""

_QR = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)

Decoder = Callable[[np.ndarray], list[str]]


class ImageError(ValueError):
    """An image that cannot be decoded as JPEG/PNG (one line)."""


def _gray(frame: np.ndarray) -> np.ndarray:
    if frame.ndim == 2:
        return frame
    return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)


def _unique(texts: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(texts))


def _zxing_read(gray: np.ndarray, *, downscale: bool = True, errors: bool = False) -> list[Any]:
    found: list[Any] = zxingcpp.read_barcodes(
        gray, formats=_QR, try_rotate=True, try_downscale=downscale, try_invert=False,
        return_errors=errors,
    )
    return found


def _zxing_pass(gray: np.ndarray, *, downscale: bool = True) -> list[str]:
    return [b.text for b in _zxing_read(gray, downscale=downscale) if b.valid]


def zxing_single(frame: np.ndarray) -> list[str]:
    """zxing-cpp, one pass, QR only: the baseline of the benchmark."""
    return _unique(_zxing_pass(_gray(frame)))


def _enlarged(gray: np.ndarray, factor: float, sharpen: float) -> np.ndarray:
    big = cv2.resize(gray, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)
    if not sharpen:
        return big
    soft = cv2.GaussianBlur(big, (0, 0), factor)
    return cv2.addWeighted(big, 1 + sharpen, soft, -sharpen, 0)


@dataclass(frozen=True)
class TunedZxing:
    """The default: zxing-cpp at the camera's resolution; then, only when that found nothing
    *or* found a QR symbol it could not decode (zxing reports those with ``return_errors``:
    a second, smaller or blurrier code beside a good one), a 1.5× enlarged unsharp-masked
    copy, then a plain 2× copy. zxing's own downscaling is off: for these small codes it
    costs time and finds nothing more.

    ``expected`` > 1 makes the later passes run whenever fewer codes than that were found
    (a camera that routinely sees two codes); the benchmark shows what that costs.
    """

    expected: int = 1

    def __call__(self, frame: np.ndarray) -> list[str]:
        gray = _gray(frame)
        first = _zxing_read(gray, downscale=False, errors=True)
        texts = [b.text for b in first if b.valid]
        failed = any(not b.valid for b in first)
        needed = max(self.expected, len(set(texts)) + (1 if failed else 0))
        for factor, sharpen in ((1.5, 0.6), (2.0, 0.0)):
            if len(set(texts)) >= needed:
                break
            texts += _zxing_pass(_enlarged(gray, factor, sharpen), downscale=False)
        return _unique(texts)


def _opencv(detector: cv2.QRCodeDetector | cv2.QRCodeDetectorAruco) -> Decoder:
    def decode(frame: np.ndarray) -> list[str]:
        ok, texts, _points, _straight = detector.detectAndDecodeMulti(_gray(frame))
        return _unique([t for t in texts if t]) if ok else []

    return decode


def candidates() -> dict[str, Decoder]:
    """Every decoder the benchmark compares, by name; ``default`` is what the box uses."""
    return {
        "default (zxing-cpp, enlarged on miss)": TunedZxing(),
        "zxing-cpp single pass": zxing_single,
        "zxing-cpp, enlarged unless 2 codes found": TunedZxing(expected=2),
        "opencv QRCodeDetector": _opencv(cv2.QRCodeDetector()),
        "opencv QRCodeDetectorAruco": _opencv(cv2.QRCodeDetectorAruco()),
    }


default_decoder: Decoder = TunedZxing()


def image_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG or JPEG header, read before any pixel is decoded, so a
    small file that would inflate to gigabytes (decompression bomb) is refused early."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24 and data[12:16] == b"IHDR":
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data.startswith(b"\xff\xd8"):
        at = 2
        while at + 4 <= len(data):
            if data[at] != 0xFF:
                break
            marker = data[at + 1]
            if marker == 0xFF:  # fill byte
                at += 1
                continue
            length = int.from_bytes(data[at + 2 : at + 4], "big")
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC) and at + 9 <= len(data):
                height = int.from_bytes(data[at + 5 : at + 7], "big")
                width = int.from_bytes(data[at + 7 : at + 9], "big")
                return width, height
            at += 2 + length
        raise ImageError("the JPEG data is damaged (no frame header)")
    raise ImageError("not a JPEG or PNG image")


def load_image(data: bytes) -> np.ndarray:
    """JPEG or PNG bytes to a BGR array, refusing what is not an image or too big."""
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageError(f"image larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MiB")
    width, height = image_size(data)
    if width * height > MAX_PIXELS:
        raise ImageError(f"image has more than {MAX_PIXELS // 1_000_000} Mpx")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ImageError("the image data is damaged")
    return image


def decode_file(path: Path, decoder: Decoder | None = None) -> list[str]:
    """Reads an image file and decodes it (``comptoir scan decode``)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImageError(f"cannot read: {exc.strerror or exc}") from exc
    return (decoder or default_decoder)(load_image(data))
