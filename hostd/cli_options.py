"""``--config`` and ``--state-dir``, the same on every ``comptoir`` command, read one way.

Each command group takes these options and hands them to :func:`settings`, which reads them
through ``hostd.config.settings_for`` (the one reader) and turns a bad file into one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hostd import config as config_mod

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help=f"Configuration file (TOML; default {config_mod.DEFAULT_CONFIG} when present).",
        show_default=False,
    ),
]
StateOption = Annotated[
    Path | None,
    typer.Option(
        "--state-dir",
        help="State directory (overrides $COMPTOIR_STATE_DIR and the config; development).",
        show_default=False,
    ),
]


def settings(config: Path | None, state_dir: Path | None, prefix: str = "comptoir") -> (
    config_mod.Settings
):
    try:
        return config_mod.settings_for(config, state_dir=state_dir)
    except config_mod.ConfigError as exc:
        typer.echo(f"{prefix}: {exc}", err=True)
        raise typer.Exit(2) from exc
