"""The reader watcher against a real pcscd: insertions, removals, swaps, pcscd killed and
restarted, readers plugged and unplugged."""

from __future__ import annotations

import itertools
import queue
import time
from collections.abc import Callable, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.pcsc_watch import (
    CardInserted,
    CardWithdrawn,
    PcscdBack,
    PcscdLost,
    ReaderAdded,
    ReaderRemoved,
    ReaderWatcher,
    WatchEvent,
)
from tests.rig import EchoCard, PcscRig

pytestmark = pytest.mark.pcsc

ATR_A = bytes.fromhex("3B80800101")
ATR_B = bytes.fromhex("3B8080010102")


@pytest.fixture
def watcher(pcsc_rig: PcscRig) -> Iterator[ReaderWatcher]:
    w = ReaderWatcher(poll_timeout=0.5)
    w.start()
    yield w
    w.stop()


def collect_until(
    w: ReaderWatcher, done: Callable[[list[WatchEvent]], bool], timeout: float = 8.0
) -> list[WatchEvent]:
    seen: list[WatchEvent] = []
    deadline = time.monotonic() + timeout
    while not done(seen):
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"timed out; events so far: {seen}")
        try:
            seen.append(w.events.get(timeout=left))
        except queue.Empty:
            continue
    return seen


def test_first_poll_reports_what_is_already_there(pcsc_rig: PcscRig) -> None:
    pcsc_rig.insert(1, EchoCard(atr=ATR_A))
    w = ReaderWatcher()
    try:
        events = w.poll()
    finally:
        w.stop()
    assert [e for e in events if isinstance(e, ReaderAdded)] == [
        ReaderAdded(name) for name in sorted(pcsc_rig.reader_names)
    ]
    assert [e for e in events if isinstance(e, CardInserted)] == [
        CardInserted(pcsc_rig.reader(1), ATR_A)
    ]
    assert w.snapshot()[pcsc_rig.reader(1)] == ATR_A


def test_insert_and_remove(pcsc_rig: PcscRig, watcher: ReaderWatcher) -> None:
    collect_until(watcher, lambda s: len(s) >= 4)  # the four ReaderAdded
    pcsc_rig.slot(0).insert(EchoCard(atr=ATR_A))
    inserted = collect_until(watcher, lambda s: CardInserted(pcsc_rig.reader(0), ATR_A) in s)
    assert not [e for e in inserted if isinstance(e, CardWithdrawn)]
    pcsc_rig.slot(0).remove()
    collect_until(watcher, lambda s: CardWithdrawn(pcsc_rig.reader(0)) in s)
    assert watcher.snapshot()[pcsc_rig.reader(0)] is None


@pytest.mark.parametrize("second_atr", [ATR_B, ATR_A], ids=["other-card", "same-model"])
def test_card_swap_is_a_removal_then_an_insertion(pcsc_rig: PcscRig, second_atr: bytes) -> None:
    reader = pcsc_rig.insert(0, EchoCard(atr=ATR_A))
    w = ReaderWatcher()
    try:
        w.poll()
        pcsc_rig.remove(0)
        pcsc_rig.insert(0, EchoCard(atr=second_atr))
        # Both changes happened before this poll; with the same ATR only pcsc-lite's event
        # counter tells that the card in the reader is another one.
        events = w.poll(2.0)
    finally:
        w.stop()
    assert events[:2] == [CardWithdrawn(reader), CardInserted(reader, second_atr)]


def test_pcscd_killed_and_restarted_while_watching(
    pcsc_rig: PcscRig, watcher: ReaderWatcher
) -> None:
    reader = pcsc_rig.insert(2, EchoCard(atr=ATR_A))
    collect_until(watcher, lambda s: CardInserted(reader, ATR_A) in s)

    pcsc_rig.kill_pcscd()
    lost = collect_until(watcher, lambda s: any(isinstance(e, PcscdLost) for e in s))
    # The card is reported gone before the readers, and every reader is reported gone.
    assert lost.index(CardWithdrawn(reader)) < lost.index(ReaderRemoved(reader))
    assert {e.reader for e in lost if isinstance(e, ReaderRemoved)} == set(pcsc_rig.reader_names)
    assert not watcher.pcscd_up

    pcsc_rig.start()
    # pcscd brings its readers back one by one; a loaded machine may report the card before
    # the last reader, so wait for both (bounded by collect_until's deadline).
    everyone = set(pcsc_rig.reader_names)
    back = collect_until(
        watcher,
        lambda s: CardInserted(reader, ATR_A) in s
        and {e.reader for e in s if isinstance(e, ReaderAdded)} == everyone,
    )
    assert back[0] == PcscdBack()
    assert watcher.pcscd_up
    assert watcher.snapshot()[reader] == ATR_A


def test_watcher_started_without_pcscd_finds_it_later(pcsc_rig: PcscRig) -> None:
    pcsc_rig.stop_pcscd()
    w = ReaderWatcher(poll_timeout=0.3)
    w.start()
    try:
        first = collect_until(w, lambda s: len(s) >= 1)
        assert isinstance(first[0], PcscdLost)
        pcsc_rig.start()
        back = collect_until(w, lambda s: len([e for e in s if isinstance(e, ReaderAdded)]) == 4)
        assert back[0] == PcscdBack()
    finally:
        w.stop()


def test_reader_unplugged_and_plugged_back(pcsc_rig: PcscRig, watcher: ReaderWatcher) -> None:
    collect_until(watcher, lambda s: len(s) >= 4)
    gone = pcsc_rig.pcscd.readers[1].slot_names()
    pcsc_rig.set_plugged(1, False)
    events = collect_until(watcher, lambda s: any(isinstance(e, PcscdBack) for e in s))
    events += collect_until(watcher, lambda s: len(s) >= 2)  # the readers that stayed
    added = {e.reader for e in events if isinstance(e, ReaderAdded)}
    assert added == set(pcsc_rig.reader_names) - set(gone)
    assert set(watcher.snapshot()) == added

    pcsc_rig.set_plugged(1, True)
    collect_until(watcher, lambda s: {ReaderAdded(n) for n in gone} <= set(s))
    assert set(watcher.snapshot()) == set(pcsc_rig.reader_names)


def test_stop_is_prompt(pcsc_rig: PcscRig) -> None:
    w = ReaderWatcher(poll_timeout=30.0)  # a long wait in SCardGetStatusChange...
    w.start()
    time.sleep(0.3)
    started = time.monotonic()
    w.stop()  # ...is cancelled, not waited out
    assert time.monotonic() - started < 2.0


def test_survives_repeated_pcscd_crashes_without_errors(
    pcsc_rig: PcscRig, caplog: pytest.LogCaptureFixture
) -> None:
    reader = pcsc_rig.insert(1, EchoCard(atr=ATR_A))
    w = ReaderWatcher(poll_timeout=0.2)
    w.start()
    try:
        for _ in range(3):
            pcsc_rig.kill_pcscd()
            time.sleep(0.1)  # sometimes caught mid-wait, sometimes between calls
            pcsc_rig.start()
        collect_until(w, lambda s: s.count(PcscdBack()) >= 1 and CardInserted(reader, ATR_A) in s)
        deadline = time.monotonic() + 8
        while w.snapshot().get(reader) != ATR_A and time.monotonic() < deadline:
            time.sleep(0.1)
        assert w.snapshot().get(reader) == ATR_A
        assert w.pcscd_up
    finally:
        w.stop()
    assert not [r for r in caplog.records if r.name == "drivers.pcsc_watch"]


@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    st.lists(
        st.tuples(st.sampled_from([0, 3]), st.sampled_from([ATR_A, ATR_B])),
        min_size=1,
        max_size=6,
    )
)
def test_event_stream_matches_what_happened_at_the_readers(
    pcsc_rig: PcscRig, steps: list[tuple[int, bytes]]
) -> None:
    # Each step acts on one slot: pull the card if there is one, else insert a card with that
    # ATR; every step waits for pcscd. No insertion or removal may be lost or doubled.
    pcsc_rig.reset()
    w = ReaderWatcher(poll_timeout=0.2)
    w.start()
    inserted: dict[str, list[bytes]] = {pcsc_rig.reader(0): [], pcsc_rig.reader(3): []}
    model: dict[str, bytes | None] = dict.fromkeys(inserted)
    try:
        collect_until(w, lambda s: len([e for e in s if isinstance(e, ReaderAdded)]) == 4)
        for slot, atr in steps:
            reader = pcsc_rig.reader(slot)
            if model[reader] is None:
                pcsc_rig.insert(slot, EchoCard(atr=atr))
                model[reader] = atr
                inserted[reader].append(atr)
            else:
                pcsc_rig.remove(slot)
                model[reader] = None
        deadline = time.monotonic() + 5
        while any(w.snapshot().get(r) != a for r, a in model.items()):
            assert time.monotonic() < deadline, (w.snapshot(), model)
            time.sleep(0.05)
    finally:
        w.stop()
    events: list[WatchEvent] = []
    while not w.events.empty():
        events.append(w.events.get())
    for reader, atrs in inserted.items():
        mine = [
            e for e in events if isinstance(e, CardInserted | CardWithdrawn) and e.reader == reader
        ]
        assert [e.atr for e in mine if isinstance(e, CardInserted)] == atrs
        kinds = [type(e) for e in mine]
        assert all(a is not b for a, b in itertools.pairwise(kinds))  # strictly alternating
