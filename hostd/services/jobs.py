"""Running a card job for an HTTP caller: deadline, priority, cancellation on disconnect, audit.

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
from hostd.outcomes import CANCELLED, OK, outcome_of
from hostd.scheduler import Priority

T = TypeVar("T")

Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]


@dataclass(frozen=True)
class Caller:
    """Who asks: the enrolled client (counter PC), the operator named by the LGO, how to
    notice that the HTTP peer went away (``None`` outside a request), and the priority of its
    card jobs (a pharmacy server's batch runs after every waiting counter)."""

    client: str
    operator: str
    receive: Receive | None = None
    priority: Priority = Priority.INTERACTIVE


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


async def record(
    audit: AuditLog, caller: Caller, action: str, target: str, outcome: str,
    detail: dict[str, Any] | None = None,
) -> None:
    """Queues one row for the audit writer and waits until it is durable. The event loop does
    not block and no thread waits on the disk but the writer's (group commit, ``hostd.audit``);
    :class:`~hostd.audit.AuditUnavailable` comes back when the row could not be written."""
    await asyncio.wrap_future(audit.submit(
        client=caller.client, operator=caller.operator, action=action, target=target,
        outcome=outcome, detail=detail,
    ))


async def audited(
    audit: AuditLog,
    caller: Caller,
    action: str,
    target: str,
    operation: Awaitable[T],
    detail: Callable[[T], dict[str, Any]] | None = None,
) -> T:
    """The services' one audit path: runs ``operation``, then makes its row (outcome ``ok``,
    the problem slug the API answers — ``wrong-pin``, ``card-removed``… — or ``cancelled``)
    durable before the caller sees any answer, so an acknowledged operation is always in the
    log. The work itself (a card job on its worker) never waits on the disk: the row is
    written after it, by the audit writer, while the card already runs the next job."""
    try:
        result = await operation
    except asyncio.CancelledError:
        await record(audit, caller, action, target, CANCELLED)
        raise
    except Exception as exc:
        await record(audit, caller, action, target, outcome_of(exc), _error_detail(exc))
        raise
    await record(audit, caller, action, target, OK, detail(result) if detail else None)
    return result
