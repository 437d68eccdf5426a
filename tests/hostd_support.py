"""A real daemon for the hostd/API tests: provisioned state (SoftHSM2 token, local CA, client
registry), the session's pcscd with vpcd readers, uvicorn with TLS on 127.0.0.1 ephemeral ports,
and counters enrolled over the enrolment listener with their own keys and CSRs."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from drivers.sim import testpki
from drivers.sim.card import SimCard
from drivers.sim.cardfile import load_card
from drivers.sim.cps_app import CpsApplication, CpsCardConfig
from drivers.sim.cps_issue import issue_cps
from drivers.sim.timing import Timing
from hostd import config
from hostd.audit import AuditLog, AuditUnavailable
from hostd.auth import Role
from hostd.provisioned import RegistryClients
from hostd.server import ServerThread, make_listeners
from hostd.wiring import Box, open_box
from provisioning.slots import Slot
from tests.card_support import CARDS_DIR, HOLDER
from tests.provision_fixtures import certify, provision

OPERATOR_NAME = "Mme Durand (préparatrice)"
OPERATOR = {"X-Comptoir-Operator": "Mme Durand (pr%C3%A9paratrice)"}


def cps_config(pki: testpki.TestPki) -> CpsCardConfig:
    return issue_cps(pki, HOLDER)


def cps_card(cfg: CpsCardConfig, timing: Timing | None = None) -> CpsApplication:
    return CpsApplication(cfg, timing or Timing.zero())


def vitale_card(name: str = "vitale-famille-martin.toml") -> SimCard:
    return load_card(CARDS_DIR / name, Timing.zero())


@dataclass
class Daemon:
    state: Path
    box: Box
    thread: ServerThread
    pki: testpki.TestPki
    clients_dir: Path
    _clients: list[httpx.Client] = field(default_factory=list)

    @property
    def api_url(self) -> str:
        return f"https://127.0.0.1:{self.thread.listeners.api_port}"

    @property
    def enrol_url(self) -> str:
        return f"https://127.0.0.1:{self.thread.listeners.enrol_port}"

    @property
    def ca_path(self) -> Path:
        return self.box.tls.client_ca

    @property
    def admin(self) -> RegistryClients:
        admin = self.box.devices.admin
        assert isinstance(admin, RegistryClients)
        return admin

    def tls_context(self, cert: Path | None = None, key: Path | None = None) -> ssl.SSLContext:
        # httpx 0.28 ignores ``cert=`` when ``verify`` is a path: build the context ourselves.
        ctx = ssl.create_default_context(cafile=str(self.ca_path))
        if cert is not None and key is not None:
            ctx.load_cert_chain(str(cert), str(key))
        return ctx

    def pairing_code(self, name: str, role: Role = Role.COUNTER, ttl_s: int = 600) -> str:
        """What ``comptoir provision pair`` does on the box."""
        return self.admin.create_pairing_code(name, role, ttl_s).code

    def enrol(self, code: str, name: str) -> tuple[httpx.Response, Path, Path]:
        key = ec.generate_private_key(ec.SECP256R1())
        csr = (
            x509.CertificateSigningRequestBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .sign(key, hashes.SHA256())
        )
        key_path = self.clients_dir / f"{name}.key"
        cert_path = self.clients_dir / f"{name}.pem"
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        with httpx.Client(verify=self.tls_context(), timeout=10) as http:
            response = http.post(
                f"{self.enrol_url}/v1/enrol",
                json={
                    "code": code,
                    "csr_pem": csr.public_bytes(serialization.Encoding.PEM).decode(),
                },
            )
        if response.status_code == 200:
            cert_path.write_text(response.json()["certificate_pem"])
        return response, cert_path, key_path

    def client(self, name: str, role: Role = Role.COUNTER, **kwargs: Any) -> httpx.Client:
        """A new enrolled client (own key, CSR, pairing code) with its mTLS HTTP client."""
        response, cert, key = self.enrol(self.pairing_code(name, role), name)
        assert response.status_code == 200, response.text
        http = httpx.Client(
            base_url=self.api_url,
            verify=self.tls_context(cert, key),
            timeout=kwargs.pop("timeout", 30),
            **kwargs,
        )
        self._clients.append(http)
        return http

    def stop(self) -> None:
        for http in self._clients:
            http.close()
        self.thread.stop()
        self.box.close()


def start_daemon(
    base: Path,
    *,
    cps: dict[str, Any] | None = None,
    org_sign: bool = True,
    scheduler: dict[str, Any] | None = None,
    watcher: bool = True,
    terminals: dict[str, Any] | None = None,
    pki: testpki.TestPki | None = None,
    org_auth_cli: str | None = None,
    teleservices: dict[str, Any] | None = None,
    limits: dict[str, Any] | None = None,
    enrolment: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> Daemon:
    """``org_auth_cli``: the CN of an ORG AUTH_CLI certificate to provision (``INSI-AUTO``);
    ``teleservices``: the ``[teleservices]`` table (the doubles' addresses); ``extra``: more
    config tables (``scan``, ``apcv``); ``pki`` when a test double must trust the same TEST
    chain as the daemon's cards."""
    state = base / "state"
    pki = pki or testpki.TestPki.create()
    store = provision(state, pki)
    try:
        if org_sign:
            certify(store, pki, Slot.ORG_SIGN)
        if org_auth_cli:
            certify(store, pki, Slot.ORG_AUTH_CLI, cn=org_auth_cli)
    finally:
        store.close()
    raw: dict[str, Any] = {
        "state_dir": str(state),
        "server": {"listen": "127.0.0.1", "port": 0, "enrol_port": 0},
        "cps": {"api_pin": True, **(cps or {})},  # a box: false (PIN from the terminal)
        "scheduler": scheduler or {},
        "enrolment": enrolment or {"attempts_per_minute": 1000, "attempts_per_source": 1000},
        "limits": limits or {},
        # No terminal port unless a test gives one: a box's default glob is real hardware.
        "terminals": terminals or {"ports": []},
    }
    raw.update(extra or {})
    if teleservices is not None:
        raw["teleservices"] = teleservices
    settings = config.from_dict(raw)
    box = open_box(settings, watcher=watcher)
    try:
        listeners = make_listeners(
            box.api_app, box.enrol_app, box.tls, host="127.0.0.1", api_port=0, enrol_port=0,
            limits=settings.limits,
        )
        thread = ServerThread(listeners).start()
    except BaseException:
        box.close()
        raise
    clients_dir = base / "clients"
    clients_dir.mkdir()
    return Daemon(state, box, thread, pki, clients_dir)


def fill_audit_tails(audit: AuditLog, pads: tuple[int, ...] = (500, 100, 20, 0),
                     limit: int = 5000) -> None:
    """Once the audit database has refused a row for lack of room: smaller and smaller rows
    into what is left, down to an empty detail, so the next operation's (small) row cannot
    slip into a page's tail and the test's 507 is certain."""
    for pad in pads:
        for i in range(limit):
            try:
                audit.append(client="filler", operator="-", action="fill", target=str(i),
                             outcome="ok", detail={"pad": "x" * pad})
            except AuditUnavailable:
                break
        else:
            raise AssertionError(f"audit database not full after {limit} rows of {pad}")
