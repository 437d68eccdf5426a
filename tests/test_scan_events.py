"""What a scan becomes: classification rules, the ordonnance guard across counters, and the
resumable per-counter event ring."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta

import pytest

from hostd.scanning.classify import Classifier, RulesError, ScanKind, ScanRules
from hostd.scanning.guard import AlertReason, NotHolder, NotOpen, OrdonnanceGuard, Outcome
from hostd.scanning.hub import ScanHub

ORD = "ORD1:1234567890123456789012"
APCV = "APCV1." + "A" * 60


def test_default_rules_classify_the_modelled_formats_strictly() -> None:
    c = Classifier(ScanRules())
    scan = c.classify(ORD)
    assert scan.kind is ScanKind.ORDONNANCE and scan.prescription_id == "1234567890123456789012"
    assert c.classify(APCV).kind is ScanKind.APCV
    # Strict: surrounding spaces, lower case, or a number inside other text are not accepted.
    for text in (f" {ORD}", ORD.lower(), f"x{ORD}", "ORD1:123", "3400930000000"):
        unknown = c.classify(text)
        assert unknown.kind is ScanKind.UNKNOWN and unknown.text == text
        assert unknown.reason == "no-rule"


def test_lenient_rules_trim_but_do_not_search_inside_text() -> None:
    c = Classifier(ScanRules(strict=False))
    assert c.classify(f" {ORD}\x1d").kind is ScanKind.ORDONNANCE
    assert c.classify(f"x{ORD}").kind is ScanKind.UNKNOWN


def test_a_site_can_configure_its_own_pattern() -> None:
    c = Classifier(ScanRules(ordonnance_pattern=r"(?P<id>[0-9A-Z]{10})"))
    assert c.classify("AB12345678").prescription_id == "AB12345678"


def test_rules_that_cannot_work_are_refused_in_one_line() -> None:
    with pytest.raises(RulesError, match="named group"):
        ScanRules(ordonnance_pattern=r"[0-9]+")
    with pytest.raises(RulesError, match="apcv_pattern: not a valid regular expression"):
        ScanRules(apcv_pattern="(")


def test_unreadable_bytes_become_unknown_scans_with_their_bytes() -> None:
    hub = ScanHub(Classifier(ScanRules()), OrdonnanceGuard())
    [event] = hub.unreadable("c1", "scanner-a", "not-utf8", b"\xff\x00")
    assert event.scan is not None
    assert (event.scan.kind, event.scan.text, event.scan.reason) == (
        ScanKind.UNKNOWN, "ff00", "not-utf8")


def test_same_ordonnance_at_two_counters_is_flagged_to_both_and_holder_clears_it() -> None:
    hub = ScanHub(Classifier(ScanRules()), OrdonnanceGuard())
    first = hub.scan("c1", "scanner-a", ORD)
    assert [e.type for e in first] == ["scan"]
    second = hub.scan("c2", "scanner-b", ORD)
    assert [(e.type, e.counter) for e in second] == [("scan", "c2"), ("guard", "c1"),
                                                       ("guard", "c2")]
    alert = second[1].alert
    assert alert is not None and alert.reason is AlertReason.OPEN_AT_ANOTHER_COUNTER
    assert alert.holder == "c1" and alert.counters == ("c1", "c2")
    # Both counters see the alert in their own stream.
    assert [e.type for e in hub.after("c1", 0).events] == ["scan", "guard"]
    assert [e.type for e in hub.after("c2", 0).events] == ["scan", "guard"]
    # Only the holder closes it; then the prescription can be scanned again without alert.
    with pytest.raises(NotHolder):
        hub.close("1234567890123456789012", "c2", Outcome.FINISHED)
    hub.close("1234567890123456789012", "c1", Outcome.ABANDONED)
    with pytest.raises(NotOpen):
        hub.close("1234567890123456789012", "c1", Outcome.FINISHED)
    assert [e.type for e in hub.scan("c2", "scanner-b", ORD)] == ["scan"]


def test_rescan_at_the_same_counter_while_open_is_flagged() -> None:
    hub = ScanHub(Classifier(ScanRules()), OrdonnanceGuard())
    hub.scan("c1", "s", ORD)
    events = hub.scan("c1", "s", ORD)
    assert [e.type for e in events] == ["scan", "guard"]
    assert events[1].alert is not None
    assert events[1].alert.reason is AlertReason.RESCANNED_WHILE_OPEN


def test_an_open_dispensation_lapses_after_max_open() -> None:
    guard = OrdonnanceGuard(max_open_s=60)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    assert guard.scanned("X", "c1", t0) is None
    assert guard.scanned("X", "c2", t0 + timedelta(seconds=30)) is not None
    assert guard.scanned("X", "c2", t0 + timedelta(seconds=61)) is None
    assert [d.counter for d in guard.open_dispensations(t0 + timedelta(seconds=62))] == ["c2"]


def test_concurrent_scans_of_one_prescription_open_it_once() -> None:
    hub = ScanHub(Classifier(ScanRules()), OrdonnanceGuard())
    barrier = threading.Barrier(8)

    def scan(i: int) -> None:
        barrier.wait()
        hub.scan(f"c{i}", "s", ORD)

    threads = [threading.Thread(target=scan, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(hub.guard.open_dispensations()) == 1
    alerts = [e for i in range(8) for e in hub.after(f"c{i}", 0).events if e.type == "guard"]
    # 7 late scans, each flagged to the holder and to the late counter.
    assert len(alerts) == 14


def test_resume_after_last_id_misses_nothing_and_reports_a_gap() -> None:
    hub = ScanHub(Classifier(ScanRules()), OrdonnanceGuard(), ring_size=5)
    ids = [hub.scan("c1", "s", f"code-{i}")[0].id for i in range(3)]
    page = hub.after("c1", ids[0])
    assert [e.id for e in page.events] == ids[1:] and not page.gap
    for i in range(10):
        hub.scan("c1", "s", f"more-{i}")
    late = hub.after("c1", ids[0])
    assert late.gap and len(late.events) == 5


def test_wait_wakes_up_on_a_scan_from_another_thread() -> None:
    hub = ScanHub(Classifier(ScanRules()), OrdonnanceGuard())
    timer = threading.Timer(0.05, lambda: hub.scan("c1", "s", APCV))
    timer.start()
    page = hub.wait("c1", 0, timeout=5)
    timer.join()
    assert [e.scan.kind for e in page.events if e.scan] == [ScanKind.APCV]
    assert hub.wait("c2", 0, timeout=0.05).events == []


def test_last_scans_newest_first() -> None:
    hub = ScanHub(Classifier(ScanRules()), OrdonnanceGuard())
    for i in range(5):
        hub.scan("c1", "s", f"t{i}")
    assert [e.scan.text for e in hub.last("c1", 3) if e.scan] == ["t4", "t3", "t2"]


def test_an_asyncio_listener_is_woken_by_a_scan_from_another_thread() -> None:
    hub = ScanHub(Classifier(ScanRules()), OrdonnanceGuard())

    async def main() -> list[str]:
        wake = hub.listen()
        try:
            threading.Timer(0.05, lambda: hub.scan("c1", "s", ORD)).start()
            await asyncio.wait_for(wake.wait(), 5)
            return [e.type for e in hub.after("c1", 0).events]
        finally:
            hub.unlisten(wake)

    assert asyncio.run(main()) == ["scan"]
