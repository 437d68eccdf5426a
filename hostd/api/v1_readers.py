"""/v1/readers, /v1/events (server-sent), /v1/status."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from hostd.api.deps import Ctx, Reader
from hostd.context import AppContext
from hostd.events import event_id, sse

router = APIRouter(prefix="/v1", tags=["readers"])
# Endpoints that only read memory are ``async def``: FastAPI runs a plain ``def`` endpoint, and
# then its response serialisation, in the thread pool — two thread hops per request.

_EVENTS_MAX_S = 3600.0
"""An event stream ends after an hour at most; clients reconnect (SSE does so by itself)."""


@router.get("/readers", summary="Readers and the card in each")
async def list_readers(ctx: Ctx, _who: Reader) -> list[dict[str, Any]]:
    return [state.view() for state in ctx.devices.hub.readers()]


@router.get("/readers/{reader}", summary="One reader, its card and its queue")
async def get_reader(reader: str, ctx: Ctx, _who: Reader) -> dict[str, Any]:
    state = ctx.devices.hub.reader(reader)
    return {**state.view(), "queue": queue_view(state.worker.figures())}


@router.get(
    "/events",
    summary="Reader and card events as server-sent events (resumable with Last-Event-ID)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def events(
    request: Request,
    ctx: Ctx,
    _who: Reader,
    max_seconds: float = Query(_EVENTS_MAX_S, gt=0, le=_EVENTS_MAX_S),
    last_event_id: str | None = Header(
        None, alias="Last-Event-ID", max_length=64,
        description="Resume after this event id: the events missed since are sent first, or "
                    "a `resync` event with the full state when they are no longer kept.",
    ),
) -> StreamingResponse:
    hub = ctx.devices.hub
    log = hub.events
    wake = log.listen()
    ends_at = asyncio.get_running_loop().time() + max_seconds

    def state(name: str, cursor: int, **extra: Any) -> bytes:
        # The cursor is taken before the snapshot: an event racing it is sent again, not lost.
        readers = [s.view() for s in hub.readers()]
        return sse(name, {"readers": readers, **extra}, event_id(log.epoch, cursor))

    async def stream() -> AsyncIterator[bytes]:
        try:
            resume = log.resume_point(last_event_id)
            if resume is not None:
                cursor = resume
            else:
                cursor = log.head()
                if last_event_id is None:
                    yield state("snapshot", cursor)
                else:
                    yield state("resync", cursor, reason="Last-Event-ID no longer resumable")
            while (left := ends_at - asyncio.get_running_loop().time()) > 0:
                if await request.is_disconnected():
                    return
                wake.clear()
                missed = log.after(cursor)
                if missed is None:  # this listener fell behind the ring: say so, never skip
                    cursor = log.head()
                    yield state("resync", cursor, reason="events were dropped for this client")
                    continue
                for event in missed:
                    cursor = event.seq
                    yield event.encode()
                if missed:
                    continue
                try:
                    await asyncio.wait_for(wake.wait(), min(15.0, left))
                except TimeoutError:
                    yield b": keep-alive\n\n"
        finally:
            log.unlisten(wake)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store"})


def queue_view(figures: Any) -> dict[str, Any]:
    uptime = max(figures.uptime_s, 1e-9)
    return {
        "depth": figures.depth,
        "running": figures.running,
        "completed": figures.completed,
        "failed": figures.failed,
        "utilisation": round(figures.busy_s / uptime, 4),
        "wait_ms": {"p50": round(figures.wait_p50_ms, 3), "p99": round(figures.wait_p99_ms, 3)},
        "service_ms": {
            "p50": round(figures.service_p50_ms, 3),
            "p99": round(figures.service_p99_ms, 3),
        },
    }


def status_view(ctx: AppContext) -> dict[str, Any]:
    readers = []
    for state in ctx.devices.hub.readers():
        view = {**state.view(), "queue": queue_view(state.worker.figures())}
        if view["card_kind"] == "cps":
            view["lease"] = ctx.cps.lease(state.name)
        readers.append(view)
    head_id, head_hash = ctx.audit.head()
    writer = ctx.audit.writer_figures()
    return {
        "time": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "readers": readers,
        "certificates": ctx.devices.certificates(),
        "audit": {
            "rows": head_id,
            "head": head_hash,
            # Group commit: rows written since start-up and the fsynced commits they took.
            "writer": {
                "commits": writer.commits,
                "rows_written": writer.rows,
                "failed_commits": writer.failed_commits,
                "rows_per_commit": round(writer.rows_per_commit, 3),
                "group_p50": writer.group_p50,
                "group_max": writer.group_max,
                "commit_ms_p50": round(writer.commit_p50_ms, 3),
            },
        },
    }


@router.get("/status", summary="Readers, cards, CPS leases, queues, certificate expiry")
def status(ctx: Ctx, _who: Reader) -> dict[str, Any]:
    return status_view(ctx)
