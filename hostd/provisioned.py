"""Adapters to the real parts: the provisioning store, local CA and client registry; pcscd.

The daemon's services only see small protocols (``ClientDirectory``, ``ClientAdmin``,
``StoreSigning``, a reader watcher and a connect function); this module is the one place that
adapts ``provisioning`` and ``drivers`` to them. ``hostd.wiring`` puts them together.

The signing modules (lxml, signxml, asn1crypto's CMS) are imported on first use: a box that
never signs XML does not carry them in memory, and ``comptoir serve`` starts sooner.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from drivers import pcsc_watch
from drivers.apdu import CardConnection
from drivers.cards.cps import CpsCard
from drivers.cards.vitale import VitaleCard
from drivers.pcsc import PcscConnection
from hostd.audit import HeadSigner
from hostd.auth import EnrolledClient, Role
from hostd.services.clients import Enrolled, PairingCode, PairingRefused
from hostd.services.readers import CardKind, ReaderHub
from hostd.services.signing import KeyNotProvisioned
from provisioning.ca import LocalCA, check_client_csr
from provisioning.clients import Client, ClientRegistry
from provisioning.errors import ProvisioningError, SlotEmptyError
from provisioning.signing import raw
from provisioning.slots import Slot, parse_slot
from provisioning.store import SlotStatus, Store

SIGNING_SLOTS = (Slot.ORG_SIGN, Slot.ORG_AUTH_CLI)


class RegistryClients:
    """``ClientDirectory`` + ``ClientAdmin`` over ``provisioning.clients.ClientRegistry``.

    ``lookup`` runs on every request (revocation must bite on the next one), so its answers
    are cached by fingerprint — but only for as long as ``provisioning.db`` is unchanged:
    ``PRAGMA data_version`` on a connection of our own changes whenever any other connection
    commits (the admin API's revoke in this process, ``comptoir provision`` in another), and
    the cache is then emptied before the lookup. No TTL: a revocation is seen on the very next
    request, as without the cache. Measured: the registry read through sqlite-utils was the
    largest piece of the per-request authentication cost.
    """

    _MAX_CACHED = 1024
    """Only certificates the box's CA issued pass the handshake, so entries are few; bounded
    all the same."""

    def __init__(self, registry: ClientRegistry, ca: LocalCA, db_path: Path) -> None:
        self._registry = registry
        self._ca = ca
        self._changes = sqlite3.connect(
            f"{db_path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False,
            isolation_level=None,
        )
        self._lock = threading.Lock()
        self._cache: dict[str, EnrolledClient | None] = {}
        self._version = -1

    def close(self) -> None:
        with self._lock:
            self._changes.close()

    def _current_version_locked(self) -> int:
        version = int(self._changes.execute("PRAGMA data_version").fetchone()[0])
        if version != self._version or len(self._cache) >= self._MAX_CACHED:
            self._cache.clear()
            self._version = version
        return version

    def lookup(self, fingerprint: str) -> EnrolledClient | None:
        with self._lock:
            version = self._current_version_locked()
            if fingerprint in self._cache:
                return self._cache[fingerprint]
        client = self._registry.by_fingerprint(fingerprint)
        found = (
            EnrolledClient(client.name, Role(client.role), client.fingerprint_sha256)
            if client is not None else None
        )
        with self._lock:
            # A commit between the version read and the registry read leaves the answer
            # filed under the old version, which the next lookup throws away.
            if self._version == version:
                self._cache[fingerprint] = found
        return found

    def _forget(self) -> None:
        with self._lock:
            self._cache.clear()
            self._version = -1

    def list_clients(self) -> list[Client]:
        return self._registry.list()

    def revoke(self, name: str) -> bool:
        active = [c for c in self._registry.list() if c.name == name and c.active]
        for client in active:
            self._registry.revoke(client.id)
        self._forget()  # data_version would tell the next lookup too; this does not wait
        return bool(active)

    def create_pairing_code(self, name: str, role: Role, ttl_s: int) -> PairingCode:
        try:
            code = self._registry.create_pairing_code(name, role.value, ttl_s)
        except ProvisioningError as exc:
            raise PairingRefused(str(exc)) from exc
        return PairingCode(name, role, code, ttl_s)

    def enrol(self, code: str, csr_pem: bytes) -> Enrolled:
        # Check the CSR before spending the code: a typo in the CSR must not burn it.
        try:
            check_client_csr(csr_pem)
        except ProvisioningError as exc:
            raise PairingRefused(f"csr_pem: {exc}") from exc
        try:
            grant = self._registry.redeem_pairing_code(code)
            cert_pem = self._ca.issue_client_certificate(csr_pem, grant.name, grant.role)
            self._registry.enrol(grant.name, grant.role, cert_pem)
        except ProvisioningError as exc:
            raise PairingRefused(str(exc)) from exc
        ca_pem = self._ca.ca_cert_pem.decode()
        return Enrolled(grant.name, Role(grant.role), cert_pem.decode(), ca_pem)


class StoreSigner:
    """``StoreSigning`` over the PKCS#11 store; one call at a time on the token."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._lock = threading.Lock()

    def _slot(self, key: str) -> Slot:
        try:
            slot = parse_slot(key)
        except ValueError as exc:
            raise KeyNotProvisioned(str(exc)) from exc
        if slot not in SIGNING_SLOTS:
            raise KeyNotProvisioned(f"key {key!r} does not sign for LAN clients")
        if self._store.certificate(slot) is None:
            raise KeyNotProvisioned(f"key {slot.value} has no certificate in the store")
        return slot

    def _locked(self, fn: Callable[[], bytes]) -> bytes:
        with self._lock:
            try:
                return fn()
            except SlotEmptyError as exc:
                raise KeyNotProvisioned(str(exc)) from exc

    def raw(self, key: str, *, data: bytes | None, digest: bytes | None) -> bytes:
        slot = self._slot(key)
        if digest is not None:
            return self._locked(lambda: raw.sign_digest(self._store, slot, digest))
        return self._locked(lambda: raw.sign(self._store, slot, data or b""))

    def cms(self, key: str, data: bytes) -> bytes:
        from provisioning.signing import cms

        slot = self._slot(key)
        return self._locked(lambda: cms.sign_detached(self._store, slot, data))

    def xmldsig(self, key: str, xml: bytes) -> bytes:
        from provisioning.signing import xmldsig

        slot = self._slot(key)
        return self._locked(lambda: xmldsig.sign_enveloped(self._store, slot, xml))

    def vihf(self, key: str, context: dict[str, Any]) -> bytes:
        from provisioning.signing import vihf

        slot = self._slot(key)
        ctx = vihf.VihfContext(**context)
        return self._locked(lambda: vihf.build_and_sign(self._store, slot, ctx))

    def certificate_pem(self, key: str) -> str:
        slot = self._slot(key)
        cert = self._store.certificate(slot)
        assert cert is not None
        return cert.public_bytes(serialization.Encoding.PEM).decode()

    def certificates(self) -> list[SlotStatus]:
        """The provisioned keys' certificates, for the status page's expiry table."""
        with self._lock:
            return [s for s in self._store.status() if s.has_key]

    def head_signer(self) -> HeadSigner | None:
        """Signs the audit head with ORG SIGN when one is provisioned (else no anchors)."""
        if self._store.certificate(Slot.ORG_SIGN) is None:
            return None

        def sign(data: bytes) -> tuple[bytes, bytes]:
            cert = self._store.certificate(Slot.ORG_SIGN)
            assert cert is not None
            signature = self._locked(lambda: raw.sign(self._store, Slot.ORG_SIGN, data))
            return signature, cert.public_bytes(serialization.Encoding.DER)

        return sign


class PcscWatcher:
    """Feeds a :class:`ReaderHub` from ``drivers.pcsc_watch`` (survives pcscd restarts)."""

    def __init__(self, hub: ReaderHub, poll_timeout: float = 0.5) -> None:
        self._hub = hub
        self._watcher = pcsc_watch.ReaderWatcher(self._on_event, poll_timeout=poll_timeout)

    def _on_event(self, event: pcsc_watch.WatchEvent) -> None:
        if isinstance(event, pcsc_watch.ReaderAdded):
            self._hub.on_reader_added(event.reader)
        elif isinstance(event, pcsc_watch.ReaderRemoved):
            self._hub.on_reader_removed(event.reader)
        elif isinstance(event, pcsc_watch.CardInserted):
            self._hub.on_card_inserted(event.reader, event.atr)
        elif isinstance(event, pcsc_watch.CardWithdrawn):
            self._hub.on_card_removed(event.reader)

    def start(self) -> None:
        self._watcher.start()

    def stop(self) -> None:
        self._watcher.stop()


def pcsc_connect(reader: str) -> CardConnection:
    return PcscConnection(reader, exclusive=True)


def card_application(kind: CardKind, transport: CardConnection) -> Any:
    if kind is CardKind.CPS:
        return CpsCard(transport)
    if kind is CardKind.VITALE:
        return VitaleCard(transport)
    raise ValueError(f"no driver for {kind.value} cards")
