"""The SSE replay ring (hostd.events): ids, what a reconnecting client gets, resync on a gap."""

from __future__ import annotations

import asyncio
import threading

import pytest

from hostd.events import EventLog, sse


def names(events: list[object] | None) -> list[str]:
    assert events is not None
    return [e.name for e in events]  # type: ignore[attr-defined]


def test_a_client_inside_the_ring_gets_exactly_what_it_missed_in_order() -> None:
    log = EventLog(capacity=4, epoch="e1")
    first = log.publish("card-inserted", {"reader": "A"})
    log.publish("card-removed", {"reader": "A"})
    log.publish("card-inserted", {"reader": "B"})
    assert first.id == "e1-1" and log.head() == 3
    resume = log.resume_point(first.id)
    assert resume == 1
    missed = log.after(resume)
    assert names(missed) == ["card-removed", "card-inserted"]
    assert [e.id for e in missed or []] == ["e1-2", "e1-3"]
    assert log.after(3) == []


def test_a_client_behind_the_ring_is_told_to_resync_never_skipped() -> None:
    log = EventLog(capacity=3, epoch="e1")
    for i in range(5):
        log.publish("card-inserted", {"i": i})
    assert log.after(0) is None and log.after(1) is None  # events 1..2 are gone
    assert names(log.after(2)) == ["card-inserted"] * 3  # 3..5 still kept
    assert log.after(4) is not None and len(log.after(4) or []) == 1


@pytest.mark.parametrize("raw", ["other-1", "e1-x", "e1-99", "garbage", "", "e1--1"])
def test_an_id_from_another_run_or_malformed_or_future_cannot_resume(raw: str) -> None:
    log = EventLog(epoch="e1")
    log.publish("reader-added", {})
    assert log.resume_point(raw) is None
    assert log.resume_point(None) is None
    assert log.resume_point("e1-0") == 0 and log.resume_point("e1-1") == 1


def test_each_daemon_run_has_its_own_epoch() -> None:
    assert EventLog().epoch != EventLog().epoch
    with pytest.raises(ValueError):
        EventLog(capacity=0)


def test_events_are_encoded_with_their_id() -> None:
    log = EventLog(epoch="e1")
    event = log.publish("card-removed", {"reader": "Lecteur é", "failed_jobs": 2})
    assert event.encode() == (
        b'id: e1-1\nevent: card-removed\ndata: {"reader": "Lecteur \xc3\xa9", "failed_jobs": 2}'
        b"\n\n"
    )
    assert sse("snapshot", {}) == b"event: snapshot\ndata: {}\n\n"


def test_a_publish_from_another_thread_wakes_a_listener_on_its_loop() -> None:
    log = EventLog(epoch="e1")

    async def scenario() -> list[str]:
        wake = log.listen()
        try:
            thread = threading.Thread(target=log.publish, args=("card-inserted", {}))
            thread.start()
            await asyncio.wait_for(wake.wait(), 5)
            thread.join(5)
            return names(log.after(0))
        finally:
            log.unlisten(wake)

    assert asyncio.run(scenario()) == ["card-inserted"]
    assert log._listeners == []
