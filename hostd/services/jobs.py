"""Running a card job for an HTTP caller: deadline, cancellation on disconnect, audit.

Starlette does not cancel an endpoint when its client goes away, so a queued job would still
reach the card for nobody. :func:`await_job` listens for the ASGI ``http.disconnect`` message
while waiting and cancels the job's future: a job still queued is then skipped by the worker.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from hostd.audit import AuditLog

T = TypeVar("T")
P = ParamSpec("P")

Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]


@dataclass(frozen=True)
class Caller:
    """Who asks: the enrolled client (counter PC), the operator named by the LGO, and how to
    notice that the HTTP peer went away (``None`` outside a request)."""

    client: str
    operator: str
    receive: Receive | None = None


async def _watch_disconnect(receive: Receive, future: Future[Any]) -> None:
    # Bounded: ends on disconnect, or is cancelled by await_job when the job is done.
    while True:
        message = await receive()
        if message.get("type") == "http.disconnect":
            future.cancel()
            return


async def await_job(future: Future[T], caller: Caller, timeout_s: float) -> T:
    watcher = (
        asyncio.create_task(_watch_disconnect(caller.receive, future))
        if caller.receive is not None
        else None
    )
    try:
        # The worker enforces the deadline for queued jobs; the extra margin covers a job
        # that started just before its deadline and then ran on the card.
        return await asyncio.wait_for(asyncio.wrap_future(future), timeout_s + 60)
    finally:
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher


def _error_detail(exc: BaseException) -> dict[str, Any]:
    return {"tries_left": exc.tries_left} if hasattr(exc, "tries_left") else {}


class AuditRow:
    """One operation's audit row, written by whichever thread finishes the operation.

    Why: writing the row from the event loop costs a thread hop there and back (the append
    blocks on fsync, so it cannot run on the loop) on top of the hop that ran the work. When
    the work already runs on a thread — a card job on its worker, a token call — :meth:`wrap`
    appends the row on that thread right after the work, before the result is handed over, so
    the answer still leaves only after its row is committed. Measured ~0.2 ms less per
    signature (bench/shared_cps.py --overhead-only). :func:`audited` writes the row itself
    when the work never ran (no card, deadline passed, caller gone).
    """

    def __init__(
        self,
        audit: AuditLog,
        caller: Caller,
        action: str,
        target: str,
        detail: Callable[[Any], dict[str, Any]] | None = None,
    ) -> None:
        self.audit = audit
        self.caller = caller
        self.action = action
        self.target = target
        self.detail = detail
        self.written = False

    def append(self, outcome: str, detail: dict[str, Any] | None = None) -> None:
        self.audit.append(
            client=self.caller.client, operator=self.caller.operator, action=self.action,
            target=self.target, outcome=outcome, detail=detail,
        )
        self.written = True

    def wrap(self, work: Callable[P, T]) -> Callable[P, T]:
        def audited_work(*args: P.args, **kwargs: P.kwargs) -> T:
            try:
                result = work(*args, **kwargs)
            except Exception as exc:
                self.append(f"error:{type(exc).__name__}", _error_detail(exc))
                raise
            self.append("ok", self.detail(result) if self.detail else None)
            return result

        return audited_work


async def audited(row: AuditRow, operation: Awaitable[T]) -> T:
    """Runs ``operation`` and makes sure its audit row (outcome = ok, the error type or
    cancelled) is committed before the caller sees any answer: an acknowledged operation is
    always in the log. The row is written here unless the work wrote it (``row.wrap``)."""
    try:
        result = await operation
    except asyncio.CancelledError:
        if not row.written:
            await asyncio.to_thread(row.append, "cancelled")
        raise
    except Exception as exc:
        if not row.written:
            await asyncio.to_thread(row.append, f"error:{type(exc).__name__}", _error_detail(exc))
        raise
    if not row.written:
        await asyncio.to_thread(row.append, "ok", row.detail(result) if row.detail else None)
    return result
