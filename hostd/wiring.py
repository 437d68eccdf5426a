"""The one wiring module: builds the box from its settings and owns ``comptoir serve``.

It puts the real parts together (``hostd.provisioned``'s adapters, the app factories, the TLS
listeners of ``hostd.server``). Nothing in ``hostd`` imports it back, so there is no cycle
between the daemon's pieces and the code that assembles them; tests and benches import it to
build a box of their own.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from drivers.apdu import CardConnection
from drivers.terminal import TerminalEvent, TerminalKeyStore, TerminalManager
from hostd.api.enrol import create_enrol_app
from hostd.app import create_app
from hostd.audit import AuditLog
from hostd.config import Settings
from hostd.context import Devices
from hostd.db import DatabaseError
from hostd.events import EventLog
from hostd.provisioned import (
    PcscWatcher,
    RegistryClients,
    StoreSigner,
    card_application,
    pcsc_connect,
)
from hostd.server import StartupError, TlsFiles, make_listeners, run_loop
from hostd.services.readers import ReaderHub
from hostd.services.signing import SigningService
from hostd.services.terminals import TerminalService
from provisioning.ca import LocalCA
from provisioning.clients import ClientRegistry
from provisioning.errors import ProvisioningError
from provisioning.health import serving_problem
from provisioning.paths import StatePaths
from provisioning.store import Store

_RECOVERY = ("refusing to start; run `comptoir audit verify`, then "
             "`comptoir audit set-aside` (docs/hostd.md, \"Damaged audit log\")")


@dataclass
class Box:
    api_app: FastAPI
    enrol_app: FastAPI
    tls: TlsFiles
    audit: AuditLog
    devices: Devices
    _closers: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        for close in reversed(self._closers):
            close()


def open_box(
    settings: Settings,
    *,
    connect: Callable[[str], CardConnection] = pcsc_connect,
    watcher: bool = True,
) -> Box:
    """Opens every real part under ``settings.state_dir``; one-line errors when one is missing."""
    state: Path = settings.state_dir
    closers: list[Callable[[], None]] = []
    try:
        try:
            store = Store.open(state)
        except Exception as exc:  # provisioning and PKCS#11 errors vary; all mean "not usable"
            raise StartupError(f"key store in {state} unusable: {exc}") from exc
        closers.append(store.close)
        try:
            ca = LocalCA(store)
            registry = ClientRegistry(state)
        except ProvisioningError as exc:
            raise StartupError(str(exc)) from exc
        closers.append(registry.close)
        tls = TlsFiles(ca.server_cert_path, ca.server_key_path, ca.ca_cert_path)
        for path in (tls.cert, tls.key, tls.client_ca):
            if not path.is_file():
                raise StartupError(f"missing {path}: run `comptoir provision init`")
        try:
            audit = AuditLog.open(state)
        except DatabaseError as exc:
            raise StartupError(f"{exc}: {_RECOVERY}") from exc
        closers.append(audit.close)
        audit.cap_pages(settings.disk)
        checked = audit.check_at_start()
        if not checked.ok:
            raise StartupError(f"{checked.line()}: {_RECOVERY}")
        clients = RegistryClients(registry, ca, StatePaths(state).db)
        closers.append(clients.close)
        signer = StoreSigner(store)
        hub = ReaderHub(connect, card_application)
        terminals = open_terminals(settings, closers, hub.events)

        devices = Devices(
            clients=clients,
            hub=hub,
            watcher=PcscWatcher(hub) if watcher else None,
            signing=SigningService(signer, audit),
            admin=clients,
            head_signer=signer.head_signer(),
            certificates=signer.certificates,
            terminals=terminals,
            teleservices=(teleservice_parts(settings, store, signer)
                          if settings.teleservices is not None else None),
        )
        api_app = create_app(settings, devices, audit)
        enrol_app = create_enrol_app(clients, audit, settings.enrolment.attempts_per_minute,
                                     settings.enrolment.attempts_per_source)
        # Runs before the audit log closes (closers run in reverse): the last minute's counts.
        closers.append(enrol_app.state.service.refusals.flush)
    except BaseException:
        for close in reversed(closers):
            close()
        raise
    return Box(api_app, enrol_app, tls, audit, devices, closers)


def open_terminals(settings: Settings, closers: list[Callable[[], None]],
                   events: EventLog | None = None) -> TerminalService:
    """The counter terminals: keys paired by ``comptoir terminal pair`` (terminals.json in the
    state directory), ports watched from the configuration's globs, one thread per port."""
    keys = TerminalKeyStore(settings.state_dir / "terminals.json")
    service: list[TerminalService] = []

    def on_event(event: TerminalEvent) -> None:
        if service:
            service[0].on_event(event)

    manager = TerminalManager(keys, on_event=on_event, port_globs=settings.terminals.ports)
    service.append(TerminalService(settings.terminals, keys, manager, events))
    manager.start()
    closers.append(manager.stop)
    return service[0]
def teleservice_parts(settings: Settings, store: Store, signer: StoreSigner) -> Any:
    """INSi/DMP: the stunnel tunnel with the ORG AUTH_CLI key, the VIHF signed with ORG SIGN
    (through the store adapter's lock), the audit pseudonym key. One-line error when the ORG
    AUTH_CLI slot has no certificate."""
    from dataclasses import fields

    from hostd.services.teleservices import TeleserviceParts, load_pseudonym_key
    from hostd.teleservices import mtls
    from provisioning.signing.vihf import VihfContext
    from provisioning.slots import Slot

    paths = StatePaths(settings.state_dir)
    try:
        key = mtls.store_key(store, Slot.ORG_AUTH_CLI)
    except (mtls.TunnelError, ProvisioningError) as exc:
        raise StartupError(f"[teleservices] needs the ORG AUTH_CLI certificate: {exc}") from exc
    tele = settings.teleservices
    tunnel = mtls.TokenTlsTunnel(
        paths.root / "run" / "teleservices", key, tele.endpoints(), mtls.trust_pem(store),
        connect_timeout_s=max(1, int(tele.policy.connect_timeout_s)),
    )

    def sign_vihf(ctx: VihfContext) -> bytes:
        return signer.vihf("org-sign", {f.name: getattr(ctx, f.name) for f in fields(ctx)})

    return TeleserviceParts(tele, tunnel, sign_vihf,
                            load_pseudonym_key(paths.secrets_dir))


def serve(settings: Settings) -> None:
    """``comptoir serve``: check the state, build the real devices, serve until signalled."""
    state = settings.state_dir
    if not state.is_dir() or not os.access(state, os.R_OK | os.W_OK | os.X_OK):
        raise StartupError(f"state directory {state} is missing or not readable and writable")
    if (problem := serving_problem(state)) is not None:  # the same verdict as `comptoir doctor`
        raise StartupError(problem)
    box = open_box(settings)
    try:
        listeners = make_listeners(
            box.api_app, box.enrol_app, box.tls, host=settings.server.listen,
            api_port=settings.server.port, enrol_port=settings.server.enrol_port,
            limits=settings.limits,
        )
        print(
            f"comptoir: serving on https://{settings.server.listen}:{listeners.api_port} "
            f"(mTLS) and :{listeners.enrol_port} (enrolment)",
            flush=True,
        )
        # A service manager's SIGTERM and a closed terminal's SIGHUP stop the listeners, and
        # then the ``finally`` below closes the box (audit writer flushed: queued rows and
        # the per-minute refusal counts). uvicorn takes SIGINT/SIGTERM while it serves and,
        # once stopped, raises the signal again under the handler it found: with the default
        # one the process died right there, before the audit was flushed. Ours only asks the
        # (already stopped) listeners to stop.
        previous = {sig: signal.signal(sig, lambda *_: listeners.request_stop())
                    for sig in (signal.SIGTERM, signal.SIGHUP)}
        try:
            run_loop(listeners.serve())
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    finally:
        box.close()
