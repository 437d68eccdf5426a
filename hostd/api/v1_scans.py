"""/v1/counters/{counter}/scans…, /v1/ordonnances, /v1/apcv: what the counters' scanners read.

A counter client sees its own counter only (its enrolled name is the counter's name in
``[scan]``); the admin role sees every counter. Scan events stream as server-sent events with
ids: a client that reconnects with ``Last-Event-ID`` gets everything it missed that is still
in the counter's ring (``hostd.scanning.hub``), or a ``gap`` event first if it was away too
long.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from hostd.api import convert
from hostd.api import models as m
from hostd.api import problems as p
from hostd.api.deps import CardCaller, Client, Ctx
from hostd.api.problems import ApiProblem
from hostd.auth import EnrolledClient, Role
from hostd.context import AppContext
from hostd.events import event_id, pump, sse
from hostd.scanning.guard import Outcome
from hostd.scanning.hub import ScanEvent, ScanHub

if TYPE_CHECKING:  # the ApCV client loads httpx and the SOAP layer: only on boxes with [apcv]
    from hostd.services.apcv import ApcvService

router = APIRouter(prefix="/v1", tags=["scans"])
apcv_router = APIRouter(prefix="/v1", tags=["scans"])

_STREAM_MAX_S = 3600.0
MAX_IMAGE_BYTES = 8 * 1024 * 1024
_IMAGE_TYPES = ("image/jpeg", "image/png")


def _hub(ctx: AppContext) -> ScanHub:
    if ctx.scans is None:
        raise ApiProblem(p.NOT_FOUND, "scanning is not set up on this box")
    return ctx.scans


def _own(who: EnrolledClient, counter: str) -> None:
    if who.role is Role.ADMIN or who.name == counter:
        return
    raise ApiProblem(p.COUNTER_FORBIDDEN, f"a client sees its own counter only ({who.name})")


def event_model(e: ScanEvent) -> m.ScanEventModel:
    return convert.scan_event(e)


@router.get("/counters/{counter}/scans", summary="The last scans at a counter, newest first",
            operation_id="scans_last", responses=p.api_responses(p.COUNTER_FORBIDDEN,
                                                                  p.NOT_FOUND))
async def last_scans(counter: str, ctx: Ctx, who: Client,
                     limit: int = Query(20, ge=1, le=100)) -> list[m.ScanEventModel]:
    _own(who, counter)
    return [event_model(e) for e in _hub(ctx).last(counter, limit)]


@router.get(
    "/counters/{counter}/scans/events",
    summary="Scan, guard and device events of a counter (server-sent, resumable)",
    operation_id="scans_events", response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}},
               **p.api_responses(p.COUNTER_FORBIDDEN, p.NOT_FOUND)},
)
async def scan_events(
    request: Request, counter: str, ctx: Ctx, who: Client,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    after: int | None = Query(None, ge=0, description="Resume after this event number "
                              "(the ``id`` of the last scans, this run of the daemon)"),
    max_seconds: float = Query(_STREAM_MAX_S, gt=0, le=_STREAM_MAX_S),
) -> StreamingResponse:
    _own(who, counter)
    hub = _hub(ctx)
    restarted = False
    if after is not None:
        last = after
    elif last_event_id is None:
        last = hub.last_id
    else:
        epoch, _, number = last_event_id.strip().rpartition("-")
        if epoch == hub.epoch and number.isdigit() and int(number) <= hub.last_id:
            last = int(number)
        else:  # another run of the daemon (or nonsense): replay what this run kept, say so
            last, restarted = 0, True
    ends_at = asyncio.get_running_loop().time() + max_seconds

    wake = hub.listen()

    async def stream() -> AsyncIterator[bytes]:
        first = True

        def owed() -> list[bytes]:
            nonlocal last, first
            page = hub.after(counter, last)
            chunks = []
            if first and (page.gap or restarted):
                chunks.append(_sse(hub.epoch, last, "gap",
                                   {"detail": "events may have been lost: re-read the last scans"}))
            first = False
            for event in page.events:
                last = event.id
                chunks.append(_sse(hub.epoch, event.id, event.type,
                                   event_model(event).model_dump(mode="json")))
            return chunks

        try:
            async for chunk in pump(owed, wake, ends_at, request.is_disconnected):
                yield chunk
        finally:
            hub.unlisten(wake)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store"})


def _sse(epoch: str, seq: int, event: str, data: dict[str, Any]) -> bytes:
    # The id carries the run's epoch (as /v1/events does): Last-Event-ID from before a restart
    # is recognised as such instead of silently skipping this run's first events.
    return sse(event, data, event_id(epoch, seq))


@router.post(
    "/counters/{counter}/scans/image",
    summary="Decode a JPEG/PNG a counter captured; each code becomes a scan of that counter",
    operation_id="scans_image", status_code=200,
    openapi_extra={"requestBody": {"required": True, "content": {
        t: {"schema": {"type": "string", "format": "binary"}} for t in _IMAGE_TYPES}}},
    responses=p.api_responses(p.COUNTER_FORBIDDEN, p.NOT_FOUND, p.IMAGE_TOO_LARGE,
                              p.IMAGE_TYPE, p.IMAGE_UNREADABLE),
)
async def post_image(request: Request, counter: str, ctx: Ctx,
                     who: Client) -> list[m.ScanEventModel]:
    _own(who, counter)
    hub = _hub(ctx)
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype not in _IMAGE_TYPES:
        raise ApiProblem(p.IMAGE_TYPE, "send image/jpeg or image/png")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_IMAGE_BYTES:
        raise ApiProblem(p.IMAGE_TOO_LARGE, f"at most {MAX_IMAGE_BYTES} bytes")
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_IMAGE_BYTES:
            raise ApiProblem(p.IMAGE_TOO_LARGE, f"at most {MAX_IMAGE_BYTES} bytes")
    # OpenCV and zxing-cpp load on first use: a box without image posts never pays for them.
    from drivers.scan.decode import ImageError, default_decoder, load_image

    try:
        image = await asyncio.to_thread(load_image, bytes(data))
    except ImageError as exc:
        raise ApiProblem(p.IMAGE_UNREADABLE, str(exc)) from None
    texts = await asyncio.to_thread(default_decoder, image)
    events: list[ScanEvent] = []
    for text in texts:
        events += hub.scan(counter, f"image:{who.name}", text)
    return [event_model(e) for e in events]


@router.get("/ordonnances", summary="Open dispensations of ordonnances (the guard's state)",
            operation_id="ordonnances_open", responses=p.api_responses(p.NOT_FOUND))
async def open_ordonnances(ctx: Ctx, _who: Client) -> list[m.DispensationModel]:
    return [convert.dispensation(d) for d in _hub(ctx).guard.open_dispensations()]


@router.post("/ordonnances/{prescription_id}/{outcome}",
             summary="The holding counter finishes or abandons a dispensation",
             operation_id="ordonnances_close",
             responses=p.api_responses(p.OPERATOR_REQUIRED, p.NOT_FOUND,
                                       p.DISPENSATION_NOT_OPEN, p.NOT_HOLDER))
async def close_ordonnance(prescription_id: str, outcome: Outcome, ctx: Ctx,
                           caller: CardCaller) -> m.DispensationModel:
    return convert.dispensation(_hub(ctx).close(prescription_id, caller.client, outcome))


# -- ApCV (always routed; answered 503 teleservice-not-configured without [apcv]) -------------


def _apcv(ctx: AppContext) -> ApcvService:
    """The ApCV service, or the problem a box without ``[apcv]`` answers: the routes are in
    every box's OpenAPI document (so the generated clients have them), like INSi/DMP's."""
    if ctx.apcv is None:
        raise ApiProblem(p.TELESERVICE_NOT_CONFIGURED,
                         "ApCV is not configured on this box ([apcv])")
    return ctx.apcv



@apcv_router.post(
    "/counters/{counter}/apcv/reads",
    summary="Read an ApCV (a QR scanned at this counter, or a phone on a contactless reader) "
            "through the shared CPS",
    operation_id="apcv_read",
    responses=p.api_responses(p.COUNTER_FORBIDDEN, p.OPERATOR_REQUIRED, p.NOT_FOUND,
                              p.BAD_REQUEST,
                              p.NOT_APCV, p.APCV_REFUSED, p.APCV_UNAVAILABLE, p.CPS_LOCKED,
                              p.PIN_BLOCKED, p.TELESERVICE_NOT_CONFIGURED, *p.CARD_PROBLEMS),
)
async def apcv_read(counter: str, body: m.ApcvReadRequest, ctx: Ctx,
                    caller: CardCaller) -> m.ApcvReadModel:
    apcv = _apcv(ctx)
    if caller.client != counter:
        raise ApiProblem(p.COUNTER_FORBIDDEN, "a counter reads ApCV for itself only")
    if (body.scan_id is None) == (body.nfc_reader is None):
        raise ApiProblem(p.BAD_REQUEST, "give exactly one of scan_id and nfc_reader")
    if body.nfc_reader is not None:
        donnees = await ctx.vitale.apcv_nfc(body.nfc_reader, caller)
        result = await apcv.read(donnees, reader=body.cps_reader, caller=caller,
                                 source="apcv-nfc")
        return convert.apcv_read(result)
    scan_id = int(body.scan_id or 0)
    event = next((e for e in _hub(ctx).after(counter, scan_id - 1).events
                  if e.id == scan_id), None)
    if event is None or event.scan is None:
        raise ApiProblem(p.NOT_FOUND, f"no scan {scan_id} at counter {counter}")
    if event.scan.kind.value != "apcv":
        raise ApiProblem(p.NOT_APCV, f"scan {scan_id} is {event.scan.kind.value}")
    result = await apcv.read(event.scan.text, reader=body.cps_reader, caller=caller)
    return convert.apcv_read(result)


@apcv_router.delete(
    "/apcv/contexts/{context_id}", summary="End an ApCV context (detruireContexteApCV)",
    operation_id="apcv_end",
    responses=p.api_responses(p.OPERATOR_REQUIRED, p.APCV_REFUSED, p.APCV_UNAVAILABLE,
                              p.CPS_LOCKED, p.PIN_BLOCKED, p.TELESERVICE_NOT_CONFIGURED,
                              *p.CARD_PROBLEMS),
)
async def apcv_end(context_id: str, ctx: Ctx, caller: CardCaller,
                   cps_reader: str = Query(description="The reader holding the CPS")
                   ) -> m.ApcvEndedModel:
    await _apcv(ctx).end(context_id, reader=cps_reader, caller=caller)
    return m.ApcvEndedModel(id=context_id, ended=True)


@apcv_router.post(
    "/apcv/contexts/{context_id}/sign", summary="signerVitale: the GIE signs the invoice "
    "hashes in place of the card", operation_id="apcv_sign",
    responses=p.api_responses(p.OPERATOR_REQUIRED, p.APCV_REFUSED, p.APCV_UNAVAILABLE,
                              p.CPS_LOCKED, p.PIN_BLOCKED, p.TELESERVICE_NOT_CONFIGURED,
                              *p.CARD_PROBLEMS),
)
async def apcv_sign(context_id: str, body: m.ApcvSignRequest, ctx: Ctx,
                    caller: CardCaller) -> m.ApcvSignatureModel:
    apcv = _apcv(ctx)
    facture = apcv.facture(body.nir_assure, body.donnee_fse, body.donnee_dre,
                               body.montant_total_cents, body.numero_facture)
    signed = await apcv.sign(context_id, facture, reader=body.cps_reader, caller=caller)
    return convert.apcv_signature(signed)
