"""``GET /status``: the status endpoint's content as one small HTML page, no scripts.

Values come from cards and clients, so every one is escaped; the page refreshes itself every
10 s so it can stay open on the back-office screen. It opens with what is left to do on the box
(ORG certificates, counters, terminals), the same list the box's console shows the technician.
"""

from __future__ import annotations

from html import escape
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from hostd.api import convert
from hostd.api.deps import Ctx, Reader
from hostd.api.models import StatusModel
from hostd.api.problems import api_responses
from hostd.auth import Role
from hostd.clock import rfc3339
from hostd.services.status import TodoItem, box_status, first_boot_todo

router = APIRouter(tags=["status"])

_STYLE = (
    "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
    "td,th{border:1px solid #999;padding:.3em .6em;text-align:left}"
)


def _row(cells: list[Any]) -> str:
    return "<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in cells) + "</tr>"


def _todo(items: tuple[TodoItem, ...]) -> str:
    left = [i for i in items if not i.done]
    title = "À faire" if left else "Rien à faire"
    rows = "".join(_row(["fait" if i.done else "à faire", i.what, i.fix]) for i in items)
    return (f"<h2>{title}</h2><table><tr><th>État</th><th>Étape</th><th>Commande (console)</th>"
            f"</tr>{rows}</table>")


def render(status: StatusModel, todo: tuple[TodoItem, ...] = ()) -> str:
    readers = "".join(
        _row([
            r.name, r.card_kind or "—",
            ("déverrouillée" if r.lease and r.lease.unlocked else "verrouillée")
            if r.card_kind == "cps" else "",
            r.queue.depth, f"{r.queue.utilisation:.0%}", r.queue.wait_ms.p99,
        ])
        for r in status.readers
    )
    certs = "".join(
        _row([c.slot, c.subject or "", rfc3339(c.not_after) if c.not_after else "",
              c.days_left if c.days_left is not None else ""])
        for c in status.certificates
    )
    terminals = "".join(
        _row([t.serial, t.counter or "—", "oui" if t.paired else "non",
              "connecté" if t.connected else "absent", t.firmware or ""])
        for t in status.terminals
    )
    return (
        "<!doctype html><html lang='fr'><head><meta charset='utf-8'>"
        "<meta http-equiv='refresh' content='10'><title>Comptoir</title>"
        f"<style>{_STYLE}</style></head><body><h1>Comptoir</h1>"
        f"<p>{escape(rfc3339(status.time))} — journal : {status.audit.rows} opérations</p>"
        f"{_todo(todo) if todo else ''}"
        "<h2>Lecteurs</h2><table><tr><th>Lecteur</th><th>Carte</th><th>CPS</th>"
        "<th>File</th><th>Occupation</th><th>Attente p99 (ms)</th></tr>"
        f"{readers}</table><h2>Certificats</h2><table><tr><th>Clé</th><th>Sujet</th>"
        f"<th>Expire</th><th>Jours</th></tr>{certs}</table>"
        "<h2>Terminaux</h2><table><tr><th>Série</th><th>Comptoir</th><th>Appairé</th>"
        f"<th>Liaison</th><th>Firmware</th></tr>{terminals}</table></body></html>"
    )


@router.get("/status", response_class=HTMLResponse, summary="Status page (HTML)",
            operation_id="status_page",
            responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}},
                       **api_responses()})
def status_page(ctx: Ctx, _who: Reader) -> HTMLResponse:
    box = box_status(ctx)
    admin = ctx.devices.admin
    counters = sum(1 for c in admin.list_clients() if c.active and c.role == Role.COUNTER) \
        if admin is not None else 0
    page = render(convert.status(box), first_boot_todo(box, counters))
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})
