"""The ``comptoir`` command: one entry point for technicians, the daemon and the demo."""

from __future__ import annotations

import typer

from hostd.commands import audit_app, register_serve
from provisioning.cli import app as provision_app

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Comptoir counter appliance.")
app.add_typer(provision_app, name="provision", help="Keys, certificates and LAN clients.")
app.add_typer(audit_app, name="audit", help="Verify and export the audit log.")
register_serve(app)

# The appliance image is built without drivers/sim (simulated cards, test PKI keys): there the
# simulator and the demo that drives it are absent, and so are their commands.
try:
    from drivers.sim.cli import app as sim_app
    from hostd.demo import register_demo
except ModuleNotFoundError as exc:  # pragma: no cover - exercised by the image boot test
    if exc.name is None or not exc.name.startswith("drivers.sim"):
        raise
else:
    app.add_typer(sim_app, name="sim", help="Simulated readers and cards (demo, training, tests).")
    register_demo(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
