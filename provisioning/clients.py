"""LAN clients: one-time pairing codes and the registry of enrolled client certificates.

A technician runs ``comptoir provision pair --name "Comptoir 2" --role counter`` on the box and
types the code on the counter PC, which sends it with its CSR; the daemon redeems the code,
has the local CA certify the CSR, and enrols the certificate. Codes are stored only as
SHA-256 hashes, expire, and are single use.
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509

from provisioning.ca import ROLES
from provisioning.certs import fingerprint
from provisioning.db import ProvisioningDb, iso
from provisioning.errors import PairingError, ProvisioningError
from provisioning.paths import StatePaths, write_file_atomic

# No 0/O, 1/I/L or U/V look-alikes to mistype at a counter: 29 symbols, 10 of them give
# 48 bits, far beyond what an online guesser gets in a 10-minute window.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTWXYZ"
CODE_LENGTH = 10
MAX_TTL_S = 24 * 3600
# Redeeming compares against this many recent codes at most (bounded work per attempt).
_RECENT_CODES = 500


def normalize_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch not in " -_\t")


def _hash(code: str) -> str:
    return hashlib.sha256(normalize_code(code).encode()).hexdigest()


def format_code(code: str) -> str:
    half = len(code) // 2
    return f"{code[:half]}-{code[half:]}"


@dataclass(frozen=True)
class PairingGrant:
    name: str
    role: str


@dataclass(frozen=True)
class Client:
    id: int
    name: str
    role: str
    fingerprint_sha256: str
    certificate_pem: str
    not_after: datetime
    enrolled_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Client:
        return cls(
            id=int(row["id"]),
            name=row["name"],
            role=row["role"],
            fingerprint_sha256=row["fingerprint_sha256"],
            certificate_pem=row["certificate_pem"],
            not_after=datetime.fromisoformat(row["not_after"]),
            enrolled_at=datetime.fromisoformat(row["enrolled_at"]),
            revoked_at=datetime.fromisoformat(row["revoked_at"]) if row["revoked_at"] else None,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role,
            "fingerprint_sha256": self.fingerprint_sha256,
            "not_after": iso(self.not_after),
            "enrolled_at": iso(self.enrolled_at),
            "revoked_at": iso(self.revoked_at) if self.revoked_at else None,
        }


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ProvisioningError(f"unknown role {role!r} (one of: {', '.join(ROLES)})")


def _check_name(name: str) -> None:
    if not name.strip() or len(name) > 64:
        raise ProvisioningError("client name must be 1 to 64 characters")


class ClientRegistry:
    """Thread-safe (one connection behind a lock); open one per process and reuse it."""

    def __init__(self, state_dir: Path, clock: Callable[[], datetime] | None = None) -> None:
        paths = StatePaths(Path(state_dir))
        if not paths.db.exists():
            raise ProvisioningError(
                f"{paths.root} is not provisioned: run `comptoir provision init`"
            )
        self._db = ProvisioningDb(paths)
        self._paths = paths
        self._clock = clock or (lambda: datetime.now(UTC))

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> ClientRegistry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def create_pairing_code(self, name: str, role: str, ttl_s: int = 600) -> str:
        """Returns the code (shown once, formatted ``XXXXX-XXXXX``); only its hash is kept."""
        _check_name(name)
        _check_role(role)
        if not 1 <= ttl_s <= MAX_TTL_S:
            raise ProvisioningError(f"pairing code lifetime must be 1 to {MAX_TTL_S} seconds")
        code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
        now = self._clock()
        with self._db.transaction() as db:
            db.execute(
                "INSERT INTO pairing_codes (code_hash, name, role, created_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (_hash(code), name, role, iso(now), iso(now + timedelta(seconds=ttl_s))),
            )
        self._db.event(None, "pairing.create", f"{name} ({role}), {ttl_s} s")
        self._open_enrolment_window(now + timedelta(seconds=ttl_s))
        return format_code(code)

    def _open_enrolment_window(self, until: datetime) -> None:
        """Records that the enrolment port must stay open until ``until`` (the latest expiry
        of the codes made: any live code must be usable). Whoever made the code, the CLI on
        the console or the daemon for the admin API, the box's firewall follows this file."""
        path = self._paths.enrolment_window
        try:
            current = int(path.read_text().strip())
        except (OSError, ValueError):
            current = 0
        epoch = max(current, math.ceil(until.timestamp()))
        write_file_atomic(path, f"{epoch}\n".encode(), 0o644)

    def redeem_pairing_code(self, code: str) -> PairingGrant:
        wanted = _hash(code)
        now = self._clock()
        with self._db.transaction() as db:
            rows = list(
                db.execute(
                    "SELECT code_hash, name, role, expires_at, used_at FROM pairing_codes"
                    " ORDER BY created_at DESC LIMIT ?",
                    (_RECENT_CODES,),
                ).fetchall()
            )
            match = None
            for row in rows:
                # Compare every candidate in constant time; never stop early on a hit.
                if hmac.compare_digest(row[0], wanted):
                    match = row
            if match is None:
                raise PairingError("unknown pairing code")
            if match[4] is not None:
                raise PairingError("pairing code already used")
            if datetime.fromisoformat(match[3]) <= now:
                raise PairingError("pairing code expired: ask the technician for a new one")
            db.execute(
                "UPDATE pairing_codes SET used_at = ? WHERE code_hash = ?", (iso(now), match[0])
            )
        self._db.event(None, "pairing.redeem", f"{match[1]} ({match[2]})")
        return PairingGrant(name=match[1], role=match[2])

    def enrol(self, name: str, role: str, cert_pem: bytes | str) -> Client:
        _check_name(name)
        _check_role(role)
        raw = cert_pem.encode() if isinstance(cert_pem, str) else cert_pem
        try:
            cert = x509.load_pem_x509_certificate(raw)
        except ValueError:
            raise ProvisioningError("not a PEM certificate") from None
        fp = fingerprint(cert)
        with self._db.transaction() as db:
            if db.execute("SELECT 1 FROM clients WHERE fingerprint_sha256 = ?", (fp,)).fetchone():
                raise ProvisioningError("this certificate is already enrolled")
            cur = db.execute(
                "INSERT INTO clients (name, role, fingerprint_sha256, certificate_pem, not_after,"
                " enrolled_at) VALUES (?, ?, ?, ?, ?, ?)",
                (name, role, fp, raw.decode(), iso(cert.not_valid_after_utc), iso(self._clock())),
            )
            client_id = cur.lastrowid
        self._db.event(None, "client.enrol", f"#{client_id} {name} ({role}) {fp[:16]}")
        found = self.get(int(client_id or 0))
        assert found is not None
        return found

    def get(self, client_id: int) -> Client | None:
        rows = self._db.rows("SELECT * FROM clients WHERE id = ?", (client_id,))
        return Client.from_row(rows[0]) if rows else None

    def by_fingerprint(self, sha256_hex: str) -> Client | None:
        """The enrolled, not revoked client with this certificate; None otherwise."""
        rows = self._db.rows(
            "SELECT * FROM clients WHERE fingerprint_sha256 = ? AND revoked_at IS NULL",
            (sha256_hex.lower().replace(":", ""),),
        )
        return Client.from_row(rows[0]) if rows else None

    def list(self) -> list[Client]:
        return [Client.from_row(r) for r in self._db.rows("SELECT * FROM clients ORDER BY id")]

    def revoke(self, client_id: int) -> Client:
        with self._db.transaction() as db:
            row = db.execute("SELECT revoked_at FROM clients WHERE id = ?", (client_id,)).fetchone()
            if row is None:
                raise ProvisioningError(f"no client #{client_id}")
            if row[0] is None:
                db.execute(
                    "UPDATE clients SET revoked_at = ? WHERE id = ?",
                    (iso(self._clock()), client_id),
                )
        self._db.event(None, "client.revoke", f"#{client_id}")
        found = self.get(client_id)
        assert found is not None
        return found

    def revoke_named(self, name: str) -> builtins.list[Client]:
        """Revokes every active client called ``name`` (the API revokes by name too)."""
        active = [c for c in self.list() if c.name == name and c.active]
        if not active:
            raise ProvisioningError(f"no active client named {name!r} (see `clients`)")
        return [self.revoke(c.id) for c in active]
