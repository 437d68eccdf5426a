"""The daemon's own SQLite database (``STATE/audit.db``): schema, migrations, durability.

WAL with ``synchronous=FULL``: every commit is fsynced before it returns, so a row the daemon
acknowledged survives a power cut or a kill -9 (WAL+NORMAL may lose the last commits on power
loss; the audit log promises more). Migrations are ordered SQL scripts keyed by
``PRAGMA user_version`` so an old box upgrades in place.
"""

from __future__ import annotations

import os
import sqlite3
import struct
from pathlib import Path

DB_NAME = "audit.db"

_MIGRATIONS: tuple[str, ...] = (
    # 1: the hash-chained audit log, append-only by trigger.
    """
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        ts TEXT NOT NULL,
        client TEXT NOT NULL,
        operator TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL,
        outcome TEXT NOT NULL,
        detail TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    );
    CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
    CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
    """,
    # 2: daily signed anchors of the chain head (ORG SIGN key when provisioned).
    """
    CREATE TABLE audit_anchor (
        day TEXT PRIMARY KEY,
        head_id INTEGER NOT NULL,
        head_hash TEXT NOT NULL,
        algorithm TEXT NOT NULL,
        signature BLOB NOT NULL,
        certificate BLOB NOT NULL
    );
    """,
)

SCHEMA_VERSION = len(_MIGRATIONS)


class DatabaseError(Exception):
    """The state database cannot be opened or is newer than this software."""


_WAL_MAGIC = (0x377F0682, 0x377F0683)


def check_wal(path: Path) -> None:
    """Refuses a write-ahead log that is not one (issue 11): SQLite silently ignores a WAL
    whose header is garbage, and with it every commit not yet checkpointed — acknowledged
    audit rows would vanish without a word. A torn *frame* at the end is normal crash recovery
    (the commit was never acknowledged); a torn *header* is not."""
    wal = path.with_name(path.name + "-wal")
    try:
        header = wal.read_bytes()[:32]
    except FileNotFoundError:
        return
    except OSError as exc:
        raise DatabaseError(f"{wal}: cannot read: {exc.strerror}") from exc
    if not header:
        return
    if len(header) < 32:
        raise DatabaseError(f"{wal}: truncated write-ahead log header ({len(header)} bytes)")
    words = struct.unpack(">8I", header)
    if words[0] not in _WAL_MAGIC or words[1] != 3007000:
        raise DatabaseError(f"{wal}: not a SQLite write-ahead log (bad magic or version)")
    order = ">" if words[0] & 1 else "<"
    s0 = s1 = 0
    for i in range(0, 24, 8):
        x0, x1 = struct.unpack(order + "2I", header[i:i + 8])
        s0 = (s0 + x0 + s1) & 0xFFFFFFFF
        s1 = (s1 + x1 + s0) & 0xFFFFFFFF
    if (s0, s1) != (words[6], words[7]):
        raise DatabaseError(f"{wal}: write-ahead log header checksum mismatch (damaged)")


_WAL_HEADER = 32
_WAL_FRAME_HEADER = 24


def presize_wal(conn: sqlite3.Connection) -> int:
    """Grows the database's write-ahead log, once, to the size it reaches anyway before its
    first checkpoint (``wal_autocheckpoint`` frames), with real zeros: from then on a commit
    overwrites blocks the file already has, and its fsync is a data flush, where an append
    makes ext4 also flush the file's new size and extents (a durable row p50 0.71 ms against
    0.99 ms: ``bench/audit_commit.py``). Without it every daemon start paid the appending
    fsync for its first few hundred operations, since SQLite deletes the log at a clean close.

    Safe for recovery: the zeros come after the last frame, and SQLite's recovery stops at the
    first frame whose salt and checksum do not match, as it does over the stale frames a reused
    log always holds. Done under the write lock (``BEGIN IMMEDIATE``) so no other process (a
    ``comptoir provision`` command) appends a frame meanwhile, and only behind a valid header
    (:func:`check_wal` refuses a log whose header is zeros). On a full disk the file is cut
    back to its size: the space is the audit's. Returns the bytes added."""
    path = next((Path(row[2]) for row in conn.execute("PRAGMA database_list")
                 if row[1] == "main" and row[2]), None)
    if path is None:
        return 0
    wal = path.with_name(path.name + "-wal")
    frames = int(conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0])
    page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
    target = _WAL_HEADER + frames * (page_size + _WAL_FRAME_HEADER)
    conn.execute("BEGIN IMMEDIATE")
    try:
        try:
            size = wal.stat().st_size
        except FileNotFoundError:
            return 0
        if size < _WAL_HEADER or size >= target:
            return 0
        with wal.open("r+b") as f:
            f.seek(size)
            try:
                zeros = bytes(64 * 1024)
                for offset in range(size, target, len(zeros)):
                    f.write(zeros[: min(len(zeros), target - offset)])
                f.flush()
                os.fdatasync(f.fileno())
            except OSError:
                f.truncate(size)
                return 0
        return target - size
    finally:
        conn.execute("ROLLBACK")


def connect(path: Path) -> sqlite3.Connection:
    """Opens (creating and migrating if needed) the database with the durability settings."""
    check_wal(path)
    try:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        migrate(conn)
    except sqlite3.Error as exc:
        raise DatabaseError(f"cannot open {path}: {exc}") from exc
    return conn


def migrate(conn: sqlite3.Connection) -> None:
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise DatabaseError(
            f"database schema {version} is newer than this software ({SCHEMA_VERSION})"
        )
    for number in range(version, SCHEMA_VERSION):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _split(_MIGRATIONS[number]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version={number + 1}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:  # SQLite rolls back by itself on a full disk
                conn.execute("ROLLBACK")
            raise


def _split(script: str) -> list[str]:
    """Splits a migration into statements, keeping trigger bodies whole."""
    statements: list[str] = []
    buffer = ""
    for line in script.strip().splitlines():
        buffer += line + "\n"
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements
