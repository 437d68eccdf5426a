"""CPS sessions shared by every counter: unlock lease, PIN rules, signing, all through the card's
worker and all audited.

Rules (ARCHITECTURE.md "CPS sessions", DOMAIN.md): a VERIFY stays valid while the card is
powered, so the daemon — not the card — decides how long an unlock lasts: the lease lapses after
an idle timeout or at the configured end of day, and the card is then reset (PIN needed again).
An API call never spends the last PIN try. The PIN is a ``bytearray`` wiped right after VERIFY.

Answers say what is true of the card: no card (``no-card``), locked (``cps-locked``: unlock
first), or blocked (``pin-blocked``: the try counter is at 0, only the PUK helps). A refusal
for want of the PIN reads the card's try counter once (one GET DATA, refusals only) unless the
service already knows it for this insertion of the card (it learns it from every unlock, wrong
PIN and tries-left read), so a locked card and a blocked one never get the same answer.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from drivers.cards.cps_model import CpsBackend, CpsHolder, KeyRole
from drivers.errors import LastTryRefused, PinBlocked, SecurityNotSatisfied, WrongPin
from hostd.audit import AuditLog
from hostd.config import CpsSettings
from hostd.errors import CpsPinBlocked, PinBudgetSpent, PinNotAllowed, TerminalAbsent
from hostd.scheduler import CardWorker
from hostd.services.jobs import Caller, audited, await_job
from hostd.services.readers import CardKind, CardSession, NoCard, ReaderHub, UnknownReader
from hostd.services.terminals import TerminalService

T = TypeVar("T")


@dataclass(frozen=True)
class LeaseStatus:
    """An unlock lease as callers see it at one moment (no lease: the CPS is locked)."""

    reader: str
    unlocked_by: str
    """The enrolled client (counter) whose PIN call opened the lease."""
    operator: str
    unlocked_at: datetime
    end_of_day: datetime
    """The lease ends here at the latest, whatever the activity."""
    idle_seconds_left: float


@dataclass(frozen=True)
class Unlocked:
    """A successful unlock: the PIN tries the card reports now, and the lease it opened."""

    tries_left: int
    lease: LeaseStatus


@dataclass
class UnlockLease:
    """The service's own, mutable record of a lease (``last_used`` moves with every use)."""

    reader: str
    client: str
    operator: str
    unlocked_at: datetime
    ends_at_latest: datetime
    last_used: float

    def view(self, idle_timeout_s: float, now_mono: float) -> LeaseStatus:
        idle_left = max(0.0, idle_timeout_s - (now_mono - self.last_used))
        return LeaseStatus(
            self.reader, self.client, self.operator, self.unlocked_at, self.ends_at_latest,
            round(idle_left, 3),
        )


def _next_end_of_day(now: datetime, settings: CpsSettings) -> datetime:
    cutoff = datetime.combine(now.date(), settings.end_of_day_time(), tzinfo=now.tzinfo)
    return cutoff if cutoff > now else cutoff + timedelta(days=1)


def _cps(session: CardSession) -> CpsBackend:
    app: CpsBackend = session.app
    return app


class CpsService:
    def __init__(
        self,
        hub: ReaderHub,
        audit: AuditLog,
        settings: CpsSettings,
        deadline_s: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = lambda: datetime.now().astimezone(),
        terminals: TerminalService | None = None,
    ) -> None:
        self._terminals = terminals
        self._hub = hub
        self._audit = audit
        self._settings = settings
        self._deadline_s = deadline_s
        self._clock = clock
        self._wall = wall
        self._lock = threading.Lock()
        self._leases: dict[str, UnlockLease] = {}
        self._wrong_pins: dict[tuple[str, str], int] = {}
        """(reader, client) → wrong API PINs since the last correct one on that reader."""
        self._tries: dict[str, tuple[datetime | None, int]] = {}
        """reader → (when its card went in, PIN tries left as last read from that card)."""

    # -- what the box knows of the card's PIN ------------------------------------------------

    def _inserted_at(self, reader: str) -> datetime | None:
        try:
            return self._hub.reader(reader).since
        except UnknownReader:
            return None

    def _note_tries(self, reader: str, tries: int) -> int:
        """Remembers the try counter for this insertion of the card (any thread)."""
        since = self._inserted_at(reader)
        with self._lock:
            self._tries[reader] = (since, tries)
        return tries

    def known_tries(self, reader: str) -> int | None:
        """PIN tries left as last read from the card now in the reader; None when the box has
        not read them since the card went in (a card pulled and put back is read again)."""
        since = self._inserted_at(reader)
        with self._lock:
            known = self._tries.get(reader)
        if known is None or known[0] != since:
            return None
        return known[1]

    def _card_job(self, reader: str, work: Callable[[CpsBackend], T]
                  ) -> Callable[[CardSession], T]:
        """``work`` on the card's thread, with the card's PIN refusals told truthfully: a
        blocked PIN (6983, or 0 tries) is :class:`CpsPinBlocked`; "security status not
        satisfied" (6982) is blocked too when the try counter reads 0, else stays "locked"."""

        def job(session: CardSession) -> T:
            card = _cps(session)
            try:
                return work(card)
            except CpsPinBlocked:
                self._note_tries(reader, 0)
                raise
            except PinBlocked:
                self._note_tries(reader, 0)
                raise CpsPinBlocked() from None
            except WrongPin as exc:
                self._note_tries(reader, exc.tries_left)
                raise
            except SecurityNotSatisfied:
                if self._note_tries(reader, card.tries_left()) == 0:
                    raise CpsPinBlocked() from None
                raise

        return job

    async def _refuse_locked(self, reader: str, worker: CardWorker[CardSession],
                             caller: Caller) -> None:
        """No lease: answer ``pin-blocked`` when the card's PIN is blocked, else ``cps-locked``
        (reading the try counter once per insertion when the box does not know it yet)."""
        tries = self.known_tries(reader)
        if tries is None:
            future = worker.submit(
                caller.client, "cps.tries-left",
                lambda s: self._note_tries(reader, _cps(s).tries_left()),
                timeout_s=self._deadline_s, priority=caller.priority,
            )
            tries = await await_job(future, caller, self._deadline_s)
        if tries == 0:
            raise CpsPinBlocked()
        raise SecurityNotSatisfied("the CPS is locked: unlock it with the PIN first")

    # -- leases -----------------------------------------------------------------------------

    def session_ended(self, reader: str) -> None:
        """The card was removed or reset: its PIN state is gone, and so is the lease."""
        with self._lock:
            self._leases.pop(reader, None)

    def lease(self, reader: str) -> LeaseStatus | None:
        """The reader's lease now, or None when its CPS is locked."""
        with self._lock:
            lease = self._leases.get(reader)
            if lease is None:
                return None
            return lease.view(self._settings.idle_timeout_s, self._clock())

    def _lapsed(self, lease: UnlockLease) -> bool:
        idle = self._clock() - lease.last_used
        return idle >= self._settings.idle_timeout_s or self._wall() >= lease.ends_at_latest

    async def expire_leases(self) -> list[str]:
        """Resets every card whose lease lapsed; run periodically and before each operation."""
        with self._lock:
            lapsed = [r for r, lease in self._leases.items() if self._lapsed(lease)]
        for reader in lapsed:
            # A failed reset (card pulled meanwhile) is audited; the lease is gone either way.
            with contextlib.suppress(Exception):
                await self._relock(reader, Caller("comptoir", "lease-expiry"), "cps.lease-expired")
        return lapsed

    async def _relock(self, reader: str, caller: Caller, action: str) -> None:
        with self._lock:
            self._leases.pop(reader, None)
        try:
            worker = self._hub.card_worker(reader, CardKind.CPS)
        except (UnknownReader, NoCard):
            return  # no card, no PIN state left to drop
        future = worker.submit(
            caller.client, action, lambda s: _cps(s).logout(),
            timeout_s=self._deadline_s, priority=caller.priority,
        )
        await audited(self._audit, caller, action, reader,
                      await_job(future, caller, self._deadline_s))

    def _touch_or_refuse(self, reader: str) -> None:
        with self._lock:
            lease = self._leases.get(reader)
            if lease is None or self._lapsed(lease):
                raise SecurityNotSatisfied("the CPS is locked: unlock it with the PIN first")
            lease.last_used = self._clock()

    # -- operations -------------------------------------------------------------------------

    async def _run(
        self,
        reader: str,
        caller: Caller,
        action: str,
        run: Callable[[CpsBackend], T],
        detail: Callable[[T], dict[str, Any]] | None = None,
        check: Callable[[], None] | None = None,
    ) -> T:
        async def operation() -> T:
            # The card first: with no card the true answer is no-card, not "locked".
            worker = self._hub.card_worker(reader, CardKind.CPS)
            if check is not None:  # a refusal before the card (locked CPS) is audited too
                try:
                    check()
                except SecurityNotSatisfied:
                    await self._refuse_locked(reader, worker, caller)
            # The job is only the card work: its audit row is written after it, off the
            # card's thread, so the card takes the next job while the row is fsynced.
            future = worker.submit(
                caller.client, action, self._card_job(reader, run),
                timeout_s=self._deadline_s, priority=caller.priority,
            )
            return await await_job(future, caller, self._deadline_s)

        return await audited(self._audit, caller, action, reader, operation(), detail)

    async def unlock(self, reader: str, pin: bytearray, caller: Caller) -> Unlocked:
        try:
            if not self._settings.api_pin:
                raise PinNotAllowed("this box takes the CPS PIN only from the PIN pad")

            def verify(card: CpsBackend) -> int:
                try:
                    tries = self._note_tries(reader, card.tries_left())
                    if tries == 0:
                        raise CpsPinBlocked()
                    if tries <= 1:
                        # Checked here as well as in the driver: the API never blocks a card.
                        raise LastTryRefused(tries)
                    card.verify_pin(pin, from_person=False)
                finally:
                    for i in range(len(pin)):
                        pin[i] = 0
                return self._note_tries(reader, card.tries_left())

            await self.expire_leases()
            budget = self._settings.wrong_pins_per_client

            def within_budget() -> None:
                # Checked before the card (and audited): refusing costs the card nothing.
                with self._lock:
                    spent = self._wrong_pins.get((reader, caller.client), 0)
                if spent >= budget:
                    raise PinBudgetSpent(
                        f"this counter presented {spent} wrong PIN(s) on this card: the PIN "
                        "must now be typed correctly at another counter or on the PIN pad")

            try:
                tries = await self._run(reader, caller, "cps.unlock", verify,
                                        check=within_budget)
            except WrongPin:
                with self._lock:
                    key = (reader, caller.client)
                    self._wrong_pins[key] = self._wrong_pins.get(key, 0) + 1
                # A failed VERIFY clears the card's verified state (ISO 7816-4): whatever
                # lease another counter held is over too.
                self.session_ended(reader)
                raise
            except PinBlocked:
                self.session_ended(reader)
                raise
            with self._lock:  # a correct PIN resets the card's counter, and everyone's share
                for key in [k for k in self._wrong_pins if k[0] == reader]:
                    del self._wrong_pins[key]
        finally:
            for i in range(len(pin)):
                pin[i] = 0
        return self._open_lease(reader, caller, tries)

    async def unlock_at_terminal(self, reader: str, terminal: str, caller: Caller) -> Unlocked:
        """The PIN typed on the counter's own terminal: the box prompts there, the person types,
        the box builds VERIFY; the counter PC never sees a digit. A person at the keypad may
        spend the last try (the terminal showed how many are left); the card is not held
        while the person types, so other counters keep signing meanwhile."""
        terminals = self._terminals
        if terminals is None:
            raise TerminalAbsent("this box has no counter terminals")
        terminals.check_bound(terminal, caller.client)
        await self.expire_leases()
        async def job(action: str, work: Callable[[CpsBackend], int]) -> int:
            worker = self._hub.card_worker(reader, CardKind.CPS)
            future = worker.submit(
                caller.client, action, self._card_job(reader, work),
                timeout_s=self._deadline_s, priority=caller.priority,
            )
            result: int = await await_job(future, caller, self._deadline_s)
            return result

        async def operation() -> int:
            before = await job("cps.tries-left",
                               lambda card: self._note_tries(reader, card.tries_left()))
            if before == 0:
                raise CpsPinBlocked()
            pin = await terminals.read_pin(terminal, before)
            try:
                def verify(card: CpsBackend) -> int:
                    card.verify_pin(pin, from_person=True)  # wipes the digits
                    return self._note_tries(reader, card.tries_left())

                return await job("cps.unlock", verify)
            finally:
                for i in range(len(pin)):
                    pin[i] = 0

        try:
            tries = await audited(
                self._audit, caller, "cps.unlock", reader, operation(),
                lambda left: {"terminal": terminal, "tries_left": left},
            )
        except WrongPin as exc:
            self.session_ended(reader)
            terminals.show(terminal, "wrong_pin", tries_left=exc.tries_left)
            raise
        except PinBlocked:
            self.session_ended(reader)
            terminals.show(terminal, "error", text="PIN bloque")
            raise
        terminals.show(terminal, "result", text="PIN correct", detail="CPS ouverte")
        return self._open_lease(reader, caller, tries)

    def _open_lease(self, reader: str, caller: Caller, tries: int) -> Unlocked:
        now = self._wall()
        lease = UnlockLease(
            reader, caller.client, caller.operator, now,
            _next_end_of_day(now, self._settings), self._clock(),
        )
        with self._lock:
            self._leases[reader] = lease
        return Unlocked(tries, lease.view(self._settings.idle_timeout_s, self._clock()))

    async def lock(self, reader: str, caller: Caller) -> None:
        """Resets the card now: the next operation needs the PIN again."""
        await self._relock(reader, caller, "cps.lock")

    async def holder(self, reader: str, caller: Caller) -> CpsHolder:
        await self.expire_leases()
        holder: CpsHolder = await self._run(reader, caller, "cps.holder", lambda c: c.holder())
        return holder

    async def tries_left(self, reader: str, caller: Caller) -> int:
        tries: int = await self._run(reader, caller, "cps.tries-left",
                                     lambda c: self._note_tries(reader, c.tries_left()))
        return tries

    async def certificate(self, reader: str, role: KeyRole, caller: Caller) -> bytes:
        der: bytes = await self._run(
            reader, caller, f"cps.certificate.{role.value}", lambda c: c.certificate(role)
        )
        return der

    async def sign(
        self, reader: str, role: KeyRole, caller: Caller, *, digest: bytes | None = None,
        data: bytes | None = None,
    ) -> bytes:
        await self.expire_leases()
        if digest is not None:
            def run(card: CpsBackend) -> bytes:
                return card.sign_digest(role, digest)
            size: dict[str, Any] = {"digest_sha256": digest.hex()}
        elif data is not None:
            def run(card: CpsBackend) -> bytes:
                return card.sign_data(role, data)
            size = {"data_bytes": len(data)}
        else:
            raise ValueError("give either a digest or data to sign")
        signature: bytes = await self._run(
            reader, caller, f"cps.sign.{role.value}", run, lambda _r: size,
            check=lambda: self._touch_or_refuse(reader),
        )
        return signature
