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
from typing import Any, TypeVar

from hostd.audit import AuditLog

T = TypeVar("T")

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


async def audited(
    audit: AuditLog,
    caller: Caller,
    action: str,
    target: str,
    operation: Awaitable[T],
    detail: Callable[[T], dict[str, Any]] | None = None,
) -> T:
    """Runs ``operation`` and writes its audit row (outcome = ok or the error type) before the
    caller sees any answer: an acknowledged operation is always in the log."""
    try:
        result = await operation
    except asyncio.CancelledError:
        await asyncio.to_thread(
            audit.append, client=caller.client, operator=caller.operator, action=action,
            target=target, outcome="cancelled",
        )
        raise
    except Exception as exc:
        extra = {"tries_left": exc.tries_left} if hasattr(exc, "tries_left") else {}
        await asyncio.to_thread(
            audit.append, client=caller.client, operator=caller.operator, action=action,
            target=target, outcome=f"error:{type(exc).__name__}", detail=extra,
        )
        raise
    await asyncio.to_thread(
        audit.append, client=caller.client, operator=caller.operator, action=action,
        target=target, outcome="ok", detail=detail(result) if detail else None,
    )
    return result
