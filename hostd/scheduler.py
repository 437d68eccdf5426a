"""The shared-card scheduler: one worker thread per card, fair across clients.

Why a thread per card and not a lock: the card is a single serial device and PC/SC calls block;
a dedicated thread owning the exclusive connection means no other code can ever interleave
APDUs (an unlocked CPS is usable by anything holding a handle, DOMAIN.md), and the queue in front
of it is the one place where fairness, priority, deadlines and card removal are decided.

Ordering rule: interactive jobs always before batch jobs; inside one priority, round-robin by
client (one job per client per turn) so a counter with 50 queued signatures cannot starve one
with a single read — the opposite of GALSS-style exclusivity per session.
"""

from __future__ import annotations

import enum
import itertools
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from drivers.errors import CardError, CardRemoved

S = TypeVar("S")
R = TypeVar("R")

_IDLE_WAIT_S = 0.5
"""Upper bound of one idle wait, so stop requests and deadlines are seen without a job."""

_SAMPLES = 4096
"""Recent waits/services kept for percentiles on the status page (bounded memory)."""


class Priority(enum.IntEnum):
    INTERACTIVE = 0
    BATCH = 1


class DeadlineExceeded(Exception):
    """The job waited past its deadline before the card could take it."""


class SchedulerStopped(Exception):
    """The worker is shutting down; the job was never run."""


@dataclass(eq=False)
class CardJob(Generic[S, R]):
    """One unit of card work: ``run(session)`` executes on the card's worker thread."""

    client: str
    action: str
    run: Callable[[S], R]
    deadline: float
    priority: Priority = Priority.INTERACTIVE
    future: Future[R] = field(default_factory=Future)
    enqueued_at: float = field(default_factory=time.monotonic)
    seq: int = 0


@dataclass
class QueueFigures:
    """What the status endpoint and /metrics show for one card."""

    depth: int
    running: bool
    completed: int
    failed: int
    busy_s: float
    uptime_s: float
    wait_p50_ms: float
    wait_p99_ms: float
    service_p50_ms: float
    service_p99_ms: float
    wait_sum_s: float
    service_sum_s: float


def _percentile(samples: list[float], q: float) -> float:
    if not samples:
        return 0.0
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


class CardWorker(Generic[S]):
    """Owns one card's session; every access to the card is a job run on this thread.

    ``open_session`` is called lazily on the worker thread when a job needs the card and no
    session is open (first job, or after a removal/reset); ``close_session`` when the card goes
    or the worker stops. Neither is ever called from another thread.
    """

    def __init__(
        self,
        name: str,
        open_session: Callable[[], S],
        close_session: Callable[[S], None],
        *,
        on_session_end: Callable[[], None] | None = None,
    ) -> None:
        self.name = name
        self._open = open_session
        self._close = close_session
        self._on_session_end = on_session_end
        self._cond = threading.Condition()
        self._queues: dict[Priority, dict[str, deque[CardJob[S, Any]]]] = {
            p: {} for p in Priority
        }
        self._turns: dict[Priority, deque[str]] = {p: deque() for p in Priority}
        self._seq = itertools.count()
        self._session: S | None = None
        self._session_stale = False
        self._stopping = False
        self._running_job = False
        self._started = time.monotonic()
        self._busy_s = 0.0
        self._completed = 0
        self._failed = 0
        self._waits: deque[float] = deque(maxlen=_SAMPLES)
        self._services: deque[float] = deque(maxlen=_SAMPLES)
        self._wait_sum = 0.0
        self._service_sum = 0.0
        self._thread = threading.Thread(target=self._loop, name=f"card:{name}", daemon=True)
        self._thread.start()

    # -- submission -------------------------------------------------------------------------

    def submit(
        self,
        client: str,
        action: str,
        run: Callable[[S], R],
        *,
        timeout_s: float,
        priority: Priority = Priority.INTERACTIVE,
    ) -> Future[R]:
        """Queue a job; the returned future is cancellable until the worker takes the job."""
        job: CardJob[S, R] = CardJob(
            client=client,
            action=action,
            run=run,
            deadline=time.monotonic() + timeout_s,
            priority=priority,
        )
        with self._cond:
            if self._stopping:
                job.future.set_exception(SchedulerStopped(f"card worker {self.name} stopped"))
                return job.future
            job.seq = next(self._seq)
            per_client = self._queues[priority].setdefault(client, deque())
            if not per_client:
                self._turns[priority].append(client)
            per_client.append(job)
            self._cond.notify()
        return job.future

    # -- card events ------------------------------------------------------------------------

    def card_removed(self, reason: str = "card removed from the reader") -> int:
        """Fail every queued job now and end the session; returns how many jobs were failed.

        Called from the reader watcher's thread: queued jobs must not wait for the worker to
        finish whatever it is doing (a job in progress fails by itself when the card is gone).
        """
        with self._cond:
            jobs = self._drain_locked()
            self._session_stale = True
            self._cond.notify()
        for job in jobs:
            if job.future.set_running_or_notify_cancel():
                job.future.set_exception(CardRemoved(reason))
        with self._cond:
            self._failed += len(jobs)
        return len(jobs)

    def end_session(self) -> None:
        """Close the session at the next opportunity (a reset drops the card's PIN state)."""
        with self._cond:
            self._session_stale = True
            self._cond.notify()

    def stop(self, timeout_s: float = 5.0) -> None:
        with self._cond:
            self._stopping = True
            jobs = self._drain_locked()
            self._cond.notify()
        for job in jobs:
            if job.future.set_running_or_notify_cancel():
                job.future.set_exception(SchedulerStopped(f"card worker {self.name} stopped"))
        self._thread.join(timeout_s)

    # -- figures ----------------------------------------------------------------------------

    def figures(self) -> QueueFigures:
        with self._cond:
            depth = sum(len(q) for per in self._queues.values() for q in per.values())
            waits = list(self._waits)
            services = list(self._services)
            return QueueFigures(
                depth=depth,
                running=self._running_job,
                completed=self._completed,
                failed=self._failed,
                busy_s=self._busy_s,
                uptime_s=time.monotonic() - self._started,
                wait_p50_ms=_percentile(waits, 0.5) * 1000,
                wait_p99_ms=_percentile(waits, 0.99) * 1000,
                service_p50_ms=_percentile(services, 0.5) * 1000,
                service_p99_ms=_percentile(services, 0.99) * 1000,
                wait_sum_s=self._wait_sum,
                service_sum_s=self._service_sum,
            )

    # -- worker -----------------------------------------------------------------------------

    def _drain_locked(self) -> list[CardJob[S, Any]]:
        jobs = [job for per in self._queues.values() for q in per.values() for job in q]
        for p in Priority:
            self._queues[p].clear()
            self._turns[p].clear()
        return jobs

    def _next_locked(self) -> CardJob[S, Any] | None:
        for priority in Priority:
            turns = self._turns[priority]
            if not turns:
                continue
            client = turns.popleft()
            per_client = self._queues[priority][client]
            job = per_client.popleft()
            if per_client:
                turns.append(client)
            else:
                del self._queues[priority][client]
            return job
        return None

    def _loop(self) -> None:
        while True:
            with self._cond:
                job = self._next_locked()
                stale = self._session_stale
                self._session_stale = False
                while job is None and not stale and not self._stopping:
                    self._cond.wait(_IDLE_WAIT_S)
                    job = self._next_locked()
                    stale = self._session_stale
                    self._session_stale = False
                stopping = self._stopping and job is None
            if stale or stopping:
                self._drop_session()
            if stopping:
                return
            if job is not None:
                self._run(job)

    def _drop_session(self) -> None:
        if self._session is None:
            return
        session, self._session = self._session, None
        try:
            self._close(session)
        except CardError:
            pass  # the card or reader is already gone; nothing left to release
        finally:
            if self._on_session_end is not None:
                self._on_session_end()

    def _run(self, job: CardJob[S, Any]) -> None:
        if not job.future.set_running_or_notify_cancel():
            return  # the caller went away while the job was queued
        start = time.monotonic()
        if start > job.deadline:
            waited = start - job.enqueued_at
            job.future.set_exception(
                DeadlineExceeded(f"{job.action}: waited {waited:.3f}s for the card")
            )
            with self._cond:
                self._failed += 1
            return
        with self._cond:
            self._running_job = True
        ok = True
        try:
            if self._session is None:
                self._session = self._open()
            result = job.run(self._session)
        except Exception as exc:  # the job's error belongs to its caller, not to the worker
            ok = False
            if isinstance(exc, CardRemoved):
                self._drop_session()
            job.future.set_exception(exc)
        else:
            job.future.set_result(result)
        end = time.monotonic()
        with self._cond:
            self._running_job = False
            wait, service = start - job.enqueued_at, end - start
            self._busy_s += service
            self._waits.append(wait)
            self._services.append(service)
            self._wait_sum += wait
            self._service_sum += service
            if ok:
                self._completed += 1
            else:
                self._failed += 1
