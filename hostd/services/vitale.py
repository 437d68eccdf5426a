"""Reading a carte Vitale in a named reader, through that reader's worker, audited.

The read is interactive (a patient waits at the counter). NIR checks are part of the driver's
values (``drivers.cards.nir.NirCheck``): a wrong key is reported, never hidden, so the LGO can
show the card and flag it.
"""

from __future__ import annotations

from typing import Any

from drivers.cards.vitale_model import VitaleRead
from hostd.audit import AuditLog
from hostd.services.jobs import Caller, audited, await_job
from hostd.services.readers import CardKind, ReaderHub


class VitaleService:
    def __init__(self, hub: ReaderHub, audit: AuditLog, deadline_s: float) -> None:
        self._hub = hub
        self._audit = audit
        self._deadline_s = deadline_s

    async def read(self, reader: str, caller: Caller) -> VitaleRead:
        def detail(read: Any) -> dict[str, Any]:
            return {"beneficiaries": len(getattr(read, "beneficiaries", ()) or ())}

        async def operation() -> Any:
            worker = self._hub.card_worker(reader, CardKind.VITALE)
            future = worker.submit(
                caller.client, "vitale.read", lambda s: s.app.read(),
                timeout_s=self._deadline_s, priority=caller.priority,
            )
            return await await_job(future, caller, self._deadline_s)

        result = await audited(self._audit, caller, "vitale.read", reader, operation(), detail)
        if not isinstance(result, VitaleRead):
            raise TypeError(f"Vitale read returned {type(result).__name__}")
        return result

    async def apcv_nfc(self, reader: str, caller: Caller) -> str:
        """The ApCV payload of a phone laid on a contactless reader (the same single-use
        content a QR code would carry), through that reader's card queue, audited."""
        async def operation() -> Any:
            worker = self._hub.card_worker(reader, CardKind.CONTACTLESS)
            future = worker.submit(
                caller.client, "apcv.nfc", lambda s: s.app.read_donnees(),
                timeout_s=self._deadline_s, priority=caller.priority,
            )
            return await await_job(future, caller, self._deadline_s)

        result = await audited(self._audit, caller, "apcv.nfc", reader, operation())
        if not isinstance(result, str):
            raise TypeError(f"ApCV NFC read returned {type(result).__name__}")
        return result
