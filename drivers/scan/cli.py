"""``comptoir scan decode IMAGE…``: what the default decoder reads, for a technician checking
a camera's placement and focus. One line per code (file name, a tab, the text with control
characters escaped); a file without a code says so on stderr; an unreadable file is a one-line
``error:`` and a non-zero exit once every file has been tried."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from drivers.scan.decode import ImageError, decode_file

app = typer.Typer(no_args_is_help=True)


@app.callback()
def scan() -> None:
    """QR scanners and cameras: check what a camera reads."""
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _printable(text: str) -> str:
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


@app.command()
def decode(
    images: Annotated[list[Path], typer.Argument(help="JPEG or PNG files.", show_default=False)],
) -> None:
    """Print every QR code the default decoder reads in each image."""
    failed = False
    for path in images:
        try:
            texts = decode_file(path)
        except ImageError as exc:
            typer.echo(f"error: {path}: {exc}", err=True)
            failed = True
            continue
        if not texts:
            typer.echo(f"{path}: no code", err=True)
        for text in texts:
            typer.echo(f"{path}\t{_printable(text)}")
    if failed:
        raise typer.Exit(1)
