"""``provisioning.db``: slots, certificates, pairing codes, enrolled clients, key events.

WAL so the daemon reads while the technician writes; synchronous FULL because a lost import
or revocation after a power cut is worse than a slow write (a box has no UPS).
"""

from __future__ import annotations

import sqlite3
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

if "numpy" in sys.modules:
    import sqlite_utils
else:
    # sqlite-utils imports numpy whenever it is installed (it is, for the camera decoder), only
    # to map numpy scalars to column types; nothing here stores one. That import costs the daemon
    # about 15 MB of resident memory and 70 ms of start for nothing, so it is hidden for this one
    # import (a None entry makes ``import numpy`` fail, which sqlite-utils expects); the camera
    # code still imports numpy normally when a camera is configured.
    sys.modules["numpy"] = None  # type: ignore[assignment]
    try:
        import sqlite_utils
    finally:
        del sys.modules["numpy"]

from provisioning.paths import StatePaths

SCHEMA = """
CREATE TABLE IF NOT EXISTS slots (
  slot TEXT PRIMARY KEY,
  active_key_id TEXT,
  key_created_at TEXT,
  pending_key_id TEXT,
  pending_created_at TEXT,
  certificate_pem TEXT,
  chain_pem TEXT,
  imported_at TEXT,
  csr_subject TEXT
);
CREATE TABLE IF NOT EXISTS pairing_codes (
  code_hash TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  role TEXT NOT NULL,
  created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  used_at TEXT
);
CREATE TABLE IF NOT EXISTS clients (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  role TEXT NOT NULL,
  fingerprint_sha256 TEXT NOT NULL UNIQUE,
  certificate_pem TEXT NOT NULL,
  not_after TEXT NOT NULL,
  enrolled_at TEXT NOT NULL,
  revoked_at TEXT
);
CREATE TABLE IF NOT EXISTS key_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL,
  slot TEXT,
  event TEXT NOT NULL,
  detail TEXT
);
"""


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds")


class ProvisioningDb:
    """A connection shared across threads behind one lock (sqlite3 objects are not thread-safe)."""

    def __init__(self, paths: StatePaths) -> None:
        conn = sqlite3.connect(
            paths.db, check_same_thread=False, timeout=10.0, isolation_level=None
        )
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.executescript(SCHEMA)
        self._conn = conn
        self.db = sqlite_utils.Database(conn)
        self.lock = threading.RLock()

    @contextmanager
    def transaction(self) -> Iterator[sqlite_utils.Database]:
        with self.lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                # On SQLITE_FULL and some I/O errors SQLite has already rolled back; a second
                # ROLLBACK would raise and hide the real error ("database or disk is full").
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(r) for r in self.db.query(sql, params)]

    def event(self, slot: str | None, event: str, detail: str = "") -> None:
        with self.lock:
            self._conn.execute(
                "INSERT INTO key_events (at, slot, event, detail) VALUES (?, ?, ?, ?)",
                (iso(utcnow()), slot, event, detail),
            )

    def close(self) -> None:
        with self.lock:
            self._conn.close()
