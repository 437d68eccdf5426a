"""Serial QR scanners through pyserial on real pseudo-terminals: framing, split and merged
reads, unplug/replug, garbage and over-long lines."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from drivers.scan.framing import Assembler, Code, Framing, FramingError, Garbage, Item
from drivers.scan.serial_scanner import ScannerSpec, ScannerStatus, SerialScanner, wait_until
from drivers.sim.scanner import PtyScanner


class Sink:
    def __init__(self) -> None:
        self.items: list[tuple[str, Item]] = []
        self.statuses: list[ScannerStatus] = []
        self.lock = threading.Lock()

    def item(self, spec: ScannerSpec, item: Item) -> None:
        with self.lock:
            self.items.append((spec.counter, item))

    def status(self, status: ScannerStatus) -> None:
        with self.lock:
            self.statuses.append(status)

    def codes(self) -> list[str]:
        with self.lock:
            return [i.text for _, i in self.items if isinstance(i, Code)]

    def garbage(self) -> list[Garbage]:
        with self.lock:
            return [i for _, i in self.items if isinstance(i, Garbage)]


def test_line_framing_accepts_cr_lf_and_crlf_and_ignores_empty_lines() -> None:
    a = Assembler(Framing(suffix=b"\r"))
    assert a.feed(b"ONE\r\nTWO\nTHREE\r\r\n") == [Code("ONE"), Code("TWO"), Code("THREE")]


def test_split_and_merged_chunks_give_the_same_codes() -> None:
    stream = b"\x02AB-1\x03\x02CD-2\x03\x02EF-3\x03"
    framing = Framing(prefix=b"\x02", suffix=b"\x03")
    whole = Assembler(framing).feed(stream)
    a = Assembler(framing)
    split = [item for i in range(len(stream)) for item in a.feed(stream[i : i + 1])]
    assert whole == split == [Code("AB-1"), Code("CD-2"), Code("EF-3")]


def test_bytes_outside_the_frame_are_reported_and_the_code_still_counts() -> None:
    a = Assembler(Framing(prefix=b"]Q1", suffix=b"\r\n"))
    assert a.feed(b"noise]Q1CODE\r\nstray\r\n") == [
        Garbage("outside-frame", b"noise"), Code("CODE"), Garbage("outside-frame", b"stray")
    ]


def test_over_long_line_is_reported_once_and_the_stream_resynchronises() -> None:
    a = Assembler(Framing(max_bytes=32))
    out = a.feed(b"X" * 40) + a.feed(b"Y" * 40) + a.feed(b"\rGOOD\r")
    assert out == [Garbage("too-long", b"X" * 40), Code("GOOD")]


def test_invalid_utf8_is_reported_with_its_bytes() -> None:
    assert Assembler(Framing()).feed(b"\xff\xfeAB\r") == [Garbage("not-utf8", b"\xff\xfeAB")]


def test_partial_code_at_disconnect_is_reported_as_cut() -> None:
    a = Assembler(Framing())
    assert a.feed(b"HALF") == []
    assert a.flush() == [Garbage("cut", b"HALF")]


def test_framing_that_cannot_work_is_refused() -> None:
    with pytest.raises(FramingError):
        Framing(suffix=b"")
    with pytest.raises(FramingError):
        Framing(prefix=b"\r", suffix=b"\r\n")


@pytest.fixture
def sink() -> Sink:
    return Sink()


def _start(spec: ScannerSpec, sink: Sink) -> SerialScanner:
    scanner = SerialScanner(spec, sink.item, sink.status).start()
    assert scanner.connected.wait(3)
    return scanner


def test_pty_scanner_codes_reach_their_counter(tmp_path: Path, sink: Sink) -> None:
    with PtyScanner(tmp_path / "scan-a") as sim_a, PtyScanner(
        tmp_path / "scan-b", prefix=b"\x02", suffix=b"\x03"
    ) as sim_b:
        a = _start(ScannerSpec("a", str(sim_a.link), "comptoir-1"), sink)
        b = _start(
            ScannerSpec("b", str(sim_b.link), "comptoir-2", Framing(b"\x02", b"\x03")), sink
        )
        try:
            sim_a.scan("ORD-A", chunks=4, gap_s=0.02)  # split over several reads
            sim_b.write(b"\x02B-1\x03\x02B-2\x03")  # merged in one read
            assert wait_until(lambda: len(sink.codes()) == 3, 3)
            by_counter = {(c, i.text) for c, i in sink.items if isinstance(i, Code)}
            assert by_counter == {("comptoir-1", "ORD-A"), ("comptoir-2", "B-1"),
                                  ("comptoir-2", "B-2")}
        finally:
            a.stop()
            b.stop()


def test_garbage_and_over_long_lines_on_the_wire(tmp_path: Path, sink: Sink) -> None:
    with PtyScanner(tmp_path / "scan") as sim:
        s = _start(ScannerSpec("s", str(sim.link), "c1", Framing(max_bytes=64)), sink)
        try:
            sim.write(b"\xff\xfe\r" + b"Z" * 200 + b"\r")
            sim.scan("AFTER")
            assert wait_until(lambda: "AFTER" in sink.codes(), 3)
            assert [g.reason for g in sink.garbage()] == ["not-utf8", "too-long"]
        finally:
            s.stop()


def test_unplug_and_replug_reconnects_on_the_same_path(tmp_path: Path, sink: Sink) -> None:
    sim = PtyScanner(tmp_path / "scan").plug()
    s = _start(ScannerSpec("s", str(sim.link), "c1"), sink)
    try:
        sim.scan("BEFORE")
        assert wait_until(lambda: sink.codes() == ["BEFORE"], 3)
        sim.write(b"HAL")  # a code cut by the unplug
        assert wait_until(lambda: False, 0.2) is False
        sim.unplug()
        assert wait_until(lambda: not s.connected.is_set(), 3)
        sim.plug()  # a new pty behind the same link
        assert wait_until(lambda: s.connected.is_set(), 5)
        sim.scan("AFTER")
        assert wait_until(lambda: sink.codes() == ["BEFORE", "AFTER"], 3)
        assert [g.raw for g in sink.garbage() if g.reason == "cut"] == [b"HAL"]
        states = [st.state for st in sink.statuses]
        assert states[:3] == ["connected", "disconnected", "connected"]
    finally:
        s.stop()
        sim.unplug()
