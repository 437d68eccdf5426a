"""``comptoir config init``: a commented configuration file, made from the one reader's models.

The text is generated from the pydantic models of :mod:`hostd.config` (each setting, its
default, and the docstring under it), so a setting added there appears here without a second
copy to keep in step; the test loads the written file back through :func:`hostd.config.load`.
"""

from __future__ import annotations

import ast
import inspect
import itertools
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel

from hostd import config as config_mod

HEADER = """\
# Comptoir configuration: /etc/comptoir/comptoir.toml on a box.
# Read by `comptoir serve --config FILE` (and `comptoir doctor --config FILE`). Every setting
# is shown with its default; a mistake is reported at start-up as one line naming the key.
"""


def _docs(model: type[BaseModel]) -> dict[str, str]:
    """Attribute docstrings (the string right under ``name: type = default``)."""
    try:
        tree = ast.parse(inspect.getsource(model))
    except (OSError, TypeError):
        return {}
    docs: dict[str, str] = {}
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    for node, after in itertools.pairwise(body):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            docs[node.target.id] = " ".join(after.value.value.split())
    return docs


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        inner = ", ".join(f"{json.dumps(str(k))} = {_toml(v)}" for k, v in value.items())
        return "{" + (f" {inner} " if inner else "") + "}"
    return json.dumps(str(value), ensure_ascii=False)


def _comment(text: str, width: int = 96) -> list[str]:
    lines, line = [], "#"
    for word in text.split():
        if len(line) + 1 + len(word) > width:
            lines.append(line)
            line = "#"
        line += " " + word
    return [*lines, line] if line != "#" else lines


def _section(model: BaseModel) -> list[str]:
    docs = _docs(type(model))
    out: list[str] = []
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            continue
        out += _comment(docs.get(name, ""))
        # An optional table left out (INSi/DMP, ApCV) stays out: its section's docs say how.
        out.append(f"# {name}: absent" if value is None else f"{name} = {_toml(value)}")
    return out


def render(settings: config_mod.Settings) -> str:
    lines = HEADER.splitlines()
    lines += ["", *_section(settings)]
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, BaseModel):
            doc = (type(value).__doc__ or "").strip()
            lines += ["", *(_comment(doc) if doc else []), f"[{name}]", *_section(value)]
    return "\n".join(lines) + "\n"


config_app = typer.Typer(no_args_is_help=True, help="The configuration file.")


@config_app.callback()
def _group() -> None:
    """The configuration file (``config init`` writes a commented one)."""


@config_app.command("init")
def init(
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write.")] = Path(
        "comptoir.toml"
    ),
    state_dir: Annotated[
        Path | None, typer.Option("--state-dir", help="State directory to write in.")
    ] = None,
    listen: Annotated[
        str | None, typer.Option("--listen", help="The box's LAN address (both listeners).")
    ] = None,
    port: Annotated[int | None, typer.Option("--port", help="mTLS API port.")] = None,
    enrol_port: Annotated[
        int | None, typer.Option("--enrol-port", help="Enrolment port.")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
) -> None:
    """Write a commented configuration with every setting and its default."""
    raw: dict[str, Any] = {}
    if state_dir is not None:
        raw["state_dir"] = str(state_dir)
    server = {
        k: v for k, v in (("listen", listen), ("port", port), ("enrol_port", enrol_port))
        if v is not None
    }  # fmt: skip
    if server:
        raw["server"] = server
    try:
        settings = config_mod.from_dict(raw, source="options")
    except config_mod.ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if output.exists() and not force:
        typer.echo(f"error: {output} exists: --force replaces it", err=True)
        raise typer.Exit(1)
    output.write_text(render(settings), encoding="utf-8")
    typer.echo(
        f"Configuration written to {output}; check it with `comptoir doctor --config {output}`."
    )
