"""Cameras and images: the default decoder on real JPEG/PNG files, a simulated camera playing
a folder and a video file (only changed frames decoded, one scan per code held), the
keyboard-wedge parser on kernel input events, and ``comptoir scan decode``."""

from __future__ import annotations

import io
import os
import struct
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest
import segno
from typer.testing import CliRunner

from drivers.scan.camera import CameraScanner, CaptureSource
from drivers.scan.decode import ImageError, decode_file, default_decoder, image_size, load_image
from drivers.scan.framing import Code, Garbage
from drivers.scan.wedge import EVENT, WedgeDecoder, events, read_device
from drivers.sim.camera import FolderCamera
from hostd.cli import app

ORD = "ORD1:1234567890123456789012"


def scene(text: str | None, *, px: int = 4, angle: float = 12.0, seed: int = 0) -> np.ndarray:
    """A 720p frame: grey counter, a white sheet, the code on it (or no code), sensor noise."""
    cv2.setRNGSeed(seed)
    frame = np.full((720, 1280), 110, np.uint8)
    frame[150:600, 400:900] = 235
    if text is not None:
        m = np.pad(np.array([list(r) for r in segno.make_qr(text, error="m").matrix]), 4)
        code = np.kron(np.where(m > 0, 25, 235).astype(np.uint8), np.ones((px, px), np.uint8))
        h, w = code.shape
        frame[250 : 250 + h, 500 : 500 + w] = code
    rot = cv2.getRotationMatrix2D((640, 360), angle, 1.0)
    frame = cv2.warpAffine(frame, rot, (1280, 720), borderValue=110)
    noise = np.empty(frame.shape, np.int16)
    cv2.randn(noise, 0, 3)
    return cv2.cvtColor(cv2.add(frame, noise, dtype=cv2.CV_8U), cv2.COLOR_GRAY2BGR)


def test_default_decoder_reads_a_code_and_nothing_on_an_empty_frame() -> None:
    assert default_decoder(scene(ORD)) == [ORD]
    assert default_decoder(scene(None)) == []


def test_image_files_jpeg_and_png(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "a.jpg"), scene(ORD), [cv2.IMWRITE_JPEG_QUALITY, 80])
    cv2.imwrite(str(tmp_path / "b.png"), scene("APCV1." + "x" * 50))
    assert decode_file(tmp_path / "a.jpg") == [ORD]
    assert decode_file(tmp_path / "b.png") == ["APCV1." + "x" * 50]


def test_bad_images_are_refused_before_decoding() -> None:
    with pytest.raises(ImageError, match="not a JPEG or PNG"):
        load_image(b"GIF89a....")
    ok, png = cv2.imencode(".png", np.zeros((4, 4), np.uint8))
    bomb = bytearray(png.tobytes())
    bomb[16:24] = (60000).to_bytes(4, "big") + (60000).to_bytes(4, "big")
    with pytest.raises(ImageError, match="Mpx"):
        load_image(bytes(bomb))
    ok, jpg = cv2.imencode(".jpg", np.zeros((30, 50), np.uint8))
    assert ok and image_size(jpg.tobytes()) == (50, 30)
    with pytest.raises(ImageError, match="damaged"):
        load_image(jpg.tobytes()[:200])


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_folder_camera_one_scan_per_code_held_and_only_changed_frames_decoded(
    tmp_path: Path,
) -> None:
    for i, text in enumerate([ORD, None, ORD, "APCV1." + "y" * 50]):
        cv2.imwrite(str(tmp_path / f"{i}.png"), scene(text, seed=i))
    clock = Clock()
    codes: list[str] = []
    cam = CameraScanner(codes.append, window_s=3.0, clock=clock)
    source = FolderCamera(tmp_path, hold=12, noise=2.0)
    while (frame := source.read()) is not None:
        cam.process(frame)
        clock.t += 1 / 10  # 10 fps: each image is held 1.2 s
    # ORD held for 12 frames = one scan; it comes back after 1.2 s without it: within the
    # window, so still the same scan; then the ApCV code.
    assert codes == [ORD, "APCV1." + "y" * 50]
    assert cam.stats.frames == 48 and cam.stats.decoded == 4


def test_same_code_after_the_window_is_a_new_scan() -> None:
    clock = Clock()
    codes: list[str] = []
    cam = CameraScanner(codes.append, window_s=2.0, clock=clock)
    for frame in (scene(ORD), scene(None), scene(ORD, seed=1)):
        cam.process(frame)
        clock.t += 2.5
    assert codes == [ORD, ORD]


def test_video_file_through_opencv_capture(tmp_path: Path) -> None:
    path = tmp_path / "counter.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 15, (1280, 720))
    assert writer.isOpened()
    for i in range(30):
        writer.write(scene(ORD if 5 <= i < 25 else None, seed=i))
    writer.release()
    codes: list[str] = []
    cam = CameraScanner(codes.append)
    stats = cam.run(CaptureSource(str(path)), should_stop=lambda: False, max_frames=100)
    assert codes == [ORD]
    assert stats.frames == 30 and stats.decoded < stats.frames


def _key_events(codes: list[tuple[int, int]]) -> bytes:
    return b"".join(EVENT.pack(0, 0, 1, c, v) for c, v in codes)


def _type(keys: list[int], shift: bool = False) -> list[tuple[int, int]]:
    out = []
    for k in keys:
        if shift:
            out.append((42, 1))
        out += [(k, 1), (k, 0)]
        if shift:
            out.append((42, 0))
    return out


def test_wedge_us_and_azerty_layouts() -> None:
    # "A1" on US: shift+a, 1 ; on AZERTY the scanner sends shift+q-position for A and
    # shift+& key for 1.
    us = WedgeDecoder("us")
    items = [us.event(1, c, v) for c, v in _type([30], shift=True) + _type([2]) + [(28, 1)]]
    assert [i for i in items if i] == [Code("A1")]
    fr = WedgeDecoder("fr")
    items = [fr.event(1, c, v) for c, v in [*_type([16, 2], shift=True), (28, 1)]]
    assert [i for i in items if i] == [Code("A1")]


def test_wedge_reads_kernel_input_events_from_a_pipe_even_split() -> None:
    read_fd, write_fd = os.pipe()
    data = _key_events([*_type([2, 3, 4]), (28, 1), (28, 0), *_type([240]), (28, 1)])

    def writer() -> None:
        for at in range(0, len(data), 7):  # struct boundaries not respected
            os.write(write_fd, data[at : at + 7])
        os.close(write_fd)

    thread = threading.Thread(target=writer)
    thread.start()
    items = list(read_device(Path(f"/proc/self/fd/{read_fd}"), WedgeDecoder("us")))
    thread.join()
    os.close(read_fd)
    assert items[0] == Code("123")
    assert isinstance(items[1], Garbage) and items[1].reason == "unknown-keys"
    assert len(list(events(io.BytesIO(struct.pack("llHHi", 0, 0, 0, 0, 0))))) == 1


def test_cli_scan_decode_prints_file_then_code_and_one_line_errors(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "ok.png"), scene(ORD))
    cv2.imwrite(str(tmp_path / "empty.png"), scene(None))
    (tmp_path / "bad.jpg").write_bytes(b"not an image")
    runner = CliRunner()
    result = runner.invoke(app, ["scan", "decode", str(tmp_path / "ok.png"),
                                 str(tmp_path / "empty.png")])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [f"{tmp_path / 'ok.png'}\t{ORD}"]
    assert "no code" in result.stderr
    bad = runner.invoke(app, ["scan", "decode", str(tmp_path / "bad.jpg")])
    assert bad.exit_code != 0
    assert bad.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'bad.jpg'}: not a JPEG or PNG image"]
