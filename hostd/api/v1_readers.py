"""/v1/readers, /v1/events (server-sent), /v1/status."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from hostd.api import convert
from hostd.api.deps import Ctx, Reader
from hostd.api.models import ReaderDetailModel, ReaderModel, StatusModel
from hostd.api.problems import UNKNOWN_READER, api_responses
from hostd.events import event_id, pump, sse
from hostd.services.status import box_status, reader_status

router = APIRouter(prefix="/v1", tags=["readers"])
# Endpoints that only read memory are ``async def``: FastAPI runs a plain ``def`` endpoint, and
# then its response serialisation, in the thread pool — two thread hops per request.

_EVENTS_MAX_S = 3600.0
"""An event stream ends after an hour at most; clients reconnect (SSE does so by itself)."""


@router.get("/readers", summary="Readers and the card in each", operation_id="readers_list",
            responses=api_responses())
async def list_readers(ctx: Ctx, _who: Reader) -> list[ReaderModel]:
    return [convert.reader(state.view()) for state in ctx.devices.hub.readers()]


@router.get("/readers/{reader}", summary="One reader, its card and its queue",
            operation_id="reader_get", responses=api_responses(UNKNOWN_READER))
async def get_reader(reader: str, ctx: Ctx, _who: Reader) -> ReaderDetailModel:
    return convert.reader_detail(reader_status(ctx, reader))


@router.get(
    "/events",
    summary="Reader and card events as server-sent events (resumable with Last-Event-ID)",
    operation_id="events_stream",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "``text/event-stream``: a ``snapshot`` event (``{readers: [...]}``)"
            ", then ``reader-added``, ``reader-removed``, ``card-inserted``, ``card-removed``"
            ", ``terminal-connected``, ``terminal-disconnected`` (``terminal``, ``counter``), "
            "``terminal-scan-unbound`` (a scan from a terminal bound to no counter: "
            "``terminal``, ``bytes``); every event has an ``id``. "
            "Reconnecting with ``Last-Event-ID`` replays the "
            "missed events, or sends ``resync`` (``{readers: [...], reason}``) when they are "
            "no longer kept",
            "content": {"text/event-stream": {
                "schema": {"type": "string"},
                "example": 'id: 5f3a9c01-42\nevent: card-inserted\ndata: {"event": '
                           '"card-inserted", "reader": "Reader 0", '
                           '"at": "2026-11-25T08:00:00Z", "kind": "cps"}\n\n',
            }},
        },
        **api_responses(),
    },
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
        readers = [convert.reader(s.view()).model_dump(mode="json") for s in hub.readers()]
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

            def owed() -> list[bytes]:
                nonlocal cursor
                missed = log.after(cursor)
                if missed is None:  # this listener fell behind the ring: say so, never skip
                    cursor = log.head()
                    return [state("resync", cursor, reason="events were dropped for this client")]
                if missed:
                    cursor = missed[-1].seq
                return [event.encode() for event in missed]

            async for chunk in pump(owed, wake, ends_at, request.is_disconnected):
                yield chunk
        finally:
            log.unlisten(wake)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store"})




@router.get("/status", summary="Readers, cards, CPS leases, queues, certificate expiry",
            operation_id="status_get", responses=api_responses())
def status(ctx: Ctx, _who: Reader) -> StatusModel:
    return convert.status(box_status(ctx))
