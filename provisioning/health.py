"""What the box needs to serve, checked from its state directory: one answer for ``comptoir
doctor`` and for the daemon's start-up.

Each :class:`Finding` names what is wrong and the command that fixes it. ``blocking`` findings
mean the daemon cannot serve at all (no usable token, keys gone, no TLS identity): ``comptoir
serve`` refuses to start on the first of them (:func:`serving_problem`) instead of answering
every request with a misleading error. The other findings keep the box from being "ready"
(certificates not imported, expiring, TEST anchors…) but the LAN service still runs.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from provisioning import certs
from provisioning.certs import ChainState
from provisioning.clients import ClientRegistry
from provisioning.errors import ProvisioningError
from provisioning.order import ORG_SLOTS
from provisioning.paths import StatePaths
from provisioning.recover import RECOVER_HINT, keys_missing_on_token
from provisioning.slots import Slot
from provisioning.store import Store

# Before this date the clock is certainly wrong (the software did not exist): certificate
# checks would refuse everything, or accept what has expired.
CLOCK_FLOOR = datetime(2026, 1, 1, tzinfo=UTC)
PROVISION = "comptoir provision"


@dataclass(frozen=True)
class Finding:
    check: str
    ok: bool
    message: str
    fix: str | None = None
    blocking: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _ok(check: str, message: str) -> Finding:
    return Finding(check, True, message)


def _bad(check: str, message: str, fix: str | None, blocking: bool = False) -> Finding:
    return Finding(check, False, message, fix, blocking)


def _lan_problem(server: x509.Certificate, lan_names: Sequence[str]) -> Finding:
    try:
        san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        san = x509.SubjectAlternativeName([])
    have = set(san.get_values_for_type(x509.DNSName)) | {
        str(ip) for ip in san.get_values_for_type(x509.IPAddress)
    }
    wanted = [n for n in lan_names if not _unspecified(n)]
    missing = [n for n in wanted if n not in have]
    if missing:
        all_names = " ".join(f"--name {n}" for n in sorted(have | set(wanted)))
        return _bad(
            "tls-names",
            f"the TLS certificate does not name {', '.join(missing)} (it names"
            f" {', '.join(sorted(have)) or 'nothing'})",
            f"{PROVISION} server-cert {all_names}",
        )
    return _ok("tls-names", f"TLS certificate names {', '.join(sorted(have))}")


def _unspecified(name: str) -> bool:
    try:
        return ipaddress.ip_address(name).is_unspecified
    except ValueError:
        return False


def _tls_files(
    paths: StatePaths, ca: x509.Certificate, now: datetime
) -> Finding | x509.Certificate:
    cert_path, key_path = paths.tls_dir / "server.pem", paths.tls_dir / "server.key"
    fix = f"{PROVISION} server-cert --name BOX-NAME --name BOX-ADDRESS"
    if not cert_path.is_file() or not key_path.is_file():
        return _bad("tls", f"TLS identity missing ({cert_path.name}/{key_path.name})", fix, True)
    try:
        server = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (ValueError, OSError) as exc:
        return _bad("tls", f"TLS identity unreadable: {exc}", fix, True)
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(
        serialization.Encoding.DER, spki
    ) != server.public_key().public_bytes(serialization.Encoding.DER, spki):
        return _bad("tls", "tls/server.key does not match tls/server.pem", fix, True)
    result = certs.validate_chain(server, [], [ca], now)
    if result.state is not ChainState.VALID:
        return _bad("tls", f"TLS certificate: {result.state.value}: {result.detail}", fix, True)
    return server


def check_box(
    state_dir: Path,
    *,
    lan_names: Sequence[str] = (),
    training: bool = False,
    clock: Callable[[], datetime] | None = None,
) -> list[Finding]:
    """Every offline check of the state directory, blocking ones first when they fail."""
    now = (clock or (lambda: datetime.now(UTC)))()
    paths = StatePaths(Path(state_dir))
    findings: list[Finding] = []
    if now < CLOCK_FLOOR:
        findings.append(
            _bad(
                "clock",
                f"the clock says {now:%Y-%m-%d}: certificate checks cannot work",
                "timedatectl set-ntp true (or set the date)",
            )
        )
    if not paths.db.exists():
        fix = f"{PROVISION} init --name BOX-NAME --name BOX-ADDRESS"
        return [*findings, _bad("state", f"{paths.root} is not provisioned", fix, True)]
    try:
        store = Store.open(paths.root, clock=lambda: now)
    except ProvisioningError as exc:
        return [*findings, _bad("token", str(exc), f"{PROVISION} recover", True)]
    try:
        findings.append(_ok("token", "token opens with its PIN"))
        missing = keys_missing_on_token(paths.root)
        if missing:
            findings.append(_bad("keys", f"keys of {', '.join(missing)} are recorded but gone"
                                 f" from the token: {RECOVER_HINT}", f"{PROVISION} recover",
                                 True))  # fmt: skip
            return findings
        ca = store.certificate(Slot.BOX_LAN)
        if ca is None:
            findings.append(_bad("local-ca", "the local CA is missing",
                                 f"{PROVISION} init", True))  # fmt: skip
            return findings
        if ca.not_valid_before_utc - timedelta(minutes=10) > now:
            findings.append(_bad("clock", f"the clock ({now:%Y-%m-%d %H:%M}) is before the local"
                                 f" CA was made ({ca.not_valid_before_utc:%Y-%m-%d %H:%M})",
                                 "timedatectl set-ntp true (or set the date)"))  # fmt: skip
        tls = _tls_files(paths, ca, now)
        if isinstance(tls, Finding):
            findings.append(tls)
        else:
            until = tls.not_valid_after_utc
            findings.append(_ok("tls", f"TLS identity valid until {until:%Y-%m-%d}"))
            if lan_names:
                findings.append(_lan_problem(tls, lan_names))
        findings += _slot_findings(store)
        findings += _trust_findings(store, training)
    finally:
        store.close()
    findings.append(_clients_finding(paths.root))
    return findings


def _slot_findings(store: Store) -> list[Finding]:
    found = []
    for slot in ORG_SLOTS:
        st = store.slot_status(slot)
        check = f"slot:{slot.value}"
        if not st.has_key:
            found.append(_bad(check, f"{slot.value}: no key, no certificate",
                              f"{PROVISION} prepare --org NAME --structure-id ID"))  # fmt: skip
        elif st.subject is None:
            found.append(
                _bad(
                    check,
                    f"{slot.value}: key made, certificate not imported yet",
                    f"{PROVISION} import FILE… (the certificates IGC-Santé sent)",
                )
            )
        elif st.chain_state is not ChainState.VALID:
            fix = (f"{PROVISION} renew {slot.value}" if st.chain_state is ChainState.EXPIRED
                   else f"{PROVISION} trust add ROOT.pem")  # fmt: skip
            found.append(_bad(check, f"{slot.value}: chain {st.chain_state.value}:"
                              f" {st.chain_detail}", fix))  # fmt: skip
        elif st.warnings:
            found.append(_bad(check, f"{slot.value}: {'; '.join(st.warnings)}",
                              f"{PROVISION} renew {slot.value}"))  # fmt: skip
        else:
            found.append(_ok(check, f"{slot.value}: {st.subject}, {st.days_left} days left"))
    return found


def is_test_anchor(cert: x509.Certificate) -> bool:
    """TEST IGC-Santé names start with "TEST" (DOMAIN.md)."""
    cns = cert.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)
    return bool(cns) and str(cns[0].value).upper().startswith("TEST")


def _trust_findings(store: Store, training: bool) -> list[Finding]:
    roots = store.trust_roots()
    tests = [r for r in roots if is_test_anchor(r)]
    if tests and not training:
        names = ", ".join(r.subject.rfc4514_string() for r in tests)
        fps = " ".join(certs.fingerprint(r)[:16] for r in tests)
        return [_bad("trust", f"TEST trust anchors on a production box: {names}",
                     f"{PROVISION} trust remove {fps}")]  # fmt: skip
    if not roots:
        return [_bad("trust", "no trust anchor: no IGC-Santé chain can be checked",
                     f"{PROVISION} trust add ROOT.pem")]  # fmt: skip
    return [_ok("trust", f"{len(roots)} trust anchor(s)" + (" (training)" if tests else ""))]


def _clients_finding(state_dir: Path) -> Finding:
    with ClientRegistry(state_dir) as registry:
        active = [c for c in registry.list() if c.active]
    if not active:
        return _bad("clients", "no counter enrolled", f"{PROVISION} pair --count N")
    return _ok("clients", f"{len(active)} client(s) enrolled: "
               + ", ".join(c.name for c in active))  # fmt: skip


def serving_problem(state_dir: Path) -> str | None:
    """The first reason the daemon cannot serve, as one line naming the fix; None when it can.

    ``comptoir serve`` calls this before opening anything, so a box with a lost token or PIN
    refuses to start instead of claiming keys it no longer has."""
    for f in check_box(state_dir):
        if f.blocking and not f.ok:
            return f"{f.message} (fix: {f.fix})" if f.fix and f.fix not in f.message else f.message
    return None
