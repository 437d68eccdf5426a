"""``[scan]`` settings: classification rules, the guard, and which scanner serves which counter.

One frozen dataclass parsed from one TOML table; every mistake is one line naming the key
(the shared rule for new areas; wired into ``hostd/config.py`` with the daemon reshaping)::

    [scan.rules]                 # docs/scanning.md: the defaults are modelled formats
    strict = true
    ordonnance_pattern = 'ORD1:(?P<id>[0-9]{22})'
    apcv_pattern = 'APCV1\\.[A-Za-z0-9_-]{40,4000}'

    [scan.guard]
    max_open_s = 14400           # an open dispensation nobody closes lapses after 4 h

    [[scan.serial]]              # USB CDC / RS-232 scanners (pyserial)
    name = "scanner-1"
    port = "/dev/serial/by-id/usb-Honeywell_..."
    counter = "comptoir-1"       # the enrolled counter client's name
    suffix = "\\r"                # CR, LF or CR LF all end a line; anything else is exact
    prefix = ""
    baudrate = 9600

    [[scan.wedge]]               # keyboard-wedge scanners (evdev)
    name = "scanner-2"
    device = "/dev/input/by-id/usb-..-event-kbd"
    counter = "comptoir-2"
    layout = "fr"                # the layout the scanner types for: us | fr

    [[scan.camera]]
    name = "webcam-1"
    source = "/dev/video0"       # or a camera index, or a video file
    counter = "comptoir-1"
    window_s = 3.0
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from drivers.scan.framing import Framing, FramingError
from drivers.scan.serial_scanner import ScannerSpec
from drivers.scan.wedge import LAYOUTS
from hostd.scanning.classify import RulesError, ScanRules

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}")


class ScanConfigError(ValueError):
    """One line naming the key."""


@dataclass(frozen=True)
class WedgeSpec:
    name: str
    device: str
    counter: str
    layout: str = "us"


@dataclass(frozen=True)
class CameraSpec:
    name: str
    source: int | str
    counter: str
    window_s: float = 3.0


@dataclass(frozen=True)
class ScanSettings:
    rules: ScanRules = field(default_factory=ScanRules)
    guard_max_open_s: float = 4 * 3600
    serial: tuple[ScannerSpec, ...] = ()
    wedge: tuple[WedgeSpec, ...] = ()
    camera: tuple[CameraSpec, ...] = ()

    @classmethod
    def from_table(cls, raw: dict[str, Any]) -> ScanSettings:
        _keys("scan", raw, {"rules", "guard", "serial", "wedge", "camera"})
        rules_raw = _table("scan.rules", raw.get("rules", {}))
        _keys("scan.rules", rules_raw, {"strict", "ordonnance_pattern", "apcv_pattern"})
        try:
            rules = ScanRules(**{k: v for k, v in rules_raw.items()})
        except (RulesError, TypeError) as exc:
            raise ScanConfigError(str(exc)) from None
        if not isinstance(rules.strict, bool):
            raise ScanConfigError("scan.rules.strict: must be true or false")
        guard = _table("scan.guard", raw.get("guard", {}))
        _keys("scan.guard", guard, {"max_open_s"})
        max_open = guard.get("max_open_s", 4 * 3600)
        if not isinstance(max_open, int | float) or not 60 <= max_open <= 7 * 86400:
            raise ScanConfigError("scan.guard.max_open_s: a number of seconds, 60 to 604800")
        serial = tuple(_serial(i, t) for i, t in enumerate(_list("scan.serial", raw, "serial")))
        wedge = tuple(_wedge(i, t) for i, t in enumerate(_list("scan.wedge", raw, "wedge")))
        camera = tuple(_camera(i, t) for i, t in enumerate(_list("scan.camera", raw, "camera")))
        names = [s.name for s in serial] + [s.name for s in wedge] + [s.name for s in camera]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ScanConfigError(f"scan: scanner names must be unique: {', '.join(sorted(dup))}")
        return cls(rules, float(max_open), serial, wedge, camera)


def _table(where: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ScanConfigError(f"{where}: must be a table")
    return value


def _keys(where: str, table: dict[str, Any], allowed: set[str]) -> None:
    extra = sorted(set(table) - allowed)
    if extra:
        raise ScanConfigError(f"{where}.{extra[0]}: unknown key")


def _list(where: str, raw: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        raise ScanConfigError(f"{where}: must be an array of tables ([[{where}]])")
    return value


def _text(where: str, table: dict[str, Any], key: str, default: str | None = None) -> str:
    value = table.get(key, default)
    if not isinstance(value, str) or (default is None and not value):
        raise ScanConfigError(f"{where}.{key}: must be text")
    return value


def _common(where: str, table: dict[str, Any]) -> tuple[str, str]:
    name, counter = _text(where, table, "name"), _text(where, table, "counter")
    for key, value in (("name", name), ("counter", counter)):
        if not _NAME.fullmatch(value):
            raise ScanConfigError(f"{where}.{key}: 1-64 letters, digits, space, . _ -")
    return name, counter


def _serial(i: int, t: dict[str, Any]) -> ScannerSpec:
    where = f"scan.serial[{i}]"
    _keys(where, t, {"name", "port", "counter", "prefix", "suffix", "baudrate", "max_bytes"})
    name, counter = _common(where, t)
    baud = t.get("baudrate", 9600)
    if baud not in (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200):
        raise ScanConfigError(f"{where}.baudrate: a standard rate (1200 to 115200)")
    try:
        framing = Framing(_text(where, t, "prefix", "").encode(),
                          _text(where, t, "suffix", "\r").encode(),
                          int(t.get("max_bytes", 4096)))
    except (FramingError, ValueError) as exc:
        raise ScanConfigError(f"{where}: {exc}") from None
    return ScannerSpec(name, _text(where, t, "port"), counter, framing, int(baud))


def _wedge(i: int, t: dict[str, Any]) -> WedgeSpec:
    where = f"scan.wedge[{i}]"
    _keys(where, t, {"name", "device", "counter", "layout"})
    name, counter = _common(where, t)
    layout = _text(where, t, "layout", "us")
    if layout not in LAYOUTS:
        raise ScanConfigError(f"{where}.layout: one of {', '.join(LAYOUTS)}")
    return WedgeSpec(name, _text(where, t, "device"), counter, layout)


def _camera(i: int, t: dict[str, Any]) -> CameraSpec:
    where = f"scan.camera[{i}]"
    _keys(where, t, {"name", "source", "counter", "window_s"})
    name, counter = _common(where, t)
    source = t.get("source")
    if not (isinstance(source, str) and source) and not (
        isinstance(source, int) and not isinstance(source, bool) and 0 <= source < 64
    ):
        raise ScanConfigError(f"{where}.source: a device path, a video file or an index")
    window = t.get("window_s", 3.0)
    if not isinstance(window, int | float) or not 0.5 <= window <= 60:
        raise ScanConfigError(f"{where}.window_s: 0.5 to 60 seconds")
    return CameraSpec(name, source, counter, float(window))
