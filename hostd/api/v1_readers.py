"""/v1/readers, /v1/events (server-sent), /v1/status."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from hostd.api import convert
from hostd.api.deps import Ctx, Reader
from hostd.api.models import ReaderDetailModel, ReaderModel, StatusModel
from hostd.api.problems import UNKNOWN_READER, api_responses
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
    summary="Reader and card events as server-sent events",
    operation_id="events_stream",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "``text/event-stream``: a ``snapshot`` event (``{readers: [...]}``)"
            ", then ``reader-added``, ``reader-removed``, ``card-inserted``, ``card-removed``",
            "content": {"text/event-stream": {
                "schema": {"type": "string"},
                "example": 'event: card-inserted\ndata: {"event": "card-inserted", '
                           '"reader": "Reader 0", "at": "2026-11-25T08:00:00Z", '
                           '"kind": "cps"}\n\n',
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
) -> StreamingResponse:
    hub = ctx.devices.hub
    queue = hub.subscribe()
    ends_at = asyncio.get_running_loop().time() + max_seconds

    async def stream() -> AsyncIterator[bytes]:
        try:
            snapshot = [
                convert.reader(state.view()).model_dump(mode="json") for state in hub.readers()
            ]
            yield _sse("snapshot", {"readers": snapshot})
            while (left := ends_at - asyncio.get_running_loop().time()) > 0:
                if await request.is_disconnected():
                    return
                try:
                    event = await asyncio.wait_for(queue.get(), min(15.0, left))
                except TimeoutError:
                    yield b": keep-alive\n\n"
                    continue
                yield _sse(str(event["event"]), event)
        finally:
            hub.unsubscribe(queue)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store"})


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


@router.get("/status", summary="Readers, cards, CPS leases, queues, certificate expiry",
            operation_id="status_get", responses=api_responses())
def status(ctx: Ctx, _who: Reader) -> StatusModel:
    return convert.status(box_status(ctx))
