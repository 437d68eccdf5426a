"""The ``comptoir`` command: one entry point for technicians, the daemon and the demo.

Subcommands are loaded only when named: ``comptoir serve`` must not import the simulator, the
demo or the test PKI (memory and start-up time on the box, and a daemon that cannot reach test
code by accident). ``tests/test_hostd_wiring.py`` checks it from ``sys.modules``.
"""

from __future__ import annotations

import importlib
from typing import Any

import typer

# typer 0.29 carries its own click; its group's methods take these types.
from typer._click.core import Command, Context
from typer._click.formatting import HelpFormatter
from typer.core import TyperGroup

_COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("hostd.commands:serve_app", "Runs the LAN daemon: mTLS API and enrolment."),
    "provision": ("provisioning.cli:app", "Keys, certificates and LAN clients."),
    "audit": ("hostd.commands:audit_app", "Verify and export the audit log."),
    "terminal": ("hostd.terminal_commands:app", "Counter terminals: pair, list, firmware."),
    "scan": ("drivers.scan.cli:app", "QR scanners and cameras: check what a camera reads."),
    "sim": ("drivers.sim.cli:app", "Simulated readers and cards (demo, training, tests)."),
    "demo": ("counter.demo:app", "The appliance on simulated readers and cards (a tour)."),
    "config": ("hostd.config_template:config_app", "Write a commented configuration file."),
    "doctor": ("hostd.doctor:doctor_app", "Is the box ready? What is missing, and the fix."),
    "enrol": ("counter.enrol:enrol_app", "Counter side: enrol this PC with a pairing code."),
}
"""Name → (module:Typer app, one-line help shown by ``comptoir --help`` without importing)."""


def _installed(name: str) -> bool:
    """The appliance image is built without the simulator (simulated cards, test PKI keys) and
    the counter-side programs: there their commands are absent, not broken."""
    module = _COMMANDS[name][0].split(":")[0]
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


class LazyGroup(TyperGroup):
    def list_commands(self, ctx: Context) -> list[str]:
        return [name for name in _COMMANDS if _installed(name)]

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        if cmd_name not in _COMMANDS or not _installed(cmd_name):
            return None
        target, help_text = _COMMANDS[cmd_name]
        module, attr = target.split(":")
        sub: Any = getattr(importlib.import_module(module), attr)
        command = typer.main.get_command(sub)
        command.name = cmd_name
        command.help = command.help or help_text
        return command

    def format_commands(self, ctx: Context, formatter: HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, help_text) for name, (_, help_text) in _COMMANDS.items()
                                if _installed(name)])


app = typer.Typer(cls=LazyGroup, no_args_is_help=True, add_completion=False,
                  rich_markup_mode=None)


@app.callback()
def root() -> None:
    """Comptoir counter appliance."""


def main() -> None:
    app()


if __name__ == "__main__":
    main()
