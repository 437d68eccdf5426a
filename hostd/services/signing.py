"""Signing with the officine's ORG keys (PKCS#11 store) for LAN clients, audited.

The token is not a card: no scheduler queue, but python-pkcs11 sessions are not shared across
threads safely, so the adapter serialises calls; the HTTP side runs them off the event loop.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from hostd.audit import AuditLog
from hostd.errors import KeyNotProvisioned
from hostd.pseudonyms import ins_ref
from hostd.services.jobs import Caller, audited

__all__ = ["KeyNotProvisioned", "SigningService", "StoreSigning"]


class StoreSigning(Protocol):
    """What the daemon needs from ``provisioning`` (adapter in ``hostd.provisioned``)."""

    def raw(self, key: str, *, data: bytes | None, digest: bytes | None) -> bytes: ...

    def cms(self, key: str, data: bytes) -> bytes: ...

    def xmldsig(self, key: str, xml: bytes) -> bytes: ...

    def vihf(self, key: str, context: dict[str, Any]) -> bytes: ...

    def certificate_pem(self, key: str) -> str: ...


class SigningService:
    def __init__(self, backend: StoreSigning, audit: AuditLog, pseudonym_key: bytes) -> None:
        self._backend = backend
        self._audit = audit
        self._pseudonym_key = pseudonym_key

    def ins_ref(self, ins: str) -> str:
        """How this operation's audit row names the patient (``hostd.pseudonyms``)."""
        return ins_ref(self._pseudonym_key, ins)

    async def run(
        self, caller: Caller, action: str, key: str, detail: dict[str, Any], call: Any, *args: Any,
        **kwargs: Any,
    ) -> Any:
        return await audited(self._audit, caller, f"store.{action}", key,
                             asyncio.to_thread(call, *args, **kwargs), lambda _r: detail)

    @property
    def backend(self) -> StoreSigning:
        return self._backend
