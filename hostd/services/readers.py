"""Readers and the cards in them: one :class:`CardWorker` per reader, events for listeners.

A reader watcher (``drivers.pcsc`` on a box, the same over vpcd in tests) calls the ``on_*``
methods from its own thread. The hub turns them into state, worker life cycle and events; it
never talks to pcscd itself, so the watcher can be restarted (pcscd restarts) without losing
queued jobs or leases on cards that stayed in.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from drivers.apdu import CardConnection
from drivers.cards.apcv_nfc import is_contactless_atr
from drivers.cards.cps import is_cps_atr
from drivers.cards.vitale import is_vitale_atr
from drivers.errors import CardRemoved
from hostd.clock import rfc3339, utc_now
from hostd.events import DEFAULT_CAPACITY, EventLog
from hostd.scheduler import CardWorker


class CardKind(enum.StrEnum):
    CPS = "cps"
    VITALE = "vitale"
    CONTACTLESS = "contactless"
    """A contactless card (PC/SC part 3 ATR): on a counter, a phone with the ApCV app."""
    UNKNOWN = "unknown"


def classify_atr(atr: bytes) -> CardKind:
    """What kind of card was inserted; the card drivers own their ATRs."""
    if is_cps_atr(atr):
        return CardKind.CPS
    if is_vitale_atr(atr):
        return CardKind.VITALE
    if is_contactless_atr(atr):
        return CardKind.CONTACTLESS
    return CardKind.UNKNOWN


@dataclass
class CardSession:
    """Lives on the worker thread only: the exclusive connection and the card application."""

    kind: CardKind
    transport: CardConnection
    app: Any


class NoCard(Exception):
    """The named reader holds no card (of the kind asked for)."""


class UnknownReader(Exception):
    """No reader by that name."""


@dataclass(frozen=True)
class ReaderSnapshot:
    """A reader and its card at one moment, as callers see it (the state itself keeps moving
    on the watcher's thread)."""

    name: str
    atr: bytes | None
    kind: CardKind | None
    since: datetime | None
    """When the card last went in or out (None: nothing seen since the daemon started)."""

    @property
    def card_present(self) -> bool:
        return self.atr is not None


@dataclass
class ReaderState:
    name: str
    worker: CardWorker[CardSession]
    atr: bytes | None = None
    kind: CardKind | None = None
    since: datetime | None = None

    def view(self) -> ReaderSnapshot:
        return ReaderSnapshot(self.name, self.atr, self.kind, self.since)


Connect = Callable[[str], CardConnection]
"""Opens an exclusive connection to the card in a reader."""
AppFactory = Callable[[CardKind, CardConnection], Any]
"""Builds the card application (``CpsCard``, ``VitaleCard``) over a connection."""


class ReaderHub:
    def __init__(
        self,
        connect: Connect,
        app_factory: AppFactory,
        event_capacity: int = DEFAULT_CAPACITY,
    ) -> None:
        self._connect = connect
        self._app_factory = app_factory
        self._session_listeners: list[Callable[[str], None]] = []
        self._lock = threading.Lock()
        self._readers: dict[str, ReaderState] = {}
        self.events = EventLog(event_capacity)
        """Reader and card events with ids, replayable (``hostd.events``)."""

    def add_session_listener(self, listener: Callable[[str], None]) -> None:
        """Called with the reader name whenever a card session ends (removal, reset)."""
        self._session_listeners.append(listener)

    # -- watcher side (any thread) ----------------------------------------------------------

    def on_reader_added(self, name: str) -> None:
        with self._lock:
            if name in self._readers:
                return
            self._readers[name] = ReaderState(name, self._new_worker(name))
        self._publish("reader-added", name)

    def on_reader_removed(self, name: str) -> None:
        with self._lock:
            state = self._readers.pop(name, None)
        if state is None:
            return
        state.worker.card_removed("the reader was unplugged")
        state.worker.stop()
        self._publish("reader-removed", name)

    def on_card_inserted(self, name: str, atr: bytes) -> None:
        self.on_reader_added(name)
        with self._lock:
            state = self._readers[name]
            state.atr, state.kind, state.since = atr, classify_atr(atr), utc_now()
        self._publish("card-inserted", name, kind=state.kind.value if state.kind else None)

    def on_card_removed(self, name: str) -> None:
        with self._lock:
            state = self._readers.get(name)
            if state is None or state.atr is None:
                return
            state.atr, state.kind, state.since = None, None, utc_now()
        failed = state.worker.card_removed(f"the card was removed from {name}")
        for listener in self._session_listeners:
            listener(name)  # the PIN state left with the card: end leases now, not lazily
        self._publish("card-removed", name, failed_jobs=failed)

    # -- service side -----------------------------------------------------------------------

    def reader(self, name: str) -> ReaderState:
        with self._lock:
            state = self._readers.get(name)
        if state is None:
            raise UnknownReader(f"no reader named {name!r}")
        return state

    def card_worker(self, name: str, kind: CardKind) -> CardWorker[CardSession]:
        state = self.reader(name)
        if state.kind is not kind:
            raise NoCard(f"no {kind.value.upper()} card in {name!r}")
        return state.worker

    def readers(self) -> list[ReaderState]:
        with self._lock:
            return list(self._readers.values())

    def stop(self) -> None:
        with self._lock:
            states = list(self._readers.values())
            self._readers.clear()
        for state in states:
            state.worker.stop()

    # -- events (server-sent) ---------------------------------------------------------------

    def _publish(self, event: str, reader: str, **extra: Any) -> None:
        payload = {
            "event": event,
            "reader": reader,
            "at": rfc3339(utc_now()),
            **extra,
        }
        self.events.publish(event, payload)

    # -- worker plumbing --------------------------------------------------------------------

    def _new_worker(self, name: str) -> CardWorker[CardSession]:
        def open_session() -> CardSession:
            with self._lock:
                state = self._readers.get(name)
                kind = state.kind if state else None
            if kind is None:
                raise CardRemoved(f"no card in {name!r}")
            transport = self._connect(name)
            try:
                return CardSession(kind, transport, self._app_factory(kind, transport))
            except BaseException:
                transport.close()
                raise

        def close_session(session: CardSession) -> None:
            session.transport.close()

        def session_ended() -> None:
            for listener in self._session_listeners:
                listener(name)

        return CardWorker(name, open_session, close_session, on_session_end=session_ended)

