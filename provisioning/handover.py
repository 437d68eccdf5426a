"""The handover sheet ``pair`` prints: what each counter needs to enrol, and how it checks
that it talks to this box and not to someone in the middle of the LAN.

The box's local CA is self-signed, so a counter has nothing to check its first connection
against — except the CA's SHA-256 fingerprint, carried on paper from the box's console to the
counter. ``comptoir enrol URL CODE --fingerprint FP`` refuses to send the code to a server
whose CA does not have that fingerprint.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes


@dataclass(frozen=True)
class Ticket:
    name: str
    role: str
    code: str


@dataclass(frozen=True)
class Sheet:
    enrol_url: str
    ca_fingerprint: str
    expires: datetime
    tickets: list[Ticket]

    def command(self, ticket: Ticket) -> str:
        return f"comptoir enrol {self.enrol_url} {ticket.code} --fingerprint {self.ca_fingerprint}"


def ca_fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of the DER certificate, upper-case hex in colon pairs (what browsers show)."""
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


def normalize_fingerprint(value: str) -> str:
    return "".join(ch for ch in value.lower() if ch in "0123456789abcdef")


def text(sheet: Sheet) -> str:
    lines = [
        f"Box enrolment URL: {sheet.enrol_url}",
        f"Box CA SHA-256:    {sheet.ca_fingerprint}",
        f"Codes valid until: {sheet.expires:%Y-%m-%d %H:%M} UTC, single use",
        "",
    ]
    for t in sheet.tickets:
        lines.append(f"{t.name} ({t.role}): {t.code}")
        lines.append(f"  {sheet.command(t)}")
    return "\n".join(lines) + "\n"


def html_page(sheet: Sheet) -> str:
    """A printable page: one block per counter, to cut and hand over."""
    esc = html.escape
    blocks = "\n".join(
        f"""<section><h2>{esc(t.name)} <small>({esc(t.role)})</small></h2>
<p class="code">{esc(t.code)}</p>
<pre>{esc(sheet.command(t))}</pre></section>"""
        for t in sheet.tickets
    )
    return f"""<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>Comptoir: enrolment codes</title>
<style>
body {{ font-family: sans-serif; margin: 1.5cm; }}
section {{ border: 1px dashed #444; padding: .5cm; margin: .4cm 0; page-break-inside: avoid; }}
.code {{ font: bold 24pt monospace; letter-spacing: .1em; margin: .2cm 0; }}
pre {{ white-space: pre-wrap; font-size: 9pt; }}
.fp {{ font: 10pt monospace; word-break: break-all; }}
</style></head><body>
<h1>Comptoir: enrolment codes</h1>
<p>Box: <b>{esc(sheet.enrol_url)}</b><br>
Codes valid until <b>{sheet.expires:%Y-%m-%d %H:%M} UTC</b>, each usable once.</p>
<p>Box CA fingerprint (SHA-256), check it on each counter:<br>
<span class="fp">{esc(sheet.ca_fingerprint)}</span></p>
{blocks}
</body></html>
"""
