"""``[scan]`` configuration and the configured sources end to end: two pty scanners bound to
two counters, the same ordonnance scanned at both, flagged to both."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from drivers.scan.serial_scanner import wait_until
from drivers.sim.scanner import PtyScanner
from hostd.scanning.classify import Classifier, ScanKind
from hostd.scanning.guard import OrdonnanceGuard
from hostd.scanning.hub import ScanHub
from hostd.scanning.settings import ScanConfigError, ScanSettings
from hostd.scanning.sources import ScanSources

ORD = "ORD1:1234567890123456789012"


def settings(text: str) -> ScanSettings:
    return ScanSettings.from_table(tomllib.loads(text).get("scan", {}))


def test_defaults_and_a_full_table() -> None:
    assert settings("").rules.strict is True
    s = settings("""
[scan.rules]
strict = false
ordonnance_pattern = '(?P<id>[0-9]{10})'
[scan.guard]
max_open_s = 600
[[scan.serial]]
name = "s1"
port = "/dev/ttyACM0"
counter = "comptoir-1"
prefix = "\\u0002"
suffix = "\\u0003"
[[scan.wedge]]
name = "w1"
device = "/dev/input/event3"
counter = "comptoir-2"
layout = "fr"
[[scan.camera]]
name = "cam"
source = 0
counter = "comptoir-1"
""")
    assert s.serial[0].framing.prefix == b"\x02" and s.serial[0].framing.suffix == b"\x03"
    assert (s.wedge[0].layout, s.camera[0].source, s.guard_max_open_s) == ("fr", 0, 600.0)


@pytest.mark.parametrize(("text", "message"), [
    ("[scan]\nfoo = 1", "scan.foo: unknown key"),
    ("[scan.rules]\nordonnance_pattern = '[0-9]+'", "named group"),
    ("[scan.rules]\nstrict = 'yes'", "scan.rules.strict"),
    ("[[scan.serial]]\nname = 's'\ncounter = 'c'", "scan.serial[0].port: must be text"),
    ("[[scan.serial]]\nname='s'\ncounter='c'\nport='p'\nbaudrate=1234", "baudrate"),
    ("[[scan.serial]]\nname='s'\ncounter='c'\nport='p'\nsuffix=''", "suffix must not be empty"),
    ("[[scan.wedge]]\nname='w'\ncounter='c'\ndevice='d'\nlayout='de'", "layout: one of"),
    ("[[scan.camera]]\nname='c'\ncounter='c'\nsource=true", "source"),
    ("[[scan.serial]]\nname='x'\ncounter='c'\nport='p'\n[[scan.camera]]\nname='x'\n"
     "counter='c'\nsource=0", "unique: x"),
])
def test_configuration_mistakes_are_one_line(text: str, message: str) -> None:
    with pytest.raises(ScanConfigError, match=re.escape(message)) as caught:
        settings(text)
    assert "\n" not in str(caught.value)


def test_same_ordonnance_at_two_counters_through_two_pty_scanners(tmp_path: Path) -> None:
    with PtyScanner(tmp_path / "a") as a, PtyScanner(tmp_path / "b", suffix=b"\r\n") as b:
        cfg = settings(f"""
[[scan.serial]]
name = "scanner-a"
port = "{a.link}"
counter = "comptoir-1"
[[scan.serial]]
name = "scanner-b"
port = "{b.link}"
counter = "comptoir-2"
suffix = "\\r\\n"
""")
        hub = ScanHub(Classifier(cfg.rules), OrdonnanceGuard(cfg.guard_max_open_s))
        sources = ScanSources(cfg, hub)
        sources.start()
        try:
            assert wait_until(lambda: len([e for c in ("comptoir-1", "comptoir-2")
                                           for e in hub.after(c, 0).events
                                           if e.detail == "connected"]) == 2, 5)
            a.scan(ORD)
            assert wait_until(lambda: bool(hub.last("comptoir-1")), 3)
            b.scan(ORD, chunks=3, gap_s=0.01)
            b.write(b"\xff\r\n")

            def guards(counter: str) -> list[str]:
                return [e.alert.holder for e in hub.after(counter, 0).events
                        if e.type == "guard" and e.alert]

            assert wait_until(lambda: guards("comptoir-1") and guards("comptoir-2"), 3)
            assert guards("comptoir-1") == guards("comptoir-2") == ["comptoir-1"]
            assert wait_until(lambda: len(hub.last("comptoir-2")) == 2, 3)
            kinds = [e.scan.kind for e in hub.last("comptoir-2") if e.scan]
            assert kinds == [ScanKind.UNKNOWN, ScanKind.ORDONNANCE]
        finally:
            sources.stop()
