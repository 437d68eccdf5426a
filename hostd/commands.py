"""``comptoir serve`` and ``comptoir audit``: filled in by the daemon work."""

from __future__ import annotations

import typer

audit_app = typer.Typer(no_args_is_help=True)


def register_serve(app: typer.Typer) -> None:
    """Adds ``serve`` to the root command (kept here so the root stays a list of groups)."""
