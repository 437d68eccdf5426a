"""TLS client authentication with a private key that stays in the PKCS#11 token.

Python's ``ssl`` only takes key files. The component chosen is **stunnel** (Debian
``stunnel4``) in client mode with OpenSSL's PKCS#11 engine (Debian
``libengine-pkcs11-openssl``, libp11): the handshake's CertificateVerify is one ``C_Sign``
on the token, the key object is never read. What was tried (docs/teleservices.md):

- ``curl --engine pkcs11 --key-type ENG --key 'pkcs11:…'`` works, but a process per call;
- the PyPI pycurl wheel bundles its own OpenSSL (3.6), which fails to load Debian's engine
  ("DSO support routines::could not load the shared library"). A pycurl built against the
  system libcurl was not tried: it would put libp11 inside the daemon, next to the daemon's
  own python-pkcs11 session on the same module, where libp11's ``C_Finalize`` on engine
  release ends every session of the process (PKCS#11 state is per process);
- stunnel: a packaged, long-running TLS proxy; one process with its own token session, TLS
  session resumption and keep-alive connections, so most calls cost no token signature.

The daemon speaks plain HTTP to a Unix socket per service in a 0700 directory; stunnel makes
the mTLS connection, verifies the server's chain (the configured trust anchors) and host name,
and pins TLS 1.2 as the services require. The token PIN reaches stunnel through a pipe
(``stunnel -fd``), never a file.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sysconfig
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from cryptography.hazmat.primitives import serialization

from hostd.teleservices.errors import TunnelError
from provisioning import token
from provisioning.slots import Slot
from provisioning.store import Store

if TYPE_CHECKING:  # httpx loads only when a box talks to INSi/DMP (it costs start-up and RSS)
    import httpx

STUNNEL = "stunnel"
ENGINE_PACKAGE = "libengine-pkcs11-openssl"
_NAME = re.compile(r"[a-z][a-z0-9-]{0,30}")
__all__ = ["Endpoint", "TokenKey", "TokenTlsTunnel", "TunnelError", "engine_path", "store_key",
           "trust_pem"]


@functools.cache
def machine_multiarch() -> str | None:
    """This machine's Debian multiarch triplet (``x86_64-linux-gnu``, ``aarch64-linux-gnu``):
    the interpreter's own (Debian builds set ``MULTIARCH``), else ``dpkg-architecture``, else
    ``gcc -print-multiarch``; None when none of them says."""
    value = sysconfig.get_config_var("MULTIARCH")
    if isinstance(value, str) and value:
        return value
    for cmd in (["dpkg-architecture", "-qDEB_HOST_MULTIARCH"], ["gcc", "-print-multiarch"]):
        if shutil.which(cmd[0]) is None:
            continue
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=False)
        except (OSError, subprocess.TimeoutExpired):
            continue
        out = done.stdout.strip()
        if done.returncode == 0 and re.fullmatch(r"[a-z0-9_]+(-[a-z0-9_]+){1,3}", out):
            return out
    return None


def find_engine(root: Path, multiarch: str | None) -> Path:
    """libp11's OpenSSL engine under ``root``: Debian installs it in
    ``usr/lib/<multiarch>/engines-3/pkcs11.so``. The machine's own multiarch first; without
    one, the only ``usr/lib/*/engines-3/pkcs11.so`` there is (several: ambiguous, refused);
    then ``usr/lib/engines-3``. Raises :class:`TunnelError` in one line when none is found."""
    lib = root / "usr" / "lib"
    if multiarch:
        own = lib / multiarch / "engines-3" / "pkcs11.so"
        if own.is_file():
            return own
    else:
        found = sorted(lib.glob("*/engines-3/pkcs11.so"))
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise TunnelError(
                "several PKCS#11 engines and no known multiarch: set [teleservices] "
                f"pkcs11_engine to one of {', '.join(str(f) for f in found)}")
    flat = lib / "engines-3" / "pkcs11.so"
    if flat.is_file():
        return flat
    where = lib / (multiarch or "*") / "engines-3" / "pkcs11.so"
    raise TunnelError(f"OpenSSL's PKCS#11 engine is missing ({where}): install "
                      f"{ENGINE_PACKAGE} or set [teleservices] pkcs11_engine")


def engine_path(configured: str | Path | None = None) -> Path:
    """The engine stunnel loads: ``[teleservices] pkcs11_engine`` when set (it must exist),
    else the one of this machine's multiarch (:func:`find_engine` under ``/``)."""
    if configured:
        path = Path(configured)
        if not path.is_file():
            raise TunnelError(f"[teleservices] pkcs11_engine {path} is not a file")
        return path
    return find_engine(Path("/"), machine_multiarch())


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
    key: TokenKey, endpoints: Sequence[Endpoint], runtime: Path, connect_timeout_s: int,
    engine: Path,
) -> str:
    lines = [
        "foreground = yes",
        "pid =",
        "debug = 4",
        "syslog = no",
        "engine = dynamic",
        f"engineCtrl = SO_PATH:{engine}",
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
            # Small request/answer exchanges: no Nagle delay on either side of the tunnel.
            "socket = l:TCP_NODELAY=1",
            "socket = r:TCP_NODELAY=1",
        ]
    return "\n".join(lines) + "\n"


class TokenTlsTunnel:
    """One stunnel process in client mode, one Unix socket per endpoint.

    ``start`` returns once every socket is listening (bounded wait) or raises with stunnel's
    own first error line; ``stop`` terminates it. ``extra_env`` lets a test put a PKCS#11
    spy between stunnel and the module to count the token's signatures. ``engine`` is the
    PKCS#11 engine's path (``[teleservices] pkcs11_engine``); None finds this machine's.
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
        engine: str | Path | None = None,
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
        self._engine = engine
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
        """Starts stunnel, or restarts it if it died; a running tunnel is left alone."""
        if self._proc is not None and self._proc.poll() is None:
            return
        self._proc = None
        if shutil.which(STUNNEL) is None:
            raise TunnelError("stunnel is not installed (Debian package stunnel4)")
        engine = engine_path(self._engine)
        self.runtime.mkdir(parents=True, exist_ok=True)
        os.chmod(self.runtime, 0o700)
        (self.runtime / "trust.pem").write_bytes(self._trust)
        (self.runtime / "client-chain.pem").write_bytes(self._key.chain_pem)
        for name in self._endpoints:
            self.socket(name).unlink(missing_ok=True)
        config = _config(
            self._key, list(self._endpoints.values()), self.runtime, self._connect_timeout_s,
            engine,
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
        import httpx

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
