"""The ``comptoir`` command: one entry point for technicians, the daemon and the demo."""

from __future__ import annotations

import typer

from drivers.scan.cli import app as scan_app
from drivers.sim.cli import app as sim_app
from hostd.commands import audit_app, register_serve
from hostd.demo import register_demo
from provisioning.cli import app as provision_app

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Comptoir counter appliance.")
app.add_typer(provision_app, name="provision", help="Keys, certificates and LAN clients.")
app.add_typer(audit_app, name="audit", help="Verify and export the audit log.")
app.add_typer(scan_app, name="scan", help="QR scanners and cameras: check what a camera reads.")
app.add_typer(sim_app, name="sim", help="Simulated readers and cards (demo, training, tests).")
register_serve(app)
register_demo(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
