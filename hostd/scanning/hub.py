"""Scan events per counter: classification, the guard, a resumable ring of recent events.

Every source — serial scanners, keyboard-wedge scanners, cameras, images posted by a counter,
a terminal's scanner module — hands its text (or its unreadable bytes) to :meth:`ScanHub.scan`
with the counter it is bound to. The hub classifies it, runs the ordonnance guard, and appends
typed events to that counter's ring (and, for a guard alert, to every counter concerned, at
once, under one lock). Event ids are increasing across the whole box, so a client that lost
its connection resumes with the last id it saw (SSE ``Last-Event-ID``) and misses nothing that
is still in the ring; if it was away so long that the ring moved past its id, the first event
it gets says so (``gap``).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hostd.scanning.classify import Classifier, Scan, ScanKind
from hostd.scanning.guard import Dispensation, GuardAlert, OrdonnanceGuard, Outcome

RING_SIZE = 256
"""Events kept per counter: hours of scanning at one counter, a few kB of memory."""


@dataclass(frozen=True)
class ScanEvent:
    """``type``: ``scan`` (with ``scan``), ``guard`` (with ``alert``: flagged to every counter
    concerned), ``closed`` (a dispensation finished or abandoned), ``device`` (a scanner or
    camera connected or disconnected, in ``detail``)."""

    id: int
    counter: str
    at: datetime
    type: str
    source: str
    scan: Scan | None = None
    alert: GuardAlert | None = None
    detail: str | None = None


@dataclass(frozen=True)
class Page:
    events: list[ScanEvent]
    gap: bool
    """True when events after the client's last id have already left the ring."""


Listener = Callable[[ScanEvent], None]


class ScanHub:
    def __init__(self, classifier: Classifier, guard: OrdonnanceGuard,
                 ring_size: int = RING_SIZE, clock: Callable[[], datetime] | None = None) -> None:
        self.classifier = classifier
        self.guard = guard
        self._clock = clock or (lambda: datetime.now(UTC))
        self._ring_size = ring_size
        self._rings: dict[str, deque[ScanEvent]] = {}
        self._dropped: dict[str, int] = {}  # highest id that left each ring
        self._next_id = 1
        self.epoch = secrets.token_hex(4)
        """Changes with every start: an SSE id from another run is never taken for this one's."""
        self._cond = threading.Condition()
        self._listeners: list[Listener] = []
        self._wakers: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    def add_listener(self, listener: Listener) -> None:
        """Called for every event, after it is stored (audit, metrics, the demo)."""
        self._listeners.append(listener)

    def scan(self, counter: str, source: str, text: str) -> list[ScanEvent]:
        return self._record(counter, source, self.classifier.classify(text))

    def unreadable(self, counter: str, source: str, reason: str, raw: bytes) -> list[ScanEvent]:
        return self._record(counter, source, Classifier.unreadable(reason, raw))

    def device(self, counter: str, source: str, state: str) -> ScanEvent:
        with self._cond:
            event = self._append(counter, "device", source, detail=state)
            self._cond.notify_all()
        self._notify([event])
        return event

    def close(self, prescription_id: str, counter: str, outcome: Outcome) -> Dispensation:
        """The holder finishes or abandons a dispensation (raises ``NotOpen``/``NotHolder``)."""
        with self._cond:
            closed = self.guard.close(prescription_id, counter, outcome, self._clock())
            detail = f"{outcome.value}:{prescription_id}"
            event = self._append(counter, "closed", "api", detail=detail)
            self._cond.notify_all()
        self._notify([event])
        return closed

    def _record(self, counter: str, source: str, scan: Scan) -> list[ScanEvent]:
        with self._cond:
            events = [self._append(counter, "scan", source, scan=scan)]
            if scan.kind is ScanKind.ORDONNANCE and scan.prescription_id:
                alert = self.guard.scanned(scan.prescription_id, counter, self._clock())
                if alert is not None:
                    events += [
                        self._append(c, "guard", source, alert=alert) for c in alert.counters
                    ]
            self._cond.notify_all()
        self._notify(events)
        return events

    def _append(self, counter: str, type_: str, source: str, **fields: Any) -> ScanEvent:
        event = ScanEvent(self._next_id, counter, self._clock(), type_, source, **fields)
        self._next_id += 1
        ring = self._rings.setdefault(counter, deque())
        ring.append(event)
        if len(ring) > self._ring_size:
            self._dropped[counter] = ring.popleft().id
        return event

    def listen(self) -> asyncio.Event:
        """An asyncio event (on the caller's loop) set whenever an event is stored: what an
        SSE stream awaits, so no thread waits per open stream."""
        wake = asyncio.Event()
        with self._cond:
            self._wakers.append((asyncio.get_running_loop(), wake))
        return wake

    def unlisten(self, wake: asyncio.Event) -> None:
        with self._cond:
            self._wakers = [(lp, w) for lp, w in self._wakers if w is not wake]

    def _notify(self, events: list[ScanEvent]) -> None:
        with self._cond:
            wakers = list(self._wakers)
        for loop, wake in wakers:
            # A closed loop means that stream is leaving; it unlistens on its way out.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(wake.set)
        for listener in self._listeners:
            for event in events:
                listener(event)

    def last(self, counter: str, limit: int = 20) -> list[ScanEvent]:
        """The most recent scan events at a counter, newest first."""
        with self._cond:
            ring = self._rings.get(counter, deque())
            scans = [e for e in reversed(ring) if e.type == "scan"]
            return scans[:limit]

    def after(self, counter: str, last_id: int) -> Page:
        with self._cond:
            return self._after(counter, last_id)

    def _after(self, counter: str, last_id: int) -> Page:
        ring = self._rings.get(counter, deque())
        gap = last_id < self._dropped.get(counter, 0)
        return Page([e for e in ring if e.id > last_id], gap)

    def wait(self, counter: str, last_id: int, timeout: float) -> Page:
        """Blocks until there is an event after ``last_id`` at ``counter`` or ``timeout``."""
        with self._cond:
            self._cond.wait_for(lambda: bool(self._after(counter, last_id).events),
                                timeout=max(0.0, min(timeout, 60.0)))
            return self._after(counter, last_id)

    @property
    def last_id(self) -> int:
        with self._cond:
            return self._next_id - 1
