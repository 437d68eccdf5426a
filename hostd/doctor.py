"""``comptoir doctor``: is this box ready, and if not, what fixes it.

The state checks are :func:`provisioning.health.check_box` (the same the daemon runs before it
starts); this adds what only a running box shows: the daemon answering on its enrolment port
with the CA of this state directory, pcscd and its readers. One verdict: ``ready``, or the list
of what is missing, each with the command that fixes it; ``--json`` for scripts.
"""

from __future__ import annotations

import http.client
import json
import ssl
import sys
from typing import Annotated

import typer

from hostd import config as config_mod
from hostd.cli_options import ConfigOption, StateOption, settings
from provisioning.health import Finding, check_box


def _daemon(settings: config_mod.Settings) -> Finding:
    host = settings.server.listen
    if host in ("0.0.0.0", "::"):  # noqa: S104 - the address to reach, not to bind
        host = "127.0.0.1"
    ca = settings.state_dir / "tls" / "ca.pem"
    port = settings.server.enrol_port
    fix = "systemctl start comptoir (or `comptoir serve --config FILE`)"
    if port == 0 or not ca.is_file():
        return Finding("daemon", False, "daemon address unknown (port 0 or no CA)", fix)
    try:
        ctx = ssl.create_default_context(cafile=str(ca))
        ctx.check_hostname = False  # the names are checked by tls-names; here: is it ours?
        conn = http.client.HTTPSConnection(host, port, context=ctx, timeout=5)
        try:
            conn.request("GET", "/v1/ca")
            status = conn.getresponse().status
        finally:
            conn.close()
    except ssl.SSLError as exc:
        return Finding("daemon", False, f"{host}:{port} answers with another CA: {exc}", fix)
    except OSError as exc:
        return Finding("daemon", False, f"daemon not reachable on {host}:{port}: {exc}", fix)
    if status != 200:
        return Finding("daemon", False, f"{host}:{port} answered HTTP {status}", fix)
    return Finding("daemon", True, f"daemon answers on {host}:{port}")


def _readers() -> Finding:
    try:
        from smartcard.System import readers

        found = [str(r) for r in readers()]
    except Exception as exc:  # pyscard raises several unrelated types when pcscd is absent
        return Finding(
            "readers", False, f"pcscd not reachable: {type(exc).__name__}",
            "systemctl start pcscd.socket",
        )  # fmt: skip
    if not found:
        return Finding("readers", False, "pcscd runs but sees no card reader",
                       "plug the card readers in (USB) and check `pcsc_scan`")  # fmt: skip
    return Finding("readers", True, f"{len(found)} reader(s): {', '.join(found)}")


def _disk(settings: config_mod.Settings) -> Finding:
    # The same figure /v1/status and /metrics show: a warning long before the 507.
    from hostd.disk import disk_health

    health = disk_health(settings.state_dir, settings.disk)
    if health.level == "ok":
        return Finding("disk", True, health.message)
    return Finding("disk", False, health.message,
                   "comptoir audit export -o FILE (archive it off the box), then free space")


def diagnose(settings: config_mod.Settings, training: bool) -> list[Finding]:
    findings = check_box(settings.state_dir, lan_names=[settings.server.listen], training=training)
    if settings.state_dir.is_dir():
        findings.append(_disk(settings))
    if not any(f.blocking and not f.ok for f in findings):
        findings.append(_daemon(settings))
    findings.append(_readers())
    return findings


doctor_app = typer.Typer(add_completion=False)


@doctor_app.command()
def doctor(
    config: ConfigOption = None,
    state_dir: StateOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable verdict.")] = False,
    training: Annotated[
        bool, typer.Option("--training", help="A training box: TEST anchors expected.")
    ] = False,
) -> None:
    """Is the box ready? One verdict, or what is missing with the command that fixes it."""
    findings = diagnose(settings(config, state_dir, "error"), training)
    bad = [f for f in findings if not f.ok]
    if as_json:
        verdict = {"ready": not bad, "findings": [f.to_dict() for f in findings]}
        sys.stdout.write(json.dumps(verdict, indent=2) + "\n")
    else:
        for f in findings:
            mark = "ok  " if f.ok else ("STOP" if f.blocking else "todo")
            typer.echo(f"{mark}  {f.message}")
            if not f.ok and f.fix:
                typer.echo(f"      fix: {f.fix}")
        typer.echo("ready" if not bad else f"not ready: {len(bad)} thing(s) to fix")
    if bad:
        raise typer.Exit(1)
