"""``comptoir terminal``: the technician's commands for the counter terminals.

    comptoir terminal list                 paired terminals, and who answers on the ports now
    comptoir terminal pair [--name N]      pair the terminal plugged in (code checked on its pad)
    comptoir terminal unpair SERIAL        forget a terminal's key: it is refused from now on
    comptoir terminal rename SERIAL NAME
    comptoir terminal firmware DIR         build the firmware image (scripts/board.sh image)

The commands open the terminal ports themselves (the daemon holds them while it runs: stop it
to pair); the keys live in ``terminals.json`` under the state directory, the ports come from
``[terminals] ports`` (both read by the one config reader). Every failure prints one
``error:`` line on stderr and exits non-zero.
"""

from __future__ import annotations

import queue
import subprocess
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from drivers.terminal import (
    TerminalError,
    TerminalEvent,
    TerminalKeyStore,
    TerminalManager,
    TerminalPort,
)
from hostd.cli_options import ConfigOption, StateOption, settings

app = typer.Typer(no_args_is_help=True, add_completion=False)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
ROOT = Path(__file__).resolve().parents[1]

Ports = Annotated[
    list[str] | None,
    typer.Option(
        "--port",
        help="Port or glob where terminals are (repeat; default: [terminals] ports).",
    ),
]


def _fail(message: str, code: int = 1) -> None:
    err.print(f"error: {message}", markup=False)
    raise typer.Exit(code)


def _store(
    config: Path | None, state_dir: Path | None
) -> tuple[TerminalKeyStore, tuple[str, ...]]:
    found = settings(config, state_dir, "error")
    root = found.state_dir
    if not root.is_dir():
        _fail(f"state directory {root} does not exist")
    return TerminalKeyStore(root / "terminals.json"), found.terminals.ports


def _answering(
    keys: TerminalKeyStore, ports: tuple[str, ...], wait_s: float
) -> tuple[TerminalManager, list[TerminalPort], list[TerminalEvent]]:
    events: list[TerminalEvent] = []
    manager = TerminalManager(
        keys, on_event=events.append, port_globs=ports
    )
    manager.start()
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline and manager.candidates():
        found = manager.ports()
        if found and all(p.serial for p in found):
            break
        time.sleep(0.05)
    return manager, [p for p in manager.ports() if p.serial], events


@app.command("list")
def list_terminals(
    config: ConfigOption = None,
    state_dir: StateOption = None,
    port: Ports = None,
    wait: Annotated[float, typer.Option(help="Seconds to wait for answers.")] = 3.0,
) -> None:
    """Paired terminals, and the terminals answering on the ports now."""
    keys, globs = _store(config, state_dir)
    paired = keys.entries()
    manager, answering, _ = _answering(keys, tuple(port or globs), min(max(wait, 0.5), 30))
    try:
        seen = {p.serial: p for p in answering}
        for serial_no in sorted(set(paired) | set(seen)):
            p = seen.get(serial_no)
            where = (
                f"{p.port} firmware {p.link.peer.get('firmware', '?')}" if p else "not connected"
            )
            state = "paired" if serial_no in paired else "NOT PAIRED"
            name = paired.get(serial_no, "")
            out.print(f"{serial_no}  {state:10}  {name or '-':20}  {where}", markup=False)
        if not paired and not seen:
            out.print("no terminal paired or connected")
    finally:
        manager.stop()


@app.command()
def pair(
    config: ConfigOption = None,
    state_dir: StateOption = None,
    port: Ports = None,
    name: Annotated[str, typer.Option(help="A name for the terminal (its counter).")] = "",
    timeout: Annotated[float, typer.Option(help="Seconds the pairing window stays open.")] = 120.0,
) -> None:
    """Pair the terminal plugged into the box: both show a code, confirm it on the terminal."""
    keys, globs = _store(config, state_dir)
    manager, answering, _ = _answering(keys, tuple(port or globs), 5.0)
    try:
        busy = [p.port for p in manager.ports() if p.busy]
        if not answering and busy:
            _fail(f"{busy[0]} is held by another program (stop the daemon while pairing)")
        if not answering:
            _fail("no terminal answers on the ports (is it plugged in and flashed?)")
        if len(answering) > 1:
            _fail("several terminals are plugged in: pair one at a time (--port)")
        (terminal,) = answering
        with terminal.pairing() as answers:
            try:
                kind, detail = answers.get(timeout=15)
                if kind == "code":
                    out.print(
                        f"Code {detail[:3]} {detail[3:]}: check that terminal {terminal.serial} "
                        "shows the same code, then press # on its keypad (D refuses)."
                    )
                    kind, detail = answers.get(timeout=min(max(timeout, 10), 300))
            except queue.Empty:
                _fail("pairing window closed without an answer from the terminal")
        if kind != "paired":
            _fail(f"not paired: {detail}")
        if name:
            keys.rename(detail, name)
        out.print(f"paired terminal {detail}" + (f" ({name})" if name else ""))
    finally:
        manager.stop()


@app.command()
def unpair(serial: str, config: ConfigOption = None, state_dir: StateOption = None) -> None:
    """Forget a terminal's key: it gets nothing but a refusal from now on."""
    if not _store(config, state_dir)[0].remove(serial):
        _fail(f"terminal {serial} is not paired")
    out.print(f"unpaired terminal {serial}")


@app.command()
def rename(
    serial: str, name: str, config: ConfigOption = None, state_dir: StateOption = None
) -> None:
    """Give a paired terminal a name (its counter)."""
    try:
        _store(config, state_dir)[0].rename(serial, name)
    except TerminalError as exc:
        _fail(str(exc))
    out.print(f"terminal {serial} is now {name!r}")


@app.command()
def firmware(directory: Path) -> None:
    """Build the firmware image (compiled modules + main.py + SHA256SUMS) into DIRECTORY."""
    script = ROOT / "scripts" / "board.sh"
    if not script.exists():
        _fail(
            "the firmware recipe (scripts/board.sh) is not on this machine: build from a checkout"
        )
    done = subprocess.run(
        [str(script), "image", str(directory)],
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["mpy-cross failed"])[-1]
        _fail(f"firmware image not built: {last}")
    out.print(done.stdout.strip().splitlines()[-1], markup=False)
