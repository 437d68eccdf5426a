"""``comptoir provision``: the technician's commands.

Every failure prints one line on stderr and exits non-zero: 3 for the token or state
directory, 4 for a certificate (wrong password, key mismatch, broken or expired chain), 5 for a
pairing code, 1 for anything else the technician typed wrong.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, NoReturn

import segno
import typer
from rich.console import Console
from rich.padding import Padding
from rich.table import Table

from hostd.cli_options import ConfigOption, settings
from provisioning import csr as csr_mod
from provisioning.ca import ROLES, LocalCA, initialize
from provisioning.certs import ChainState
from provisioning.clients import ClientRegistry
from provisioning.errors import (
    CertificateError,
    PairingError,
    ProvisioningError,
    StoreError,
)
from provisioning.paths import STATE_DIR_ENV
from provisioning.slots import Slot, parse_slot
from provisioning.store import Store

# Test-only: a fixed "now" for expiry tests (ISO 8601). Never set on a box.
NOW_ENV = "COMPTOIR_TEST_NOW"

app = typer.Typer(no_args_is_help=True)
clients_app = typer.Typer(help="Enrolled LAN clients.", invoke_without_command=True)
trust_app = typer.Typer(help="Trust store for IGC-Santé chains.", no_args_is_help=True)
app.add_typer(clients_app, name="clients")
app.add_typer(trust_app, name="trust")

out = Console(soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

EXIT_CODES: list[tuple[type[Exception], int]] = [
    (StoreError, 3),
    (CertificateError, 4),
    (PairingError, 5),
    (ProvisioningError, 1),
]


@dataclass
class Options:
    state_dir: Path
    now: datetime | None

    def clock(self) -> Callable[[], datetime] | None:
        fixed = self.now
        return (lambda: fixed) if fixed is not None else None


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"error: {message}", markup=False)
    raise typer.Exit(code)


@contextmanager
def errors() -> Iterator[None]:
    try:
        yield
    except ProvisioningError as exc:
        code = next(c for t, c in EXIT_CODES if isinstance(exc, t))
        fail(str(exc), code)
    except ValueError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc))
    except sqlite3.Error as exc:
        # SQLite rolls the failed transaction back and every step records its key and its
        # audit entry together, so running the command again resumes cleanly.
        fail(
            f"state database: {exc} (disk full or state directory read-only?); the last "
            "change was not saved, run the command again once fixed",
            3,
        )


def _options(ctx: typer.Context) -> Options:
    current: typer.Context | None = ctx
    while current is not None:
        if isinstance(current.obj, Options):
            return current.obj
        current = current.parent  # type: ignore[assignment]
    raise RuntimeError("provision options missing (callback not run)")


@contextmanager
def open_store(ctx: typer.Context) -> Iterator[Store]:
    opts = _options(ctx)
    with errors():
        store = Store.open(opts.state_dir, clock=opts.clock())
        try:
            yield store
        finally:
            store.close()


def _slot(value: str) -> Slot:
    try:
        return parse_slot(value)
    except ValueError as exc:
        fail(str(exc))


@app.callback()
def main(
    ctx: typer.Context,
    config: ConfigOption = None,
    state_dir: Annotated[
        Path | None,
        typer.Option(
            "--state-dir",
            help=f"State directory (default: ${STATE_DIR_ENV}, the config's, /var/lib/comptoir).",
        ),
    ] = None,
    now: Annotated[
        str | None,
        typer.Option(
            "--now", hidden=True, envvar=NOW_ENV, help="Test only: pretend it is this ISO time."
        ),
    ] = None,
) -> None:
    fixed = None
    if now:
        try:
            fixed = datetime.fromisoformat(now)
        except ValueError:
            fail(f"--now must be an ISO 8601 time, got {now!r}")
        if fixed.tzinfo is None:
            fixed = fixed.replace(tzinfo=UTC)
    ctx.obj = Options(settings(config, state_dir, "error").state_dir, fixed)


@app.command()
def init(
    ctx: typer.Context,
    name: Annotated[
        list[str] | None,
        typer.Option(
            "--name", help="LAN name or address of the box for its TLS certificate (repeat)."
        ),
    ] = None,
) -> None:
    """Create the token, the local CA and the box's TLS server identity."""
    opts = _options(ctx)
    names = name or ["localhost", "127.0.0.1"]
    with errors(), out.status("Creating the token, the local CA key and the TLS identity…"):
        store = initialize(opts.state_dir, names)
        store.close()
    out.print(
        f"Provisioned [bold]{opts.state_dir}[/]: token, local CA, TLS server for "
        f"{', '.join(names)}."
    )


@app.command("server-cert")
def server_cert(
    ctx: typer.Context,
    name: Annotated[
        list[str], typer.Option("--name", help="LAN name or address of the box (repeat).")
    ],
) -> None:
    """Re-issue the box's TLS server certificate (new key) for new LAN names or addresses."""
    with open_store(ctx) as store, errors():
        cert = LocalCA(store).issue_server_certificate(name)
    out.print(
        f"TLS server certificate for {', '.join(name)} until "
        f"{cert.not_valid_after_utc:%Y-%m-%d}; restart the daemon to use it."
    )


@app.command()
def keygen(ctx: typer.Context, slot: str) -> None:
    """Generate the first key of SLOT inside the token."""
    s = _slot(slot)
    with open_store(ctx) as store, out.status(f"Generating an RSA-2048 key for {s.value}…"):
        store.keygen(s)
    out.print(f"Key generated in the token for [bold]{s.value}[/]; next: `csr {s.value}`.")


def _emit_csr(pem: bytes, warnings: list[str], out_file: Path | None, qr: bool) -> None:
    for w in warnings:
        err.print(f"warning: {w}", markup=False)
    if out_file is not None:
        out_file.write_bytes(pem)
        out.print(f"CSR written to {out_file}")
    if qr:
        segno.make(pem.decode(), error="L").terminal(out=sys.stdout, compact=True)
    if out_file is None and not qr:
        sys.stdout.write(pem.decode())


CnOpt = Annotated[
    str | None, typer.Option("--cn", help="Common name (INSI-AUTO/INSI-MANU for INSi).")
]
OrgOpt = Annotated[str | None, typer.Option("--org", help="Structure name (raison sociale).")]
StructOpt = Annotated[str | None, typer.Option("--structure-id", help="e.g. 3 + FINESS.")]
LocOpt = Annotated[str | None, typer.Option("--locality")]
StateOpt = Annotated[str | None, typer.Option("--state", help="Département code.")]
NotInsiOpt = Annotated[bool, typer.Option("--not-for-insi", help="AUTH_CLI not meant for INSi.")]
OutOpt = Annotated[Path | None, typer.Option("--out", "-o", help="Write the PEM here.")]
QrOpt = Annotated[bool, typer.Option("--qr", help="Show the CSR as a QR code.")]


def _subject(
    store: Store,
    slot: Slot,
    cn: str | None,
    org: str | None,
    structure_id: str | None,
    locality: str | None,
    state: str | None,
    not_for_insi: bool,
) -> csr_mod.CsrSubject:
    previous = csr_mod.last_subject(store, slot)
    cn = cn or (previous.common_name if previous else None)
    org = org or (previous.organization if previous else None)
    structure_id = structure_id or (previous.structure_id if previous else None)
    if not (cn and org and structure_id):
        fail("--cn, --org and --structure-id are required (no previous request to reuse)")
    return csr_mod.CsrSubject(
        common_name=cn,
        organization=org,
        structure_id=structure_id,
        locality=locality or (previous.locality if previous else None),
        state=state or (previous.state if previous else None),
        not_for_insi=not_for_insi or (previous.not_for_insi if previous else False),
    )


@app.command()
def csr(
    ctx: typer.Context,
    slot: str,
    cn: CnOpt = None,
    org: OrgOpt = None,
    structure_id: StructOpt = None,
    locality: LocOpt = None,
    state: StateOpt = None,
    not_for_insi: NotInsiOpt = False,
    out_file: OutOpt = None,
    qr: QrOpt = False,
) -> None:
    """Certificate signing request for SLOT's key (its pending key during a renewal)."""
    s = _slot(slot)
    with open_store(ctx) as store, errors():
        subject = _subject(store, s, cn, org, structure_id, locality, state, not_for_insi)
        pem, warnings = csr_mod.build_csr(store, s, subject)
    _emit_csr(pem, warnings, out_file, qr)


@app.command()
def renew(
    ctx: typer.Context,
    slot: str,
    cn: CnOpt = None,
    org: OrgOpt = None,
    structure_id: StructOpt = None,
    locality: LocOpt = None,
    state: StateOpt = None,
    not_for_insi: NotInsiOpt = False,
    out_file: OutOpt = None,
    qr: QrOpt = False,
) -> None:
    """New key and CSR for SLOT; the current key works until the new certificate is imported."""
    s = _slot(slot)
    with open_store(ctx) as store, errors():
        subject = _subject(store, s, cn, org, structure_id, locality, state, not_for_insi)
        csr_mod.check_subject(s, subject)
        with out.status(f"Generating the renewal key for {s.value}…"):
            store.renew(s)
        pem, warnings = csr_mod.build_csr(store, s, subject)
    err.print(f"Renewal key ready for {s.value}; the current key stays active until `import`.")
    _emit_csr(pem, warnings, out_file, qr)


@app.command(name="import")
def import_(
    ctx: typer.Context,
    slot: str,
    file: Path,
    password_file: Annotated[
        Path | None,
        typer.Option("--password-file", help="PKCS#12 password from this file (automation)."),
    ] = None,
) -> None:
    """Import SLOT's certificate (PEM/DER, with its chain) or a PKCS#12 file (key + certificate)."""
    from provisioning.certs import is_pkcs12

    s = _slot(slot)
    with errors():
        data = file.read_bytes()
    password = None
    if is_pkcs12(data):
        if password_file is not None:
            with errors():
                password = password_file.read_bytes().rstrip(b"\r\n")
        else:
            password = typer.prompt("PKCS#12 password", hide_input=True, err=True).encode()
    with open_store(ctx) as store, errors():
        status = store.import_certificate(s, data, password)
    out.print(
        f"Imported into [bold]{s.value}[/]: {status.subject} (serial {status.serial}), "
        f"valid until {status.not_after:%Y-%m-%d}, chain {status.chain_state.value}."
    )


@app.command()
def status(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Every slot: subject, issuer, serial, validity, days left, chain state, warnings."""
    with open_store(ctx) as store:
        slots = store.status()
    if as_json:
        sys.stdout.write(json.dumps([s.to_dict() for s in slots], indent=2) + "\n")
        return
    for st in slots:
        chain_style = "green" if st.chain_state in (ChainState.VALID, ChainState.LOCAL) else "red"
        out.print(f"[bold]{st.slot.value}[/]  {st.title}")
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column(overflow="fold")
        key = "yes" + (" (renewal key pending)" if st.renewal_pending else "")
        grid.add_row("key", key if st.has_key else "none")
        if st.subject:
            grid.add_row("subject", st.subject)
            grid.add_row("issuer", st.issuer or "-")
            grid.add_row("serial", st.serial or "-")
            grid.add_row(
                "valid",
                f"{st.not_before:%Y-%m-%d} to {st.not_after:%Y-%m-%d} ({st.days_left} days left)",
            )
        grid.add_row("chain", f"[{chain_style}]{st.chain_state.value}[/] {st.chain_detail}")
        for w in st.warnings:
            grid.add_row("warning", f"[yellow]{w}[/]")
        out.print(Padding(grid, (0, 0, 0, 2)))
    for st in slots:
        for w in st.warnings:
            err.print(f"warning: {st.slot.value}: {w}", markup=False)


@app.command()
def pair(
    ctx: typer.Context,
    name: Annotated[str, typer.Option("--name", help="Client name, e.g. 'Comptoir 2'.")],
    role: Annotated[str, typer.Option("--role", help=f"One of: {', '.join(ROLES)}.")],
    ttl: Annotated[int, typer.Option("--ttl", help="Seconds the code stays valid.")] = 600,
) -> None:
    """One-time enrolment code for a LAN client."""
    opts = _options(ctx)
    with errors(), ClientRegistry(opts.state_dir, clock=opts.clock()) as registry:
        code = registry.create_pairing_code(name, role, ttl)
    out.print(f"Pairing code for [bold]{name}[/] ({role}), valid {ttl} s, single use:")
    out.print(f"[bold]{code}[/]", markup=True)


@clients_app.callback()
def clients(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List enrolled clients (``clients revoke ID`` to revoke one)."""
    if ctx.invoked_subcommand is not None:
        return
    opts = _options(ctx)
    with errors(), ClientRegistry(opts.state_dir, clock=opts.clock()) as registry:
        found = registry.list()
    if as_json:
        sys.stdout.write(json.dumps([c.to_dict() for c in found], indent=2) + "\n")
        return
    table = Table(title="Enrolled LAN clients")
    for col in ("id", "name", "role", "fingerprint (SHA-256)", "valid until", "state"):
        table.add_column(col, overflow="fold")
    for c in found:
        table.add_row(
            str(c.id),
            c.name,
            c.role,
            c.fingerprint_sha256[:32] + "…",
            f"{c.not_after:%Y-%m-%d}",
            "active" if c.active else "[red]revoked[/]",
        )
    out.print(table)


@clients_app.command("revoke")
def clients_revoke(ctx: typer.Context, client_id: int) -> None:
    """Revoke client ID: its certificate is refused from now on."""
    opts = _options(ctx)
    with errors(), ClientRegistry(opts.state_dir, clock=opts.clock()) as registry:
        client = registry.revoke(client_id)
    out.print(f"Client #{client.id} ({client.name}) revoked.")


@trust_app.command("add")
def trust_add(ctx: typer.Context, file: Path) -> None:
    """Add root/intermediate CA certificates (PEM or DER) to the trust store."""
    with errors():
        data = file.read_bytes()
    with open_store(ctx) as store, errors():
        added = store.add_trust_anchor(data)
    for cert in added:
        out.print(f"Trusted: {cert.subject.rfc4514_string()}")


@trust_app.command("list")
def trust_list(ctx: typer.Context) -> None:
    """Show the trust store."""
    with open_store(ctx) as store:
        roots = store.trust_roots()
    for cert in roots:
        out.print(f"{cert.subject.rfc4514_string()}  (until {cert.not_valid_after_utc:%Y-%m-%d})")


@app.command()
def zeroize(
    ctx: typer.Context,
    yes: Annotated[
        bool,
        typer.Option("--yes-destroy-all-keys", help="Skip the typed confirmation (automation)."),
    ] = False,
) -> None:
    """Destroy every key in the token. Certificates must be ordered again afterwards."""
    if not yes:
        typed = typer.prompt(
            "This destroys every key of the box. Type DESTROY to confirm",
            default="",
            show_default=False,
            err=True,
        )
        if typed != "DESTROY":
            fail("not confirmed; nothing destroyed")
    with open_store(ctx) as store, errors():
        count = store.zeroize()
    out.print(f"Zeroized: {count} token objects destroyed.")
