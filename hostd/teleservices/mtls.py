"""TLS client authentication with a private key that stays in the PKCS#11 token.

Python's ``ssl`` only takes key files. The component chosen is **stunnel** (Debian
``stunnel4``) in client mode with OpenSSL's PKCS#11 engine (Debian
``libengine-pkcs11-openssl``, libp11): the handshake's CertificateVerify is one ``C_Sign``
on the token, the key object is never read. Why stunnel rather than curl/pycurl with the same
engine inside the daemon (both were tried, see docs/teleservices.md):

- the PyPI pycurl wheel bundles its own OpenSSL, which cannot load Debian's engine; building
  pycurl against the system libcurl works but puts libp11 in the daemon's process, where it
  would ``C_Initialize``/``C_Login``/``C_Finalize`` the very module the daemon's own
  python-pkcs11 session uses (login state is per process; one ``C_Finalize`` ends every
  session of the process);
- stunnel is a long-running, packaged TLS proxy: one process, one token session, TLS session
  resumption and keep-alive connections, so most calls cost no token signature at all.

The daemon speaks plain HTTP to a Unix socket per service in a 0700 directory; stunnel makes
the mTLS connection, verifies the server's chain (the configured trust anchors) and host name,
and pins TLS 1.2 as the services require. The token PIN reaches stunnel through a pipe
(``stunnel -fd``), never a file.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import httpx
from cryptography.hazmat.primitives import serialization

from provisioning import token
from provisioning.slots import Slot
from provisioning.store import Store

ENGINE_SO = "/usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so"
STUNNEL = "stunnel"
_NAME = re.compile(r"[a-z][a-z0-9-]{0,30}")


class TunnelError(Exception):
    """The TLS tunnel could not start or stopped; the message is one line."""


def engine_path() -> str:
    """libp11's engine for this machine's multiarch (Debian installs it under engines-3)."""
    for base in ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib"):
        candidate = Path(base) / "engines-3" / "pkcs11.so"
        if candidate.exists():
            return str(candidate)
    return ENGINE_SO


def pkcs11_key_uri(token_label: str, key_id: bytes) -> str:
    """RFC 7512 URI of a private key object (no PIN in it)."""
    ident = "".join(f"%{b:02x}" for b in key_id)
    return f"pkcs11:token={quote(token_label, safe='')};id={ident};type=private"


@dataclass(frozen=True)
class TokenKey:
    """The client identity: a key in the token and its certificate chain (leaf first)."""

    module: str
    token_label: str
    key_id: bytes
    pin: str = field(repr=False)
    chain_pem: bytes = b""
    env: Mapping[str, str] = field(default_factory=dict)  # e.g. SOFTHSM2_CONF

    def __post_init__(self) -> None:
        if not self.chain_pem.startswith(b"-----BEGIN CERTIFICATE-----"):
            raise TunnelError("the client certificate chain must be PEM, leaf first")
        if any(c in self.pin for c in "\r\n"):
            raise TunnelError("the token PIN cannot contain a line break")


@dataclass(frozen=True)
class Endpoint:
    """One remote service: where to connect and the name its certificate must carry."""

    name: str  # socket and section name: "insi", "dmp"
    host: str
    port: int
    server_name: str

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise TunnelError(f"endpoint name {self.name!r}: lower-case letters, digits, '-'")
        if not 0 < self.port < 65536:
            raise TunnelError(f"endpoint {self.name}: port must be 1-65535")
        if not re.fullmatch(r"[A-Za-z0-9.\-]{1,253}", self.server_name):
            raise TunnelError(f"endpoint {self.name}: server name must be a DNS name")


def _config(
    key: TokenKey, endpoints: Sequence[Endpoint], runtime: Path, connect_timeout_s: int
) -> str:
    lines = [
        "foreground = yes",
        "pid =",
        "debug = 4",
        "syslog = no",
        "engine = dynamic",
        f"engineCtrl = SO_PATH:{engine_path()}",
        "engineCtrl = ID:pkcs11",
        "engineCtrl = LIST_ADD:1",
        "engineCtrl = LOAD",
        f"engineCtrl = MODULE_PATH:{key.module}",
        f"engineCtrl = PIN:{key.pin}",
        "engineCtrl = INIT",
    ]
    uri = pkcs11_key_uri(key.token_label, key.key_id)
    for ep in endpoints:
        lines += [
            f"[{ep.name}]",
            "client = yes",
            f"accept = {runtime / (ep.name + '.sock')}",
            f"connect = {ep.host}:{ep.port}",
            "delay = yes",
            f"sni = {ep.server_name}",
            f"checkHost = {ep.server_name}",
            "verifyChain = yes",
            f"CAfile = {runtime / 'trust.pem'}",
            "engineId = pkcs11",
            f"key = {uri}",
            f"cert = {runtime / 'client-chain.pem'}",
            "sslVersionMin = TLSv1.2",
            "sslVersionMax = TLSv1.2",
            f"TIMEOUTconnect = {connect_timeout_s}",
            "TIMEOUTidle = 60",
            "TIMEOUTclose = 0",
        ]
    return "\n".join(lines) + "\n"


class TokenTlsTunnel:
    """One stunnel process in client mode, one Unix socket per endpoint.

    ``start`` returns once every socket is listening (bounded wait) or raises with stunnel's
    own first error line; ``stop`` terminates it. ``extra_env`` lets a test put a PKCS#11
    spy between stunnel and the module to count the token's signatures.
    """

    def __init__(
        self,
        runtime_dir: Path,
        key: TokenKey,
        endpoints: Sequence[Endpoint],
        trust_pem: bytes,
        *,
        connect_timeout_s: int = 5,
        extra_env: Mapping[str, str] | None = None,
    ) -> None:
        if not endpoints:
            raise TunnelError("a tunnel needs at least one endpoint")
        if not trust_pem.strip():
            raise TunnelError("no trust anchors for the services' server certificates")
        self.runtime = Path(runtime_dir)
        self._key = key
        self._endpoints = {ep.name: ep for ep in endpoints}
        self._trust = trust_pem
        self._connect_timeout_s = connect_timeout_s
        self._extra_env = dict(extra_env or {})
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return self.runtime / "stunnel.log"

    def socket(self, name: str) -> Path:
        if name not in self._endpoints:
            raise TunnelError(f"no tunnel endpoint named {name!r}")
        return self.runtime / f"{name}.sock"

    def endpoint(self, name: str) -> Endpoint:
        self.socket(name)
        return self._endpoints[name]

    def start(self, timeout_s: float = 15.0) -> None:
        if self._proc is not None:
            return
        if shutil.which(STUNNEL) is None:
            raise TunnelError("stunnel is not installed (Debian package stunnel4)")
        self.runtime.mkdir(parents=True, exist_ok=True)
        os.chmod(self.runtime, 0o700)
        (self.runtime / "trust.pem").write_bytes(self._trust)
        (self.runtime / "client-chain.pem").write_bytes(self._key.chain_pem)
        for name in self._endpoints:
            self.socket(name).unlink(missing_ok=True)
        config = _config(
            self._key, list(self._endpoints.values()), self.runtime, self._connect_timeout_s
        ).encode()
        read_fd, write_fd = os.pipe()
        env = dict(os.environ, **self._key.env, **self._extra_env)
        log = self.log_path.open("wb")
        try:
            self._proc = subprocess.Popen(
                [STUNNEL, "-fd", str(read_fd)],
                pass_fds=(read_fd,), stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, env=env,
            )
        finally:
            os.close(read_fd)
            log.close()
        with os.fdopen(write_fd, "wb") as pipe:
            pipe.write(config)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                self._proc = None
                raise TunnelError(f"stunnel stopped at start: {self._first_error()}")
            if all(self.socket(n).exists() for n in self._endpoints):
                for name in self._endpoints:
                    os.chmod(self.socket(name), 0o600)
                return
            time.sleep(0.02)
        self.stop()
        raise TunnelError(f"stunnel did not listen within {timeout_s:g} s")

    def _first_error(self) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "no log"
        for line in text.splitlines():
            if "[!]" in line and "ENGINE_ctrl_cmd" not in line:
                return line.split("[!]", 1)[1].strip()[:200]
        return "see " + str(self.log_path)

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)

    def __enter__(self) -> TokenTlsTunnel:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def http_client(self, name: str, *, max_connections: int = 8) -> httpx.AsyncClient:
        """An httpx client whose requests go through the tunnel to endpoint ``name``.

        Keep-alive is on: one TLS connection (one token signature) serves many calls.
        """
        ep = self.endpoint(name)
        transport = httpx.AsyncHTTPTransport(
            uds=str(self.socket(name)),
            limits=httpx.Limits(max_connections=max_connections, keepalive_expiry=30),
            retries=0,
        )
        return httpx.AsyncClient(
            transport=transport, base_url=f"http://{ep.server_name}", trust_env=False
        )

    def base_url(self, name: str) -> str:
        return f"http://{self.endpoint(name).server_name}"


def store_key(store: Store, slot: Slot) -> TokenKey:
    """The client identity of an ORG slot of the box's store: its key in the token, its
    certificate and intermediates; SoftHSM's configuration passed on to stunnel."""
    cert = store.certificate(slot)
    if cert is None:
        raise TunnelError(f"slot {slot.value} has no certificate for TLS client authentication")
    chain = [cert, *store.chain(slot)]
    env = {}
    if store.paths.softhsm_conf.exists():
        env["SOFTHSM2_CONF"] = str(store.paths.softhsm_conf)
    return TokenKey(
        module=token.module_path(),
        token_label=token.token_label(),
        key_id=store.key_id(slot),
        pin=token.read_user_pin(store.paths),
        chain_pem=b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain),
        env=env,
    )


def trust_pem(store: Store) -> bytes:
    """The anchors the services' server certificates must chain to (the store's trust)."""
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in store.trust_roots())
