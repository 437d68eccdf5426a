"""The box at one moment: readers, their queues and leases, certificate expiry, audit head.

One frozen value read by ``/v1/status``, the HTML status page and ``/metrics`` alike, so the
three never disagree on what they show. :func:`first_boot_todo` derives from it what is left to
do before the box serves a pharmacy (the list the box's console shows too, images/README.md).
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
from provisioning.slots import Slot
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


@dataclass(frozen=True)
class TodoItem:
    """One line of the technician's list: what, whether it is done, and the console command
    that does it (empty when done)."""

    done: bool
    what: str
    fix: str = ""


ORG_SLOTS = (Slot.ORG_AUTH_CLI, Slot.ORG_SIGN)
"""The ORG keys a pharmacy needs certified before the box serves it (authentication, signing)."""


def first_boot_todo(box: BoxStatus, counters: int) -> tuple[TodoItem, ...]:
    """What is left to do: key store, ORG certificates, counters, terminals. The daemon only
    runs once ``provision init`` made the token and the LAN certificates, so when this is shown
    that step is done; the console's list (comptoir-todo) covers the box before that."""
    by_slot = {c.slot: c for c in box.certificates}
    items = [TodoItem(True, "magasin de clés et certificats du réseau local")]
    for slot in ORG_SLOTS:
        cert = by_slot.get(slot)
        if cert is not None and cert.not_after is not None:
            items.append(TodoItem(True, f"certificat {slot}"))
        else:
            items.append(TodoItem(
                False, f"certificat {slot}",
                f"comptoir provision keygen {slot} ; comptoir provision csr {slot} … ; "
                f"comptoir provision import {slot} CERT.pem",
            ))
    items.append(
        TodoItem(True, f"comptoirs enrôlés : {counters}") if counters
        else TodoItem(False, "aucun comptoir enrôlé",
                      'comptoir provision pair --name "Comptoir 1" --role counter')
    )
    paired = sum(1 for t in box.terminals if t.paired)
    items.append(
        TodoItem(True, f"terminaux appairés : {paired}") if paired
        else TodoItem(False, "aucun terminal appairé",
                      'comptoir terminal pair --name "Comptoir 1"')
    )
    return tuple(items)
