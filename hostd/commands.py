"""``comptoir serve`` and ``comptoir audit``: the daemon's entry points on the box."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from hostd import config as config_mod
from hostd.audit import AuditLog
from hostd.db import DatabaseError

audit_app = typer.Typer(no_args_is_help=True)

ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="Configuration file (TOML).", show_default=False)
]
StateOption = Annotated[
    Path | None,
    typer.Option("--state-dir", help="State directory (overrides the config; development)."),
]


def _fail(message: str) -> typer.Exit:
    typer.echo(f"comptoir: {message}", err=True)
    return typer.Exit(2)


def _state_dir(config: Path | None, state_dir: Path | None) -> Path:
    if state_dir is not None:
        return state_dir
    if config is not None:
        try:
            return config_mod.load(config).state_dir
        except config_mod.ConfigError as exc:
            raise _fail(str(exc)) from exc
    return config_mod.DEFAULT_STATE_DIR


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


def register_serve(app: typer.Typer) -> None:
    """Adds ``serve`` to the root command (kept here so the root stays a list of groups)."""

    @app.command("serve")
    def serve(
        config: Annotated[Path, typer.Option("--config", help="Configuration file (TOML).")],
        state_dir: StateOption = None,
    ) -> None:
        """Runs the LAN daemon: mTLS API and the enrolment listener."""
        from hostd.server import StartupError, run

        try:
            settings = config_mod.load(config, state_dir=state_dir)
            run(settings)
        except (config_mod.ConfigError, StartupError) as exc:
            raise _fail(str(exc)) from exc
