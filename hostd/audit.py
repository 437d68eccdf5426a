"""Hash-chained, append-only audit log of every card and key operation.

Each row carries the SHA-256 of its own content and of the previous row, so altering a row
breaks its hash, removing one breaks the id sequence and the next row's link, and reordering
breaks both. Deleting the newest rows is caught against the daily signed head anchors. The
append returns only after the fsynced commit (see ``hostd.db``): an operation is acknowledged
to its caller after its audit row is durable, never before.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from hostd import db

GENESIS = "0" * 64
_FORBIDDEN_DETAIL_KEYS = frozenset({"pin", "puk", "password", "secret"})


class AuditUnavailable(db.DatabaseError):
    """An audit row could not be made durable (disk full, I/O error): the operation it records
    must not be acknowledged, so callers see this instead of a success."""


HeadSigner = Callable[[bytes], tuple[bytes, bytes]]
"""Signs the head hash bytes; returns (signature RSA-PKCS1v15-SHA256, signer certificate DER)."""


@dataclass(frozen=True)
class AuditRecord:
    id: int
    ts: str
    client: str
    operator: str
    action: str
    target: str
    outcome: str
    detail: dict[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class Verification:
    ok: bool
    rows: int
    first_bad_id: int | None = None
    reason: str = ""

    def line(self) -> str:
        if self.ok:
            return f"audit log OK: {self.rows} rows, chain and anchors intact"
        return f"audit log BROKEN at row {self.first_bad_id}: {self.reason}"


def _row_hash(
    id_: int,
    ts: str,
    client: str,
    operator: str,
    action: str,
    target: str,
    outcome: str,
    detail: str,
    prev_hash: str,
) -> str:
    canonical = json.dumps(
        [id_, ts, client, operator, action, target, outcome, detail, prev_hash],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


class AuditLog:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._lock = threading.Lock()

    @classmethod
    def open(cls, state_dir: Path) -> AuditLog:
        return cls(db.connect(state_dir / db.DB_NAME))

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def append(
        self,
        *,
        client: str,
        operator: str,
        action: str,
        target: str,
        outcome: str,
        detail: dict[str, Any] | None = None,
    ) -> AuditRecord:
        detail = dict(detail or {})
        bad = _FORBIDDEN_DETAIL_KEYS & {k.lower() for k in detail}
        if bad:
            raise ValueError(f"secrets never go to the audit log: {sorted(bad)}")
        detail_json = json.dumps(detail, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        ts = datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                last = self._conn.execute(
                    "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1"
                ).fetchone()
                id_, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
                digest = _row_hash(
                    id_, ts, client, operator, action, target, outcome, detail_json, prev
                )
                self._conn.execute(
                    "INSERT INTO audit VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (id_, ts, client, operator, action, target, outcome, detail_json, prev, digest),
                )
                self._conn.execute("COMMIT")
            except BaseException as exc:
                # SQLite may already have rolled back (SQLITE_FULL does): a second ROLLBACK
                # would hide "disk full" behind "no transaction is active".
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise AuditUnavailable(f"audit log cannot be written: {exc}") from exc
                raise
        return AuditRecord(id_, ts, client, operator, action, target, outcome, detail, prev, digest)

    def records(self, *, after_id: int = 0, limit: int | None = None) -> Iterator[AuditRecord]:
        query = "SELECT * FROM audit WHERE id > ? ORDER BY id"
        params: tuple[int, ...] = (after_id,)
        if limit is not None:
            query += " LIMIT ?"
            params = (after_id, limit)
        with self._lock:
            rows = self._conn.execute(query, params).fetchall()
        for row in rows:
            yield AuditRecord(
                id=row[0],
                ts=row[1],
                client=row[2],
                operator=row[3],
                action=row[4],
                target=row[5],
                outcome=row[6],
                detail=json.loads(row[7]),
                prev_hash=row[8],
                hash=row[9],
            )

    def head(self) -> tuple[int, str]:
        with self._lock:
            last = self._conn.execute(
                "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1"
            ).fetchone()
        return (int(last[0]), str(last[1])) if last else (0, GENESIS)

    def count(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT count(*) FROM audit").fetchone()[0])

    def export(self, out: TextIO) -> int:
        n = 0
        for record in self.records():
            out.write(json.dumps(asdict(record), ensure_ascii=False, sort_keys=True) + "\n")
            n += 1
        return n

    # -- anchors ----------------------------------------------------------------------------

    def anchor_head(self, signer: HeadSigner, *, day: str | None = None) -> bool:
        """Signs today's head once; returns False when today is already anchored."""
        day = day or datetime.now(UTC).date().isoformat()
        with self._lock:
            if self._conn.execute("SELECT 1 FROM audit_anchor WHERE day=?", (day,)).fetchone():
                return False
        head_id, head_hash = self.head()
        signature, certificate = signer(bytes.fromhex(head_hash))
        with self._lock:
            cur = self._conn.execute(
                "INSERT OR IGNORE INTO audit_anchor VALUES (?,?,?,?,?,?)",
                (day, head_id, head_hash, "rsa-pkcs1v15-sha256", signature, certificate),
            )
        return cur.rowcount == 1

    # -- verification -----------------------------------------------------------------------

    def verify(self) -> Verification:
        with self._lock:
            rows = self._conn.execute("SELECT * FROM audit ORDER BY rowid").fetchall()
            anchors = self._conn.execute(
                "SELECT day, head_id, head_hash, signature, certificate FROM audit_anchor"
            ).fetchall()
        prev, expected_id = GENESIS, 1
        hashes_by_id: dict[int, str] = {}
        for row in rows:
            id_ = int(row[0])
            if id_ != expected_id:
                return Verification(
                    False,
                    len(rows),
                    expected_id,
                    f"row {expected_id} missing or out of order (found {id_})",
                )
            if row[8] != prev:
                return Verification(False, len(rows), id_, "link to the previous row broken")
            if _row_hash(*row[:9]) != row[9]:
                return Verification(False, len(rows), id_, "content does not match its hash")
            prev = row[9]
            hashes_by_id[id_] = row[9]
            expected_id += 1
        for day, head_id, head_hash, signature, certificate in anchors:
            if head_id and hashes_by_id.get(int(head_id)) != head_hash:
                return Verification(
                    False,
                    len(rows),
                    int(head_id),
                    f"row missing or changed since the anchor signed on {day}",
                )
            if not _signature_ok(bytes(certificate), bytes(signature), bytes.fromhex(head_hash)):
                return Verification(False, len(rows), int(head_id), f"anchor of {day} badly signed")
        return Verification(True, len(rows))


def _signature_ok(certificate_der: bytes, signature: bytes, data: bytes) -> bool:
    try:
        key = x509.load_der_x509_certificate(certificate_der).public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            return False
        key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True
