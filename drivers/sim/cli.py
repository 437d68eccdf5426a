"""``comptoir sim``: a private pcscd with simulated readers, and cards put in and pulled out.

``comptoir sim run --dir DIR`` starts pcscd (vpcd readers) and keeps running; the other
commands talk to it through ``DIR/sim.sock`` (see ``drivers.sim.control``). PC/SC clients reach
the simulated readers with ``PCSCLITE_CSOCK_NAME`` as printed by ``comptoir sim env``.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Annotated, Any

import typer

from drivers.sim.control import SOCKET_NAME, ControlError, SimController, request
from drivers.sim.pcscd import PcscdError, PrivatePcscd
from drivers.sim.timing import Timing
from hostd.cli_options import ConfigOption, StateOption, settings

app = typer.Typer(no_args_is_help=True)

DirOption = Annotated[
    Path,
    typer.Option(
        "--dir",
        help="Simulator directory (pcscd socket, config, control socket); default: the state "
        "directory's sim/.",
    ),
]


@app.callback()
def main(ctx: typer.Context, config: ConfigOption = None, state_dir: StateOption = None) -> None:
    """Simulated readers and cards (demo, training, tests)."""
    # The one configuration reader, as for every comptoir command: without --dir, the
    # simulator lives in the state directory the daemon and `provision` use.
    sim_dir = str(settings(config, state_dir, "comptoir sim").state_dir / "sim")
    commands = getattr(ctx.command, "commands", {})
    ctx.default_map = {name: {"directory": sim_dir} for name in commands}


def _fail(message: str) -> typer.Exit:
    # One line, like every comptoir error, so a technician's script can show or log it as is.
    typer.echo(f"comptoir sim: {message}", err=True)
    return typer.Exit(2)


def _timing(value: str) -> Timing:
    if value == "realistic":
        return Timing.realistic()
    if value == "zero":
        return Timing.zero()
    try:
        factor = float(value)
    except ValueError:
        raise _fail(f"--timing wants realistic, zero or a scale factor, got {value!r}") from None
    if not 0 <= factor <= 100:
        raise _fail(f"--timing scale factor must be between 0 and 100, got {value}")
    return Timing.scaled(factor)


def _parse_insert(spec: str) -> tuple[int, Path]:
    slot, sep, path = spec.partition("=")
    if not sep or not slot.isdigit() or not path:
        raise _fail(f"--insert wants SLOT=CARD_FILE, got {spec!r}")
    return int(slot), Path(path)


def _call(directory: Path, message: dict[str, Any]) -> dict[str, Any]:
    try:
        return request(directory.resolve(), message)
    except ControlError as exc:
        raise _fail(str(exc)) from None


@app.command()
def run(
    directory: DirOption,
    readers: Annotated[int, typer.Option(min=1, max=8, help="vpcd readers (2 slots each).")] = 2,
    insert: Annotated[
        list[str] | None, typer.Option(help="SLOT=CARD_FILE to insert at start (repeatable).")
    ] = None,
    timing: Annotated[str, typer.Option(help="Card timing: realistic, zero, or a factor.")] = (
        "realistic"
    ),
) -> None:
    """Start a private pcscd with simulated readers and serve card insertions until stopped."""
    directory = directory.resolve()
    card_timing = _timing(timing)
    inserts = [_parse_insert(spec) for spec in insert or []]
    directory.mkdir(parents=True, exist_ok=True)
    try:
        pcscd = PrivatePcscd(directory / "pcscd", readers)
        # A value inherited from the parent names another pcscd; this process has opened no
        # PC/SC context yet, so it can still choose its own.
        os.environ.pop("PCSCLITE_CSOCK_NAME", None)
        pcscd.use_in_this_process()
        pcscd.start()
    except (PcscdError, ValueError) as exc:
        raise _fail(str(exc)) from None
    controller = SimController(pcscd, directory / SOCKET_NAME, card_timing)
    signal.signal(signal.SIGTERM, lambda *_: controller.stopped.set())
    signal.signal(signal.SIGINT, lambda *_: controller.stopped.set())
    signal.signal(signal.SIGHUP, lambda *_: controller.stopped.set())
    try:
        for slot, path in inserts:
            try:
                controller.insert(slot, str(path))
            except (ControlError, ValueError) as exc:
                raise _fail(f"--insert {slot}={path}: {exc}") from None
        typer.echo(f"PCSCLITE_CSOCK_NAME={pcscd.socket_path}")
        for entry in controller.status()["slots"]:
            card = entry["card"] or "(empty)"
            typer.echo(f"slot {entry['slot']}: {entry['reader']}: {card}")
        typer.echo(
            f"control socket: {controller.socket_path}  (comptoir sim stop --dir {directory})"
        )
        controller.serve()
    finally:
        pcscd.close()


@app.command("insert")
def insert_card(
    directory: DirOption,
    slot: Annotated[int, typer.Option(help="Slot number (see `comptoir sim status`).")],
    card: Annotated[Path, typer.Argument(help="Card file (TOML), e.g. drivers/sim/cards/*.toml.")],
) -> None:
    """Insert a card file's card into a slot (pulling any card already there)."""
    reply = _call(directory, {"op": "insert", "slot": slot, "card": str(card.resolve())})
    typer.echo(f"inserted {reply['card']} into {reply['reader']}")


@app.command()
def remove(
    directory: DirOption,
    slot: Annotated[int, typer.Option(help="Slot number.")],
) -> None:
    """Pull the card out of a slot, as a person would (even mid-operation)."""
    reply = _call(directory, {"op": "remove", "slot": slot})
    typer.echo(f"removed the card from {reply['reader']}")


@app.command()
def unplug(directory: DirOption, reader: Annotated[int, typer.Option()]) -> None:
    """Unplug a reader (pcscd restarts without it: pcscd reads serial readers at start only)."""
    _call(directory, {"op": "unplug", "reader": reader})
    typer.echo(f"reader {reader} unplugged")


@app.command()
def plug(directory: DirOption, reader: Annotated[int, typer.Option()]) -> None:
    """Plug a reader back (pcscd restarts with it)."""
    _call(directory, {"op": "plug", "reader": reader})
    typer.echo(f"reader {reader} plugged")


@app.command("restart-pcscd")
def restart_pcscd(directory: DirOption) -> None:
    """Restart the private pcscd (cards stay in their slots)."""
    reply = _call(directory, {"op": "restart"})
    typer.echo(f"pcscd restarted (pid {reply['pcscd_pid']})")


@app.command()
def status(
    directory: DirOption,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Readers, slots and the cards in them."""
    reply = _call(directory, {"op": "status"})
    if as_json:
        reply.pop("ok", None)
        typer.echo(json.dumps(reply, indent=2))
        return
    typer.echo(f"pcscd pid {reply['pcscd_pid']}, socket {reply['socket']}")
    for entry in reply["slots"]:
        plugged = "" if entry["plugged"] else " [unplugged]"
        typer.echo(
            f"slot {entry['slot']}: {entry['reader']}{plugged}: {entry['card'] or '(empty)'}"
        )


@app.command()
def stop(directory: DirOption) -> None:
    """Stop the simulator (and its pcscd)."""
    _call(directory, {"op": "stop"})
    typer.echo("simulator stopping")


@app.command()
def env(directory: DirOption) -> None:
    """Print the environment a PC/SC client needs to use the simulated readers."""
    typer.echo(f"export PCSCLITE_CSOCK_NAME={(directory.resolve() / 'pcscd' / 'pcscd.comm')}")


authority_app = typer.Typer(
    no_args_is_help=True, help="Training authority: TEST IGC-Santé certificates for CSRs."
)
app.add_typer(authority_app, name="authority")


@authority_app.command("issue")
def authority_issue(
    requests: Annotated[list[Path], typer.Argument(help="CSR files (from `provision prepare`).")],
    pki_dir: Annotated[
        Path, typer.Option("--pki", help="The TEST PKI (created there on first use).")
    ] = Path("training-pki"),
    out_dir: Annotated[
        Path, typer.Option("--out", "-o", help="Where the certificates go.")
    ] = Path("from-igc-sante"),
) -> None:
    """Issue TEST ORG certificates (the profile each CSR asks for) like IGC-Santé would."""
    from drivers.sim.authority import ROOT_FILE, AuthorityError, issue_files

    try:
        issued = issue_files(pki_dir, requests, out_dir)
    except (AuthorityError, OSError) as exc:
        raise _fail(str(exc)) from None
    for item in issued:
        typer.echo(f"{item.request.name} → {item.certificate} ({item.slot.value}): {item.subject}")
    typer.echo(f"TEST root: {out_dir / ROOT_FILE} (comptoir provision trust add, training only)")
