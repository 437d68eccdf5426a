"""The box at one moment: readers, their queues and leases, certificate expiry, audit head.

One frozen value read by ``/v1/status``, the HTML status page and ``/metrics`` alike, so the
three never disagree on what they show.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hostd.audit import WriterFigures
from hostd.clock import utc_now
from hostd.context import AppContext
from hostd.disk import DiskHealth, disk_health
from hostd.scheduler import QueueFigures
from hostd.services.cps import LeaseStatus
from hostd.services.readers import CardKind, ReaderSnapshot
from hostd.services.terminals import TerminalView
from provisioning.store import SlotStatus


@dataclass(frozen=True)
class ReaderStatus:
    reader: ReaderSnapshot
    queue: QueueFigures
    lease: LeaseStatus | None
    """The unlock lease when the card is a CPS (None: locked, or not a CPS)."""


@dataclass(frozen=True)
class BoxStatus:
    time: datetime
    readers: tuple[ReaderStatus, ...]
    certificates: tuple[SlotStatus, ...]
    audit_rows: int
    audit_head: str
    audit_writer: WriterFigures
    """Group commit: rows written since start-up and the fsynced commits they took."""
    disk: DiskHealth
    """The audit log's and journal's share of the disk budget (warning long before 507)."""
    terminals: tuple[TerminalView, ...] = ()


def reader_status(ctx: AppContext, name: str) -> ReaderStatus:
    state = ctx.devices.hub.reader(name)
    snapshot = state.view()
    lease = ctx.cps.lease(name) if snapshot.kind is CardKind.CPS else None
    return ReaderStatus(snapshot, state.worker.figures(), lease)


def box_status(ctx: AppContext) -> BoxStatus:
    readers = []
    for state in ctx.devices.hub.readers():
        snapshot = state.view()
        lease = ctx.cps.lease(state.name) if snapshot.kind is CardKind.CPS else None
        readers.append(ReaderStatus(snapshot, state.worker.figures(), lease))
    head_id, head_hash = ctx.audit.head()
    return BoxStatus(
        time=utc_now(),
        readers=tuple(readers),
        certificates=tuple(ctx.devices.certificates()),
        audit_rows=head_id,
        audit_head=head_hash,
        audit_writer=ctx.audit.writer_figures(),
        disk=disk_health(ctx.settings.state_dir, ctx.settings.disk),
        terminals=ctx.devices.terminals.views() if ctx.devices.terminals else (),
    )
