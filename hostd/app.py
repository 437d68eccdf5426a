"""FastAPI factory: everything comes in as arguments, nothing lives at module level, so tests
build as many apps as they like with their own state, devices and clock."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse

from hostd import memory, metrics
from hostd.api import (
    openapi,
    problems,
    v1_admin,
    v1_cards,
    v1_readers,
    v1_scans,
    v1_signing,
    v1_teleservices,
)
from hostd.api.deps import Ctx, Reader
from hostd.audit import AuditLog
from hostd.config import Settings
from hostd.context import AppContext, Devices
from hostd.scanning.classify import Classifier
from hostd.scanning.guard import OrdonnanceGuard
from hostd.scanning.hub import ScanHub
from hostd.scanning.sources import ScanSources
from hostd.services.cps import CpsService
from hostd.services.vitale import VitaleService
from hostd.web import status as status_page

log = logging.getLogger(__name__)

_HOUSEKEEPING_S = 1.0
"""How often leases are checked (an expired lease is also caught before each operation)."""


def create_app(settings: Settings, devices: Devices, audit: AuditLog) -> FastAPI:
    deadline = settings.scheduler.deadline_s
    cps = CpsService(devices.hub, audit, settings.cps, deadline, terminals=devices.terminals)
    devices.hub.add_session_listener(cps.session_ended)
    ctx = AppContext(settings, audit, devices, cps, VitaleService(devices.hub, audit, deadline))
    if devices.teleservices is not None:
        # Imported here: only a box configured for INSi/DMP loads the HTTP client.
        from hostd.services.teleservices import TeleservicesService

        parts = devices.teleservices
        ctx.teleservices = TeleservicesService(
            parts.settings, parts.tunnel, parts.sign_vihf, audit, devices.hub, cps,
            ctx.vitale.read, parts.pseudonym_key,
        )
    scan_settings = settings.scan_settings()
    ctx.scans = ScanHub(Classifier(scan_settings.rules),
                        OrdonnanceGuard(scan_settings.guard_max_open_s))
    sources = ScanSources(scan_settings, ctx.scans)
    if devices.terminals is not None:  # their scanner modules feed the same hub
        devices.terminals.attach_scans(ctx.scans)
    if settings.apcv is not None:
        # Loaded only when configured: the ApCV client brings httpx and the SOAP layer.
        from hostd.services.apcv import ApcvService, ApcvSettings

        ctx.apcv = ApcvService(cps, ApcvSettings.from_table(settings.apcv), audit=audit)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if devices.watcher is not None:
            devices.watcher.start()
        if ctx.teleservices is not None:
            await ctx.teleservices.start()
        task = asyncio.create_task(_housekeeping(ctx))
        sources.start()
        try:
            yield
        finally:
            sources.stop()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            if ctx.teleservices is not None:
                await ctx.teleservices.stop()
            if devices.watcher is not None:
                devices.watcher.stop()
            devices.hub.stop()

    app = FastAPI(
        title="Comptoir",
        version="1",
        summary="One CPS shared fairly by every counter; Vitale reads; ORG-key signing.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        telemetry=problems.TELEMETRY_OFF,
    )
    app.state.ctx = ctx
    problems.install(app)
    openapi.install(app)
    app.include_router(v1_readers.router)
    app.include_router(v1_cards.router)
    app.include_router(v1_admin.router)
    app.include_router(status_page.router)
    if devices.signing is not None:
        app.include_router(v1_signing.router)
    # Always routed, so every box documents the same API (and the generated clients have the
    # calls): a box without [teleservices] or [apcv] answers them 503
    # teleservice-not-configured.
    app.include_router(v1_teleservices.router)
    app.include_router(v1_scans.router)
    app.include_router(v1_scans.apcv_router)

    @app.get("/metrics", response_class=PlainTextResponse, tags=["status"],
             summary="Prometheus metrics", operation_id="metrics_get",
             responses={200: {"content": {"text/plain": {
                 "schema": {"type": "string"},
                 "example": '# TYPE comptoir_card_queue_depth gauge\n'
                            'comptoir_card_queue_depth{reader="Reader 0"} 0\n'}}},
                 **problems.api_responses()})
    async def get_metrics(ctx: Ctx, _who: Reader, request: Request) -> Any:
        figures = getattr(request.app.state, "listener_figures", None)
        return PlainTextResponse(metrics.render(ctx, figures() if figures else None),
                                 media_type="text/plain; version=0.0.4")

    return app


async def _housekeeping(ctx: AppContext) -> None:
    loop = asyncio.get_running_loop()
    next_trim = loop.time() + memory.TRIM_EVERY_S
    while True:
        await asyncio.sleep(_HOUSEKEEPING_S)
        try:
            await ctx.cps.expire_leases()
            if ctx.devices.head_signer is not None:
                await asyncio.to_thread(ctx.audit.anchor_head, ctx.devices.head_signer)
            if loop.time() >= next_trim:
                next_trim = loop.time() + memory.TRIM_EVERY_S
                await asyncio.to_thread(memory.give_back_free_memory)
        except Exception:
            log.exception("housekeeping failed; retrying")
