"""Server-sent events with ids and a bounded replay buffer.

Why: an SSE client that loses its connection (Wi-Fi blip, daemon busy) reconnects by itself
and sends ``Last-Event-ID``; without ids and a buffer the events in between were simply lost,
and an LGO would show a card as present after it left. The daemon keeps the last ``capacity``
events in a ring; a client asking from inside the ring gets exactly what it missed, and a
client from before the ring (or from an earlier run of the daemon: ids carry a per-start
epoch) gets a ``resync`` event with the full state instead — never a silent gap.

Publishers are any thread (the reader watcher); listeners are asyncio tasks woken through
their own loop. Memory is bounded by the ring, not by the number or speed of listeners: a slow
listener just reads further back in the ring, or resyncs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import threading
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

DEFAULT_CAPACITY = 256


@dataclass(frozen=True)
class Event:
    seq: int
    name: str
    data: dict[str, Any]
    epoch: str

    @property
    def id(self) -> str:
        return event_id(self.epoch, self.seq)

    def encode(self) -> bytes:
        return sse(self.name, self.data, self.id)


def event_id(epoch: str, seq: int) -> str:
    return f"{epoch}-{seq}"


def sse(name: str, data: dict[str, Any], id_: str | None = None) -> bytes:
    """One event in the text/event-stream format (data is one line of JSON)."""
    head = f"id: {id_}\n" if id_ is not None else ""
    return f"{head}event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


KEEP_ALIVE_S = 15.0
"""A comment line this often keeps proxies and idle timers from closing a quiet stream."""


async def pump(
    next_chunks: Callable[[], list[bytes]],
    wake: asyncio.Event,
    ends_at: float,
    is_disconnected: Callable[[], Awaitable[bool]],
) -> AsyncIterator[bytes]:
    """The wait loop of every event stream: send what ``next_chunks`` owes, else sleep until
    woken (or a keep-alive is due); stop when the caller left or the stream's time is up.

    ``wake`` is cleared before each read, so an event published meanwhile wakes the next wait.
    """
    loop = asyncio.get_running_loop()
    while (left := ends_at - loop.time()) > 0:
        if await is_disconnected():
            return
        wake.clear()
        chunks = next_chunks()
        for chunk in chunks:
            yield chunk
        if chunks:
            continue
        try:
            await asyncio.wait_for(wake.wait(), min(KEEP_ALIVE_S, left))
        except TimeoutError:
            yield b": keep-alive\n\n"


class EventLog:
    def __init__(self, capacity: int = DEFAULT_CAPACITY, epoch: str | None = None) -> None:
        if capacity < 1:
            raise ValueError("the event ring needs room for at least one event")
        self.epoch = epoch or secrets.token_hex(4)
        self._ring: deque[Event] = deque(maxlen=capacity)
        self._seq = 0
        self._lock = threading.Lock()
        self._listeners: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    @property
    def capacity(self) -> int:
        return self._ring.maxlen or 0

    def publish(self, name: str, data: dict[str, Any]) -> Event:
        with self._lock:
            self._seq += 1
            event = Event(self._seq, name, data, self.epoch)
            self._ring.append(event)
            listeners = list(self._listeners)
        for loop, wake in listeners:
            # A closed loop means that listener is leaving; it unlistens on its way out.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(wake.set)
        return event

    def head(self) -> int:
        """The seq of the newest event (0 before the first)."""
        with self._lock:
            return self._seq

    def after(self, seq: int) -> list[Event] | None:
        """Every event newer than ``seq``, oldest first; ``None`` when some of them already
        left the ring (the caller must resync, not skip)."""
        with self._lock:
            if seq >= self._seq:
                return []
            oldest = self._ring[0].seq if self._ring else self._seq + 1
            if seq + 1 < oldest:
                return None
            return [e for e in self._ring if e.seq > seq]

    def resume_point(self, last_event_id: str | None) -> int | None:
        """The seq to resume after, from a ``Last-Event-ID``; ``None`` when it cannot be
        honoured (another run of the daemon, malformed, from the future): resync."""
        if last_event_id is None:
            return None
        epoch, _, number = last_event_id.strip().rpartition("-")
        if epoch != self.epoch or not number.isdigit():
            return None
        seq = int(number)
        return seq if seq <= self.head() else None

    def listen(self) -> asyncio.Event:
        """An event set (on the caller's loop) whenever something is published."""
        wake = asyncio.Event()
        with self._lock:
            self._listeners.append((asyncio.get_running_loop(), wake))
        return wake

    def unlisten(self, wake: asyncio.Event) -> None:
        with self._lock:
            self._listeners = [(lp, w) for lp, w in self._listeners if w is not wake]
