"""Reader and card events from pcscd, surviving pcscd restarts.

Built on SCardGetStatusChange directly rather than pyscard's monitors, whose thread dies for
good when pcscd restarts (pyscard issue 82). Here a lost pcscd is an event: every card is
reported removed and every reader removed (a pcscd restart powers the cards down, so any
session with them is over), then the watcher re-establishes its context at a bounded pace and
reports readers and cards again as it finds them.

Every wait is bounded (``poll_timeout``), and :meth:`ReaderWatcher.stop` cancels the wait in
progress (SCardCancel), so the thread ends promptly.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from smartcard import scard

from drivers.errors import CardError, ReaderUnavailable
from drivers.pcsc import establish_context, is_service_gone, list_readers_in, release_context

log = logging.getLogger(__name__)

PNP_NOTIFICATION: Final = "\\\\?PnP?\\Notification"
_RETRY_S: Final = 0.2


@dataclass(frozen=True)
class ReaderAdded:
    reader: str


@dataclass(frozen=True)
class ReaderRemoved:
    reader: str


@dataclass(frozen=True)
class CardInserted:
    reader: str
    atr: bytes


@dataclass(frozen=True)
class CardWithdrawn:
    """A card left ``reader`` (the event; ``drivers.errors.CardRemoved`` is the error a job
    gets when its card goes)."""

    reader: str


@dataclass(frozen=True)
class PcscdLost:
    """pcscd stopped answering; readers and cards were reported removed just before."""

    reason: str


@dataclass(frozen=True)
class PcscdBack:
    """pcscd answers again; readers and cards follow as ReaderAdded / CardInserted."""


WatchEvent = ReaderAdded | ReaderRemoved | CardInserted | CardWithdrawn | PcscdLost | PcscdBack


@dataclass
class _Known:
    state: int  # last dwEventState, including pcsc-lite's event counter in the high 16 bits
    atr: bytes | None  # None: no card (or a mute one)


def _card_of(event_state: int, atr: list[int]) -> bytes | None:
    if event_state & scard.SCARD_STATE_PRESENT and not event_state & scard.SCARD_STATE_MUTE:
        return bytes(atr)
    return None


class ReaderWatcher:
    """Turns pcscd's reader states into :data:`WatchEvent` values.

    Use :meth:`poll` from your own loop, or :meth:`start` a background thread that delivers
    events to ``on_event`` (called on the watcher thread; keep it short) and to :attr:`events`.
    The first poll reports what is already there: a ReaderAdded per reader and a CardInserted
    per card present.
    """

    def __init__(
        self,
        on_event: Callable[[WatchEvent], None] | None = None,
        *,
        poll_timeout: float = 1.0,
    ) -> None:
        self.on_event = on_event
        self.poll_timeout = poll_timeout
        self.events: queue.Queue[WatchEvent] = queue.Queue()
        self._context: int | None = None
        self._known: dict[str, _Known] = {}
        self._service_up: bool | None = None
        self._pending: list[WatchEvent] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    # -- state ----------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, bytes | None]:
        """Reader name → ATR of the card in it (None if empty), as last seen."""
        with self._lock:
            return {reader: k.atr for reader, k in self._known.items()}

    @property
    def pcscd_up(self) -> bool:
        return bool(self._service_up)

    # -- synchronous use -------------------------------------------------------------------------

    def poll(self, timeout: float | None = None) -> list[WatchEvent]:
        """Wait up to ``timeout`` seconds for changes and return the events (maybe none)."""
        timeout = self.poll_timeout if timeout is None else timeout
        try:
            if self._context is None and not self._open():
                self._stop.wait(min(timeout, _RETRY_S))
                return self._emit(self._open_events())
            events = self._open_events()
            if events:  # a fresh context: report the current state before waiting for changes
                return self._emit(events)
            return self._emit(self._wait_change(timeout))
        except ReaderUnavailable as exc:  # pcscd went away between two calls
            return self._emit(self._pending_and(self._lose(str(exc))))

    # -- background thread ----------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="pcsc-watch", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        context = self._context
        if context is not None:
            scard.SCardCancel(context)
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll()
            except CardError as exc:
                # pcscd half-way through a restart answers oddly (seen: SCardListReaders
                # "Access denied" on a fresh context): a loss of service, said as such.
                log.info("reader watcher: %s; reopening the context", exc)
                self._emit(self._lose(str(exc)))
                self._stop.wait(_RETRY_S)
            except Exception:  # the watcher must outlive any one bad answer from pcscd
                log.exception("reader watcher: unexpected error; reopening the context")
                self._emit(self._lose("unexpected error"))
                self._stop.wait(_RETRY_S)

    # -- internals ------------------------------------------------------------------------------

    def _emit(self, events: list[WatchEvent]) -> list[WatchEvent]:
        for event in events:
            self.events.put(event)
            if self.on_event is not None:
                self.on_event(event)
        return events

    def _open(self) -> bool:
        try:
            self._context = establish_context()
        except CardError as exc:
            if self._service_up is not False:
                self._pending = self._lost_events(str(exc))
            return False
        return True

    def _open_events(self) -> list[WatchEvent]:
        """Events owed since the last call: loss of service, or the state of a new context."""
        events, self._pending = self._pending, []
        if self._context is None or self._service_up:
            return events
        first = self._service_up is None
        self._service_up = True
        if not first:
            events.append(PcscdBack())
        return events + self._refresh_readers()

    def _pending_and(self, events: list[WatchEvent]) -> list[WatchEvent]:
        pending, self._pending = self._pending, []
        return pending + events

    def _lost_events(self, reason: str) -> list[WatchEvent]:
        events: list[WatchEvent] = []
        with self._lock:
            for reader, known in sorted(self._known.items()):
                if known.atr is not None:
                    events.append(CardWithdrawn(reader))
                events.append(ReaderRemoved(reader))
            self._known.clear()
        if self._service_up is not False:
            events.append(PcscdLost(reason))
        self._service_up = False
        return events

    def _lose(self, reason: str) -> list[WatchEvent]:
        self._close()
        return self._lost_events(reason)

    def _close(self) -> None:
        context, self._context = self._context, None
        if context is not None:
            release_context(context)

    def _refresh_readers(self) -> list[WatchEvent]:
        assert self._context is not None
        readers = list_readers_in(self._context)
        events: list[WatchEvent] = []
        with self._lock:
            for reader in sorted(set(self._known) - set(readers)):
                if self._known.pop(reader).atr is not None:
                    events.append(CardWithdrawn(reader))
                events.append(ReaderRemoved(reader))
            new = [r for r in readers if r not in self._known]
        if not new:
            return events
        states = [(r, scard.SCARD_STATE_UNAWARE) for r in new]
        hr, answered = scard.SCardGetStatusChange(self._context, 0, states)
        if hr != scard.SCARD_S_SUCCESS:
            return events  # the reader vanished between the two calls: next poll sees it
        with self._lock:
            for reader, event_state, atr in answered:
                card = _card_of(event_state, atr)
                self._known[reader] = _Known(event_state & ~scard.SCARD_STATE_CHANGED, card)
                events.append(ReaderAdded(reader))
                if card is not None:
                    events.append(CardInserted(reader, card))
        return events

    def _wait_change(self, timeout: float) -> list[WatchEvent]:
        assert self._context is not None
        with self._lock:
            watched = [(r, k.state) for r, k in self._known.items()]
        # The PnP pseudo-reader reports readers appearing (USB hotplug) without polling.
        watched.append((PNP_NOTIFICATION, len(self._known) << 16))
        hr, answered = scard.SCardGetStatusChange(self._context, int(timeout * 1000), watched)
        if self._stop.is_set():
            return []
        if hr in (scard.SCARD_E_TIMEOUT, scard.SCARD_E_CANCELLED):
            return self._refresh_readers()
        if is_service_gone(hr) or hr == scard.SCARD_E_INVALID_HANDLE:
            return self._lose(scard.SCardGetErrorMessage(hr))
        if hr == scard.SCARD_E_UNKNOWN_READER or hr == scard.SCARD_E_READER_UNAVAILABLE:
            return self._refresh_readers()
        if hr != scard.SCARD_S_SUCCESS:
            return self._lose(scard.SCardGetErrorMessage(hr))
        events: list[WatchEvent] = []
        with self._lock:
            for reader, event_state, atr in answered:
                known = self._known.get(reader)
                if known is None or not event_state & scard.SCARD_STATE_CHANGED:
                    continue
                if event_state & (scard.SCARD_STATE_UNKNOWN | scard.SCARD_STATE_UNAVAILABLE):
                    continue  # reader going away: _refresh_readers reports it
                card = _card_of(event_state, atr)
                # The event counter (high 16 bits) moves on every insertion and removal, so a
                # card swapped between two polls is still seen as a removal and an insertion.
                swapped = (event_state >> 16) != (known.state >> 16)
                if known.atr is not None and (card is None or card != known.atr or swapped):
                    events.append(CardWithdrawn(reader))
                if card is not None and (known.atr is None or card != known.atr or swapped):
                    events.append(CardInserted(reader, card))
                known.state = event_state & ~scard.SCARD_STATE_CHANGED
                known.atr = card
        return events + self._refresh_readers()
