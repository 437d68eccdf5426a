"""Starts every configured scanner and camera and feeds their reads to the :class:`ScanHub`.

Each source runs on its own thread (pyserial, evdev and OpenCV capture all block), bound to
the counter its configuration names; a source that fails is reported as a ``device`` event
and retried, never silently dropped.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from drivers.scan.framing import Code, Garbage, Item
from drivers.scan.serial_scanner import ScannerSpec, ScannerStatus, SerialScanner
from drivers.scan.wedge import WedgeDecoder, read_device
from hostd.scanning.hub import ScanHub
from hostd.scanning.settings import CameraSpec, ScanSettings, WedgeSpec

log = logging.getLogger(__name__)
RETRY_S = 2.0


class ScanSources:
    def __init__(self, settings: ScanSettings, hub: ScanHub) -> None:
        self.settings = settings
        self.hub = hub
        self._stop = threading.Event()
        self._serial: list[SerialScanner] = []
        self._threads: list[threading.Thread] = []

    def item(self, counter: str, source: str, item: Item) -> None:
        """One framed item from any scanner (also the entry for a terminal's scanner)."""
        if isinstance(item, Code):
            self.hub.scan(counter, source, item.text)
        elif isinstance(item, Garbage):
            self.hub.unreadable(counter, source, item.reason, item.raw)

    def _on_serial(self, spec: ScannerSpec, item: Item) -> None:
        self.item(spec.counter, spec.name, item)

    def _on_status(self, status: ScannerStatus) -> None:
        self.hub.device(status.counter, status.scanner, status.state)

    def start(self) -> None:
        for spec in self.settings.serial:
            self._serial.append(SerialScanner(spec, self._on_serial, self._on_status).start())
        for wedge in self.settings.wedge:
            self._thread(f"wedge-{wedge.name}", self._run_wedge, wedge)
        for camera in self.settings.camera:
            self._thread(f"camera-{camera.name}", self._run_camera, camera)

    def _thread(self, name: str, target: Callable[[Any], None], spec: object) -> None:
        thread = threading.Thread(target=target, args=(spec,), name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _run_wedge(self, spec: WedgeSpec) -> None:
        while not self._stop.is_set():
            try:
                self.hub.device(spec.counter, spec.name, "connected")
                for item in read_device(Path(spec.device), WedgeDecoder(spec.layout)):
                    self.item(spec.counter, spec.name, item)
                    if self._stop.is_set():
                        return
            except OSError as exc:
                log.debug("wedge %s: %s", spec.name, exc)
            self.hub.device(spec.counter, spec.name, "disconnected")
            self._stop.wait(RETRY_S)

    def _run_camera(self, spec: CameraSpec) -> None:
        # OpenCV and zxing-cpp load only when a camera is configured (tens of MB of RSS).
        from drivers.scan.camera import CameraScanner, CaptureSource

        while not self._stop.is_set():
            try:
                source = CaptureSource(spec.source)
            except OSError:
                self._stop.wait(RETRY_S)
                continue
            self.hub.device(spec.counter, spec.name, "connected")
            def on_code(text: str, spec: CameraSpec = spec) -> None:
                self.hub.scan(spec.counter, spec.name, text)

            scanner = CameraScanner(on_code, window_s=spec.window_s)
            scanner.run(source, self._stop.is_set)
            self.hub.device(spec.counter, spec.name, "disconnected")
            self._stop.wait(RETRY_S)

    def stop(self) -> None:
        self._stop.set()
        for scanner in self._serial:
            scanner.stop()
        for thread in self._threads:
            thread.join(timeout=2.0)
