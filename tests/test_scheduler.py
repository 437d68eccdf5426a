"""The shared-card scheduler: fairness, priority, deadlines, cancellation, card removal."""

from __future__ import annotations

import threading
import time
from collections import deque
from concurrent.futures import Future, wait

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.errors import CardRemoved
from hostd.scheduler import CardWorker, DeadlineExceeded, Priority, SchedulerStopped


class Card:
    """A session object that records the order jobs reached it (stands for the connection)."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.gate = threading.Event()
        self.gate.set()


def make_worker() -> tuple[CardWorker[Card], list[Card], list[Card]]:
    opened: list[Card] = []
    closed: list[Card] = []

    def open_session() -> Card:
        card = Card()
        opened.append(card)
        return card

    return CardWorker("test", open_session, closed.append), opened, closed


def blocker(started: threading.Event, release: threading.Event):  # type: ignore[no-untyped-def]
    def run(card: Card) -> str:
        started.set()
        release.wait(5)
        card.log.append("blocker")
        return "blocker"

    return run


def tag(name: str):  # type: ignore[no-untyped-def]
    def run(card: Card) -> str:
        card.log.append(name)
        return name

    return run


def hold_card(worker: CardWorker[Card]) -> tuple[threading.Event, Future[str]]:
    started, release = threading.Event(), threading.Event()
    fut = worker.submit("holder", "hold", blocker(started, release), timeout_s=10)
    assert started.wait(5)
    return release, fut


def test_round_robin_by_client_not_fifo_by_job() -> None:
    worker, opened, _ = make_worker()
    try:
        release, first = hold_card(worker)
        futs = [worker.submit("A", "op", tag(f"A{i}"), timeout_s=10) for i in range(4)]
        futs += [worker.submit("B", "op", tag("B0"), timeout_s=10)]
        futs += [worker.submit("C", "op", tag(f"C{i}"), timeout_s=10) for i in range(2)]
        release.set()
        wait([first, *futs], timeout=5)
        assert opened[0].log == ["blocker", "A0", "B0", "C0", "A1", "C1", "A2", "A3"]
    finally:
        worker.stop()


def test_interactive_before_batch() -> None:
    worker, opened, _ = make_worker()
    try:
        release, first = hold_card(worker)
        b = [worker.submit("A", "op", tag(f"b{i}"), timeout_s=10, priority=Priority.BATCH)
             for i in range(2)]
        i = [worker.submit("B", "op", tag("i0"), timeout_s=10)]
        release.set()
        wait([first, *b, *i], timeout=5)
        assert opened[0].log == ["blocker", "i0", "b0", "b1"]
    finally:
        worker.stop()


def test_cancelled_job_never_reaches_the_card() -> None:
    worker, opened, _ = make_worker()
    try:
        release, _first = hold_card(worker)
        gone = worker.submit("A", "op", tag("gone"), timeout_s=10)
        kept = worker.submit("B", "op", tag("kept"), timeout_s=10)
        assert gone.cancel()
        release.set()
        assert kept.result(5) == "kept"
        assert "gone" not in opened[0].log
    finally:
        worker.stop()


def test_deadline_passed_in_queue_fails_without_touching_card() -> None:
    worker, opened, _ = make_worker()
    try:
        release, _first = hold_card(worker)
        late = worker.submit("A", "op", tag("late"), timeout_s=0.05)
        time.sleep(0.1)
        release.set()
        with pytest.raises(DeadlineExceeded):
            late.result(5)
        assert "late" not in opened[0].log
    finally:
        worker.stop()


def test_card_removed_fails_every_queued_job_at_once_and_ends_session() -> None:
    worker, opened, closed = make_worker()
    try:
        release, first = hold_card(worker)
        queued = [worker.submit(f"c{i % 5}", "op", tag(str(i)), timeout_s=30) for i in range(20)]
        t0 = time.monotonic()
        assert worker.card_removed() == 20
        _done, not_done = wait(queued, timeout=1)
        assert not not_done and time.monotonic() - t0 < 1
        for fut in queued:
            assert isinstance(fut.exception(), CardRemoved)
        release.set()
        first.result(5)
        # The next job opens a fresh session: the old one (and its PIN state) is gone.
        assert worker.submit("A", "op", tag("after"), timeout_s=5).result(5) == "after"
        assert closed == [opened[0]] and len(opened) == 2
        assert worker.figures().failed == 20
    finally:
        worker.stop()


def test_job_error_goes_to_its_caller_and_worker_survives() -> None:
    worker, _, _ = make_worker()
    try:
        def boom(card: Card) -> None:
            raise ValueError("bad input")

        with pytest.raises(ValueError, match="bad input"):
            worker.submit("A", "op", boom, timeout_s=5).result(5)
        assert worker.submit("A", "op", tag("ok"), timeout_s=5).result(5) == "ok"
    finally:
        worker.stop()


def test_stop_fails_queued_jobs_and_refuses_new_ones() -> None:
    worker, _, closed = make_worker()
    release, _first = hold_card(worker)
    queued = worker.submit("A", "op", tag("x"), timeout_s=5)
    threading.Timer(0.1, release.set).start()
    worker.stop()
    assert isinstance(queued.exception(1), SchedulerStopped)
    refused = worker.submit("A", "op", tag("y"), timeout_s=5)
    assert isinstance(refused.exception(1), SchedulerStopped)
    assert len(closed) == 1


def test_figures_count_busy_time_and_depth() -> None:
    worker, _, _ = make_worker()
    try:
        def slow(card: Card) -> None:
            time.sleep(0.02)

        futs = [worker.submit(f"c{i}", "op", slow, timeout_s=5) for i in range(5)]
        wait(futs, timeout=5)
        figures = worker.figures()
        assert figures.completed == 5 and figures.depth == 0
        assert figures.busy_s >= 0.1
        assert figures.service_p50_ms >= 20
    finally:
        worker.stop()


def expected_order(jobs: list[tuple[int, Priority]]) -> list[str]:
    """The ordering rule worked out from the submissions alone (every job queued while the card
    is busy): interactive before batch; within a priority, clients take turns in the order they
    first queued, one job per turn, each client's jobs in its own submission order."""
    order: list[str] = []
    for prio in Priority:
        queues: dict[int, deque[str]] = {}
        for i, (client, p) in enumerate(jobs):
            if p is prio:
                queues.setdefault(client, deque()).append(f"{p.value}:c{client}:{i}")
        while queues:
            for client in list(queues):
                order.append(queues[client].popleft())
                if not queues[client]:
                    del queues[client]
    return order


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.sampled_from(list(Priority))),
                min_size=1, max_size=40))
def test_round_robin_property(jobs: list[tuple[int, Priority]]) -> None:
    """Whatever the submission order: every submitted job runs exactly once and answers its own
    caller, in exactly the order the rule gives (interactive before batch, round-robin by client
    within a priority). A scheduler that drops, repeats or reorders any job fails this."""
    worker, opened, _ = make_worker()
    try:
        release, first = hold_card(worker)
        tags = [f"{prio.value}:c{client}:{i}" for i, (client, prio) in enumerate(jobs)]
        futs = [worker.submit(f"c{client}", "op", tag(name), timeout_s=10, priority=prio)
                for name, (client, prio) in zip(tags, jobs, strict=True)]
        release.set()
        _done, not_done = wait([first, *futs], timeout=10)
        assert not not_done, "some submitted jobs never ran"
        assert [f.result() for f in futs] == tags
        assert opened[0].log == ["blocker", *expected_order(jobs)]
    finally:
        worker.stop()
