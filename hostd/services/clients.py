"""LAN clients: enrolment with a one-time pairing code, listing and revocation (admin).

The registry itself (codes, certificates, revocation) belongs to ``provisioning``; the daemon
adds what only a network service needs: a rate limit on enrolment attempts (a 6-digit code
must not be guessable by hammering the port) and audit rows for every attempt.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Protocol

from hostd.audit import AuditLog
from hostd.auth import Role
from hostd.errors import PairingRefused, RateLimited
from hostd.services.jobs import Caller, audited
from provisioning.clients import Client

__all__ = ["AttemptLimiter", "ClientAdmin", "ClientService", "Enrolled", "PairingCode",
           "PairingRefused", "RateLimited"]


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


class AttemptLimiter:
    """At most ``per_minute`` attempts in any sliding 60 s window (all peers together)."""

    def __init__(self, per_minute: int, clock: Any = time.monotonic) -> None:
        self._per_minute = per_minute
        self._clock = clock
        self._lock = threading.Lock()
        self._times: deque[float] = deque()

    def take(self) -> None:
        now = self._clock()
        with self._lock:
            while self._times and now - self._times[0] >= 60:
                self._times.popleft()
            if len(self._times) >= self._per_minute:
                raise RateLimited(f"more than {self._per_minute} enrolment attempts in a minute")
            self._times.append(now)


class ClientService:
    """Enrolment, pairing codes and revocation, each one audited through the services' one
    path (:func:`hostd.services.jobs.audited`): the routes never write rows themselves."""

    def __init__(self, admin: ClientAdmin, audit: AuditLog,
                 limiter: AttemptLimiter | None = None) -> None:
        self._admin = admin
        self._audit = audit
        self._limiter = limiter

    def list_clients(self) -> list[Client]:
        return self._admin.list_clients()

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
        """Rate-limited; the row names the peer's address (it has no certificate yet) and,
        on success, the enrolled client and its role."""
        caller = Caller(f"peer:{peer}", "-")

        async def attempt() -> Enrolled:
            if self._limiter is not None:
                self._limiter.take()
            return await asyncio.to_thread(self._admin.enrol, code, csr_pem)

        def detail(result: Enrolled) -> dict[str, Any]:
            return {"name": result.name, "role": result.role.value}

        # The target is unknown until the code is redeemed: the name goes in the detail.
        return await audited(self._audit, caller, "client.enrol", "-", attempt(), detail)
