"""``comptoir serve`` and ``comptoir audit``: the daemon's entry points on the box."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from hostd.audit import AuditLog
from hostd.cli_options import ConfigOption, StateOption, settings
from hostd.db import DatabaseError

audit_app = typer.Typer(no_args_is_help=True)
serve_app = typer.Typer(add_completion=False)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"comptoir: {message}", err=True)
    return typer.Exit(2)


def _state_dir(config: Path | None, state_dir: Path | None) -> Path:
    return settings(config, state_dir).state_dir


def _open_log(state: Path) -> AuditLog:
    if not (state / "audit.db").is_file():
        raise _fail(f"no audit log in {state}")
    try:
        return AuditLog.open(state)
    except DatabaseError as exc:
        raise _fail(str(exc)) from exc


@audit_app.command("verify")
def audit_verify(config: ConfigOption = None, state_dir: StateOption = None) -> None:
    """Checks the hash chain and the signed anchors; exit 1 naming the first bad row."""
    log = _open_log(_state_dir(config, state_dir))
    try:
        result = log.verify()
    finally:
        log.close()
    typer.echo(result.line())
    if not result.ok:
        raise typer.Exit(1)


@audit_app.command("set-aside")
def audit_set_aside(config: ConfigOption = None, state_dir: StateOption = None) -> None:
    """Moves a damaged audit log aside (never deleted) and starts a new chain anchored to its
    last good row. Run with the daemon stopped, after `comptoir audit verify` failed."""
    from hostd.audit import set_aside

    state = _state_dir(config, state_dir)
    if not (state / "audit.db").is_file():
        raise _fail(f"no audit log in {state}")
    try:
        log = AuditLog.open(state)
    except DatabaseError as exc:
        reason = str(exc)
    else:
        try:
            result = log.verify()
        finally:
            log.close()
        if result.ok:
            raise _fail("the audit log verifies: nothing to set aside")
        reason = result.line()
    try:
        done = set_aside(state, reason)
    except OSError as exc:
        raise _fail(f"cannot set the audit log aside: {exc}") from exc
    typer.echo(
        f"audit log set aside in {done.folder}; new chain row {done.record.id} continues from "
        f"row {done.previous_head_id} ({done.previous_head_hash[:16]}…)"
    )


@audit_app.command("export")
def audit_export(
    config: ConfigOption = None,
    state_dir: StateOption = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default stdout).")
    ] = None,
) -> None:
    """Writes every audit row as one JSON object per line."""
    log = _open_log(_state_dir(config, state_dir))
    try:
        if output is None:
            log.export(sys.stdout)
        else:
            with output.open("w", encoding="utf-8") as out:
                count = log.export(out)
            typer.echo(f"{count} rows written to {output}", err=True)
    finally:
        log.close()


@serve_app.command("serve")
def serve(config: ConfigOption = None, state_dir: StateOption = None) -> None:
    """Runs the LAN daemon: mTLS API and the enrolment listener."""
    from hostd.server import StartupError
    from hostd.wiring import serve as run

    try:
        run(settings(config, state_dir))
    except StartupError as exc:
        raise _fail(str(exc)) from exc
