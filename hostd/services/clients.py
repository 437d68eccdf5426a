"""LAN clients: enrolment with a one-time pairing code, listing and revocation (admin).

The registry itself (codes, certificates, revocation) belongs to ``provisioning``; the daemon
adds what only a network service needs: a rate limit on enrolment attempts (a 6-digit code
must not be guessable by hammering the port) and audit rows for every attempt.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Protocol

from hostd.auth import Role
from provisioning.clients import Client


class PairingRefused(Exception):
    """Unknown, expired or already used pairing code, or an unusable CSR."""


class RateLimited(Exception):
    """Too many enrolment attempts in the last minute."""


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
