"""LAN clients: enrolment with a one-time pairing code, listing and revocation (admin).

The registry itself (codes, certificates, revocation) belongs to ``provisioning``; the daemon
adds what only a network service needs: rate limits on enrolment attempts (a 6-digit code must
not be guessable by hammering the port, and one hammering peer must not block a technician)
and audit rows. A successful enrolment has its own durable row before the answer; refused
attempts come from peers without any credential, so they are *counted*, one row per source,
outcome and minute (:class:`RefusalCounter`): a flood costs the disk a few rows a minute,
never one fsynced row per packet.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from hostd.audit import AuditLog
from hostd.auth import Role
from hostd.errors import BadCsr, PairingRefused, RateLimited
from hostd.outcomes import outcome_of
from hostd.services.jobs import Caller, audited
from provisioning.clients import Client

__all__ = ["AttemptLimiter", "BadCsr", "ClientAdmin", "ClientService", "Enrolled",
           "PairingCode", "PairingRefused", "RateLimited"]


@dataclass(frozen=True)
class PairingCode:
    """A one-time code an admin hands to a technician to enrol one client."""

    name: str
    role: Role
    code: str
    ttl_s: int


@dataclass(frozen=True)
class Enrolled:
    name: str
    role: Role
    certificate_pem: str
    ca_pem: str


class ClientAdmin(Protocol):
    def list_clients(self) -> list[Client]: ...

    def revoke(self, name: str) -> bool:
        """False when no such client."""
        ...

    def create_pairing_code(self, name: str, role: Role, ttl_s: int) -> PairingCode: ...

    def enrol(self, code: str, csr_pem: bytes) -> Enrolled:
        """Redeems the code (single use) and issues the client certificate."""
        ...

    def ca_pem(self) -> str:
        """The local CA certificate: a counter checks its fingerprint (from the handover
        sheet) before it sends a pairing code."""
        ...


_MAX_SOURCES = 4096
"""Sources tracked at once by the limiter and the refusal counter (bounded memory under a
flood from many addresses; beyond, new sources share one "other" entry)."""


class AttemptLimiter:
    """Enrolment attempts in any sliding 60 s window: at most ``per_source`` from one address,
    and at most ``per_minute`` from all addresses together — except that an address's *first*
    attempt of the window is never refused by the global ceiling. So a peer hammering the port
    spends only its own allowance, and a technician arriving from another address always gets
    to try a code; guessing stays slow (``per_source`` guesses per address per minute)."""

    def __init__(self, per_minute: int, per_source: int | None = None,
                 clock: Any = time.monotonic) -> None:
        self._per_minute = per_minute
        self._per_source = per_source or per_minute
        self._clock = clock
        self._lock = threading.Lock()
        self._times: deque[float] = deque()
        self._by_source: dict[str, deque[float]] = {}

    def take(self, source: str = "-") -> None:
        now = self._clock()
        with self._lock:
            while self._times and now - self._times[0] >= 60:
                self._times.popleft()
            if source not in self._by_source and len(self._by_source) >= _MAX_SOURCES:
                for key in [k for k, q in self._by_source.items() if not q or now - q[-1] >= 60]:
                    del self._by_source[key]
                if len(self._by_source) >= _MAX_SOURCES:
                    source = "other"
            mine = self._by_source.setdefault(source, deque())
            while mine and now - mine[0] >= 60:
                mine.popleft()
            if len(mine) >= self._per_source:
                raise RateLimited(
                    f"more than {self._per_source} enrolment attempts in a minute from {source}")
            if mine and len(self._times) >= self._per_minute:
                raise RateLimited(f"more than {self._per_minute} enrolment attempts in a minute")
            mine.append(now)
            self._times.append(now)

    def forgive(self, source: str = "-") -> None:
        """A valid code was redeemed: that attempt guessed nothing, so it does not count (a
        technician enrolling several counters from one laptop is not slowed down)."""
        with self._lock:
            mine = self._by_source.get(source)
            if mine:
                mine.pop()
            if self._times:
                self._times.pop()


class RefusalCounter:
    """Refused unauthenticated attempts, aggregated: one audit row per (source, outcome) and
    UTC minute, ``detail.count`` attempts, written once the minute is over (or at close)."""

    def __init__(self, audit: AuditLog, action: str) -> None:
        self._audit = audit
        self._action = action
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, str, str], int] = {}
        self._timer: asyncio.TimerHandle | None = None
        self.rows_written = 0

    def note(self, source: str, outcome: str) -> None:
        minute = datetime.now(UTC).strftime("%Y-%m-%dT%H:%MZ")
        with self._lock:
            if (minute, source, outcome) not in self._counts and \
                    len(self._counts) >= _MAX_SOURCES:
                source = "other"
            key = (minute, source, outcome)
            self._counts[key] = self._counts.get(key, 0) + 1
        if self._timer is None:
            with contextlib.suppress(RuntimeError):  # no loop: flushed at close
                loop = asyncio.get_running_loop()
                delay = 60.5 - datetime.now(UTC).second
                self._timer = loop.call_later(delay, self._flush_due)

    def _flush_due(self) -> None:
        self._timer = None
        self.flush(before=datetime.now(UTC).strftime("%Y-%m-%dT%H:%MZ"))
        with self._lock:
            pending = bool(self._counts)
        if pending:
            self._timer = asyncio.get_running_loop().call_later(60, self._flush_due)

    def flush(self, before: str | None = None) -> None:
        """Submits the rows of every minute before ``before`` (all when None). Never waits:
        a refused peer was already answered, and no operation depends on these rows."""
        with self._lock:
            due = sorted(k for k in self._counts if before is None or k[0] < before)
            rows = [(k, self._counts.pop(k)) for k in due]
        for (minute, source, outcome), count in rows:
            with contextlib.suppress(Exception):  # disk full: the counts are lost, not the box
                self._audit.submit(client=f"peer:{source}", operator="-", action=self._action,
                                   target="-", outcome=outcome,
                                   detail={"count": count, "minute": minute})
                self.rows_written += 1


class ClientService:
    """Enrolment, pairing codes and revocation, each one audited through the services' one
    path (:func:`hostd.services.jobs.audited`): the routes never write rows themselves."""

    def __init__(self, admin: ClientAdmin, audit: AuditLog,
                 limiter: AttemptLimiter | None = None) -> None:
        self._admin = admin
        self._audit = audit
        self._limiter = limiter
        self.refusals = RefusalCounter(audit, "client.enrol.refused")

    def list_clients(self) -> list[Client]:
        return self._admin.list_clients()

    def ca_pem(self) -> str:
        return self._admin.ca_pem()

    async def revoke(self, name: str, caller: Caller) -> bool:
        return await audited(self._audit, caller, "client.revoke", name,
                             asyncio.to_thread(self._admin.revoke, name))

    async def pairing_code(self, name: str, role: Role, ttl_s: int,
                           caller: Caller) -> PairingCode:
        return await audited(
            self._audit, caller, "client.pairing-code", name,
            asyncio.to_thread(self._admin.create_pairing_code, name, role, ttl_s),
            lambda _r: {"role": role.value, "ttl_s": ttl_s},
        )

    async def enrol(self, code: str, csr_pem: bytes, peer: str) -> Enrolled:
        """Rate-limited by source; a success has its own row (the peer's address — it has no
        certificate yet —, the enrolled client and its role), durable before the answer; a
        refusal is counted in the peer's row of the minute (:class:`RefusalCounter`)."""
        caller = Caller(f"peer:{peer}", "-")
        try:
            if self._limiter is not None:
                self._limiter.take(peer)
            enrolled = await asyncio.to_thread(self._admin.enrol, code, csr_pem)
        except Exception as exc:
            self.refusals.note(peer, outcome_of(exc))
            raise
        if self._limiter is not None:
            self._limiter.forgive(peer)

        def detail(result: Enrolled) -> dict[str, Any]:
            return {"name": result.name, "role": result.role.value}

        async def done() -> Enrolled:
            return enrolled

        # The target is unknown until the code is redeemed: the name goes in the detail.
        return await audited(self._audit, caller, "client.enrol", "-", done(), detail)
