"""The box's key store: named slots, keys inside the PKCS#11 token, certificates and chains.

One ``Store`` per process and state directory; it is safe to share between threads (the token
and the database each sit behind their own lock). Slot state is read from the database on each
call so a technician's import in another process is seen by the running daemon at once.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from pkcs11 import Mechanism

from provisioning import certs
from provisioning.certs import ChainResult, ChainState
from provisioning.db import ProvisioningDb, iso
from provisioning.errors import CertificateError, KeyMismatchError, SlotEmptyError, StoreError
from provisioning.paths import StatePaths, write_public_file
from provisioning.slots import SPECS, Slot
from provisioning.token import TokenHandle, TokenObject, close_token, open_token
from provisioning.tokenkey import HASH_MECHANISMS, TokenRSAKey, digest_info

# Called for every private-key operation with (event, details); the daemon plugs its audit
# log in here. Details never hold key material, PINs or the signed data itself.
AuditHook = Callable[[str, dict[str, Any]], None]
Clock = Callable[[], datetime]

PACKAGED_TRUST_DIR = Path(__file__).parent / "trust"


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class SlotStatus:
    slot: Slot
    title: str
    has_key: bool
    renewal_pending: bool
    subject: str | None = None
    issuer: str | None = None
    serial: str | None = None
    not_before: datetime | None = None
    not_after: datetime | None = None
    days_left: int | None = None
    chain_state: ChainState = ChainState.NO_CERTIFICATE
    chain_detail: str = ""
    warnings: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["slot"] = self.slot.value
        out["chain_state"] = self.chain_state.value
        out["warnings"] = list(self.warnings)
        for k in ("not_before", "not_after"):
            value = getattr(self, k)
            out[k] = iso(value) if value else None
        return out


class Store:
    """Slots over the token. Build with :meth:`open`; always :meth:`close` (or use ``with``)."""

    def __init__(
        self,
        paths: StatePaths,
        token: TokenHandle,
        db: ProvisioningDb,
        clock: Clock,
        audit: AuditHook | None,
    ) -> None:
        self.paths = paths
        self._token = token
        self._db = db
        self._clock = clock
        self._audit = audit
        self._closed = False

    @classmethod
    def open(
        cls, state_dir: Path, clock: Clock | None = None, audit: AuditHook | None = None
    ) -> Store:
        paths = StatePaths(Path(state_dir))
        if not paths.db.exists():
            raise StoreError(f"{paths.root} is not provisioned: run `comptoir provision init`")
        token = open_token(paths)
        try:
            db = ProvisioningDb(paths)
        except Exception as exc:
            close_token(token)
            raise StoreError(f"cannot open {paths.db}: {exc}") from exc
        return cls(paths, token, db, clock or system_clock, audit)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._db.close()
            close_token(self._token)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def token(self) -> TokenHandle:
        return self._token

    @property
    def db(self) -> ProvisioningDb:
        return self._db

    def now(self) -> datetime:
        return self._clock()

    # -- slot rows ---------------------------------------------------------------------------

    def _row(self, slot: Slot) -> dict[str, Any]:
        rows = self._db.rows("SELECT * FROM slots WHERE slot = ?", (slot.value,))
        return rows[0] if rows else {"slot": slot.value}

    def _save(self, slot: Slot, event: tuple[str, str] | None = None, **values: Any) -> None:
        """Update the slot row and record ``event`` (name, detail) in one transaction, so a
        failed write (disk full) leaves neither a change without its audit entry nor the
        reverse."""
        with self._db.transaction() as db:
            db.execute("INSERT OR IGNORE INTO slots (slot) VALUES (?)", (slot.value,))
            for key, value in values.items():
                db.execute(
                    f"UPDATE slots SET {key} = ? WHERE slot = ?",  # noqa: S608 - keys are ours
                    (value, slot.value),
                )
            if event is not None:
                self._db.event(slot.value, *event)

    def _save_new_key(self, slot: Slot, key_id: str, event: tuple[str, str], **values: Any) -> None:
        """Record a key just generated in the token; if the database refuses (disk full,
        read-only), destroy the key so the token keeps no orphan the database never knew."""
        try:
            self._save(slot, event, **values)
        except BaseException:
            self._token.destroy_key(bytes.fromhex(key_id))
            raise

    def _active_key_id(self, slot: Slot) -> bytes:
        key_id = self._row(slot).get("active_key_id")
        if not key_id:
            raise SlotEmptyError(
                f"slot {slot.value} has no key: run `comptoir provision keygen {slot.value}`"
            )
        return bytes.fromhex(key_id)

    def key_id(self, slot: Slot) -> bytes:
        """The token object id (CKA_ID) of the slot's active key, for PKCS#11 URIs: a process
        outside the daemon (the TLS tunnel) reaches the key by it, never by its value."""
        return self._active_key_id(slot)

    # -- keys ----------------------------------------------------------------------------------

    def _new_key(self, slot: Slot) -> tuple[str, rsa.RSAPublicKey]:
        key_id = secrets.token_bytes(16)
        label = f"comptoir/{slot.value}/{self.now():%Y%m%dT%H%M%S}"
        pub = self._token.generate_rsa(key_id, label, decrypt=SPECS[slot].decrypt)
        return key_id.hex(), pub

    def keygen(self, slot: Slot) -> rsa.RSAPublicKey:
        """First key of an empty slot. A slot with a key is renewed, never overwritten."""
        if self._row(slot).get("active_key_id"):
            raise StoreError(f"slot {slot.value} already has a key: use `renew {slot.value}`")
        key_id, pub = self._new_key(slot)
        self._save_new_key(
            slot,
            key_id,
            ("keygen", f"key {key_id}"),
            active_key_id=key_id,
            key_created_at=iso(self.now()),
            certificate_pem=None,
            chain_pem=None,
            imported_at=None,
        )
        return pub

    def renew(self, slot: Slot) -> rsa.RSAPublicKey:
        """A new pending key; the active key keeps signing until the new certificate arrives."""
        row = self._row(slot)
        if not row.get("active_key_id"):
            raise SlotEmptyError(f"slot {slot.value} has no key to renew: use `keygen`")
        key_id, pub = self._new_key(slot)
        self._save_new_key(
            slot,
            key_id,
            ("renew", f"pending key {key_id}"),
            pending_key_id=key_id,
            pending_created_at=iso(self.now()),
        )
        # The replaced pending key goes only once the database points at the new one.
        if row.get("pending_key_id"):
            self._token.destroy_key(bytes.fromhex(row["pending_key_id"]))
        return pub

    def public_key(self, slot: Slot, pending: bool = False) -> rsa.RSAPublicKey:
        row = self._row(slot)
        key_id = row.get("pending_key_id" if pending else "active_key_id")
        if not key_id:
            raise SlotEmptyError(f"slot {slot.value} has no {'pending ' if pending else ''}key")
        return self._token.public_key(bytes.fromhex(key_id))

    def public_key_or_none(self, slot: Slot) -> rsa.RSAPublicKey | None:
        return self.public_key(slot) if self._row(slot).get("active_key_id") else None

    def private_key(self, slot: Slot, pending: bool = False) -> TokenRSAKey:
        """A cryptography key object for builders (CSR, certificates) and signxml."""
        row = self._row(slot)
        column = "pending_key_id" if pending else "active_key_id"
        if not row.get(column):
            raise SlotEmptyError(f"slot {slot.value} has no {'pending ' if pending else ''}key")
        key_id = bytes.fromhex(row[column])
        pub = self._token.public_key(key_id)

        def sign(data: bytes, hash_alg: str, prehashed: bool) -> bytes:
            return self._sign_with(slot, key_id, data, hash_alg, prehashed)

        return TokenRSAKey(pub, sign)

    def remember_csr_subject(self, slot: Slot, subject_json: str) -> None:
        self._save(slot, csr_subject=subject_json)

    def csr_subject(self, slot: Slot) -> str | None:
        value = self._row(slot).get("csr_subject")
        return str(value) if value else None

    def has_pending(self, slot: Slot) -> bool:
        return bool(self._row(slot).get("pending_key_id"))

    # -- signing -------------------------------------------------------------------------------

    def _sign_with(
        self, slot: Slot, key_id: bytes, data: bytes, hash_alg: str, prehashed: bool
    ) -> bytes:
        if prehashed:
            sig = self._token.sign(key_id, digest_info(data, hash_alg), Mechanism.RSA_PKCS)
            digest = data
        else:
            mech = HASH_MECHANISMS.get(hash_alg)
            if mech is None:
                raise StoreError(f"unsupported hash algorithm {hash_alg!r}")
            sig = self._token.sign(key_id, data, mech)
            digest = hashlib.new(hash_alg, data).digest()
        if self._audit is not None:
            self._audit(
                "key.sign",
                {
                    "slot": slot.value,
                    "hash": hash_alg,
                    "digest": digest.hex(),
                    "key_id": key_id.hex(),
                },
            )
        return sig

    def sign_digest(self, slot: Slot, digest: bytes, hash_alg: str = "sha256") -> bytes:
        """RSA PKCS#1 v1.5 over a digest computed by the caller (DigestInfo added here)."""
        return self._sign_with(slot, self._active_key_id(slot), digest, hash_alg, True)

    def sign(self, slot: Slot, data: bytes, hash_alg: str = "sha256") -> bytes:
        return self._sign_with(slot, self._active_key_id(slot), data, hash_alg, False)

    # -- certificates --------------------------------------------------------------------------

    def certificate(self, slot: Slot) -> x509.Certificate | None:
        pem = self._row(slot).get("certificate_pem")
        return x509.load_pem_x509_certificate(pem.encode()) if pem else None

    def chain(self, slot: Slot) -> list[x509.Certificate]:
        """Intermediates stored with the slot's certificate (not the root)."""
        pem = self._row(slot).get("chain_pem")
        return certs.load_certificates(pem.encode()) if pem else []

    def trust_roots(self) -> list[x509.Certificate]:
        return certs.load_trust_store([PACKAGED_TRUST_DIR, self.paths.trust_dir])

    def add_trust_anchor(self, data: bytes) -> list[x509.Certificate]:
        added = certs.load_certificates(data)
        for cert in added:
            target = self.paths.trust_dir / f"{certs.fingerprint(cert)[:16]}.pem"
            write_public_file(target, certs.to_pem([cert]).encode())
        self._db.event(None, "trust.add", ", ".join(c.subject.rfc4514_string() for c in added))
        return added

    def check_chain(self, slot: Slot, now: datetime | None = None) -> ChainResult:
        cert = self.certificate(slot)
        if cert is None:
            return ChainResult(ChainState.NO_CERTIFICATE, "no certificate imported")
        when = now or self.now()
        if not SPECS[slot].igc_sante:
            result = certs.validate_chain(cert, [], [cert], when)
            if result.state is ChainState.VALID:
                return ChainResult(ChainState.LOCAL, "self-signed local CA", result.path)
            return result
        return certs.validate_chain(cert, self.chain(slot), self.trust_roots(), when)

    def import_certificate(
        self, slot: Slot, data: bytes, password: bytes | None = None
    ) -> SlotStatus:
        """PEM/DER (the slot must hold the matching key) or PKCS#12 (key goes into the token).

        The certificate must be valid now and chain to the trust store; nothing is stored
        otherwise. Importing for a pending renewal key promotes it and destroys the old key.
        """
        if certs.is_pkcs12(data):
            if password is None:
                raise CertificateError("a PKCS#12 file needs its password")
            return self._import_pkcs12(slot, data, password)
        found = certs.load_certificates(data)
        leaf, extra = found[0], found[1:]
        self._check_new_certificate(slot, leaf, extra)
        row = self._row(slot)
        for column in ("pending_key_id", "active_key_id"):
            key_id = row.get(column)
            if not key_id:
                continue
            if certs.public_keys_match(leaf, self._token.public_key(bytes.fromhex(key_id))):
                self._install(slot, leaf, extra, key_id, row)
                return self.slot_status(slot)
        if not row.get("active_key_id"):
            raise SlotEmptyError(
                f"slot {slot.value} has no key: generate one and send its CSR first"
            )
        raise KeyMismatchError(
            f"the certificate's public key does not match the key of slot {slot.value}"
        )

    def _check_new_certificate(
        self, slot: Slot, leaf: x509.Certificate, extra: list[x509.Certificate]
    ) -> None:
        if not SPECS[slot].igc_sante:
            raise CertificateError(f"slot {slot.value} is managed by the box itself")
        certs.require_valid_chain(
            certs.validate_chain(leaf, extra + self.chain(slot), self.trust_roots(), self.now())
        )

    def _import_pkcs12(self, slot: Slot, data: bytes, password: bytes) -> SlotStatus:
        content = certs.load_pkcs12(data, password)
        if not certs.public_keys_match(content.certificate, content.key.public_key()):
            raise KeyMismatchError("the PKCS#12 certificate does not match its own key")
        self._check_new_certificate(slot, content.certificate, list(content.chain))
        key_id = secrets.token_bytes(16)
        self._token.import_rsa(key_id, f"comptoir/{slot.value}/imported", content.key)
        leaf, chain = content.certificate, list(content.chain)
        # Drop our reference to the software key at once; the token holds the only copy we keep.
        del content
        self._install(slot, leaf, chain, key_id.hex(), self._row(slot), imported=True)
        return self.slot_status(slot)

    def _install(
        self,
        slot: Slot,
        leaf: x509.Certificate,
        extra: list[x509.Certificate],
        key_id: str,
        row: dict[str, Any],
        imported: bool = False,
    ) -> None:
        roots = {certs.fingerprint(r) for r in self.trust_roots()}
        chain = [c for c in extra if certs.fingerprint(c) not in roots]
        old = [
            k for k in (row.get("active_key_id"), row.get("pending_key_id")) if k and k != key_id
        ]
        detail = f"serial {leaf.serial_number:x} key {key_id}"
        event = ("import", detail + (" (from PKCS#12)" if imported else ""))
        values: dict[str, Any] = dict(
            active_key_id=key_id,
            pending_key_id=None,
            pending_created_at=None,
            certificate_pem=certs.to_pem([leaf]),
            chain_pem=certs.to_pem(chain) or None,
            imported_at=iso(self.now()),
            key_created_at=iso(self.now()) if imported else row.get("key_created_at"),
        )
        if imported:
            # A key just put on the token: gone again if the database cannot record it.
            self._save_new_key(slot, key_id, event, **values)
        else:
            self._save(slot, event, **values)
        # Old keys go only after the database points at the new one: a crash in between
        # leaves an orphan key on the token, never a slot without its key.
        for stale in old:
            self._token.destroy_key(bytes.fromhex(stale))

    def set_local_certificate(self, slot: Slot, cert: x509.Certificate) -> None:
        """For the box's own CA slot: the self-signed certificate made by :mod:`ca`."""
        if SPECS[slot].igc_sante:
            raise CertificateError(f"slot {slot.value} takes IGC-Santé certificates only")
        if not certs.public_keys_match(cert, self.public_key(slot)):
            raise KeyMismatchError(f"certificate does not match the key of slot {slot.value}")
        self._save(
            slot, certificate_pem=certs.to_pem([cert]), chain_pem=None, imported_at=iso(self.now())
        )

    # -- status and destruction -----------------------------------------------------------------

    def slot_status(self, slot: Slot, now: datetime | None = None) -> SlotStatus:
        when = now or self.now()
        row = self._row(slot)
        spec = SPECS[slot]
        cert = self.certificate(slot)
        has_key = bool(row.get("active_key_id"))
        pending = bool(row.get("pending_key_id"))
        if cert is None:
            return SlotStatus(slot, spec.title, has_key, pending)
        chain = self.check_chain(slot, when)
        warnings = certs.expiry_warnings(cert, when)
        if chain.state not in (ChainState.VALID, ChainState.LOCAL, ChainState.EXPIRED):
            warnings.append(f"chain {chain.state.value}: {chain.detail}")
        return SlotStatus(
            slot,
            spec.title,
            has_key,
            pending,
            subject=cert.subject.rfc4514_string(),
            issuer=cert.issuer.rfc4514_string(),
            serial=f"{cert.serial_number:x}",
            not_before=cert.not_valid_before_utc,
            not_after=cert.not_valid_after_utc,
            days_left=certs.days_left(cert, when),
            chain_state=chain.state,
            chain_detail=chain.detail,
            warnings=tuple(warnings),
        )

    def status(self, now: datetime | None = None) -> list[SlotStatus]:
        return [self.slot_status(slot, now) for slot in Slot]

    def token_objects(self) -> list[TokenObject]:
        return self._token.objects()

    def zeroize(self) -> int:
        """Destroys every object on the token, the TLS server key file, and forgets every
        slot; returns the number of token objects destroyed."""
        count = self._token.destroy_all()
        with self._db.transaction() as db:
            db.execute("DELETE FROM slots")
        server_key = self.paths.tls_dir / "server.key"
        if server_key.exists():
            # Overwrite before unlinking: on ext4 without journaled data this is best effort,
            # which is why a box keeps this key in the token when it can (see docs).
            size = server_key.stat().st_size
            with server_key.open("r+b") as f:
                f.write(b"\0" * size)
                f.flush()
                os.fsync(f.fileno())
            server_key.unlink()
        self._db.event(None, "zeroize", f"{count} token objects destroyed")
        return count
