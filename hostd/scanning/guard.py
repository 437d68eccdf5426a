"""The ordonnance guard: one open dispensation per prescription across every counter.

An ordonnance numérique carries a single-use prescription number. Two counters serving the
same prescription (a patient who hands a copy to a second preparer, a family member at another
counter) or the same counter scanning it again while it is still being dispensed would
dispense it twice. The box sees every counter's scans, so it keeps the set of open
dispensations: the first scan opens one for that counter; a scan of the same number anywhere
while it is open raises an alert sent to *both* counters at once; only the counter that holds
it clears it, by finishing or abandoning the dispensation. An open dispensation nobody closes
lapses after ``max_open_s`` (a counter PC that crashed must not block a prescription forever).
"""

from __future__ import annotations

import enum
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


class AlertReason(enum.StrEnum):
    OPEN_AT_ANOTHER_COUNTER = "open-at-another-counter"
    RESCANNED_WHILE_OPEN = "rescanned-while-open"


class Outcome(enum.StrEnum):
    FINISHED = "finished"
    ABANDONED = "abandoned"


class NotOpen(LookupError):
    """No open dispensation for this prescription."""


class NotHolder(PermissionError):
    """Another counter holds this dispensation; only it may close it."""

    def __init__(self, holder: str) -> None:
        super().__init__(f"the dispensation is open at counter {holder}; only it may close it")
        self.holder = holder


@dataclass(frozen=True)
class Dispensation:
    prescription_id: str
    counter: str
    opened_at: datetime
    alerts: int = 0


@dataclass(frozen=True)
class GuardAlert:
    """Sent to every counter in ``counters`` (the holder first)."""

    prescription_id: str
    reason: AlertReason
    holder: str
    scanned_at: str
    counters: tuple[str, ...]
    opened_at: datetime


class OrdonnanceGuard:
    def __init__(self, max_open_s: float = 4 * 3600) -> None:
        self.max_open = timedelta(seconds=max_open_s)
        self._open: dict[str, Dispensation] = {}
        self._lock = threading.Lock()

    def scanned(
        self, prescription_id: str, counter: str, now: datetime | None = None
    ) -> GuardAlert | None:
        """Opens a dispensation, or returns the alert if the prescription is already open."""
        now = now or datetime.now(UTC)
        with self._lock:
            self._lapse(now)
            held = self._open.get(prescription_id)
            if held is None:
                self._open[prescription_id] = Dispensation(prescription_id, counter, now)
                return None
            self._open[prescription_id] = Dispensation(
                held.prescription_id, held.counter, held.opened_at, held.alerts + 1
            )
            if held.counter == counter:
                return GuardAlert(prescription_id, AlertReason.RESCANNED_WHILE_OPEN, counter,
                                  counter, (counter,), held.opened_at)
            return GuardAlert(prescription_id, AlertReason.OPEN_AT_ANOTHER_COUNTER, held.counter,
                              counter, (held.counter, counter), held.opened_at)

    def close(self, prescription_id: str, counter: str, outcome: Outcome,
              now: datetime | None = None) -> Dispensation:
        with self._lock:
            self._lapse(now or datetime.now(UTC))
            held = self._open.get(prescription_id)
            if held is None:
                raise NotOpen(f"no open dispensation for prescription {prescription_id}")
            if held.counter != counter:
                raise NotHolder(held.counter)
            return self._open.pop(prescription_id)

    def open_dispensations(self, now: datetime | None = None) -> list[Dispensation]:
        with self._lock:
            self._lapse(now or datetime.now(UTC))
            return sorted(self._open.values(), key=lambda d: d.opened_at)

    def _lapse(self, now: datetime) -> None:
        for key in [k for k, d in self._open.items() if now - d.opened_at > self.max_open]:
            del self._open[key]
