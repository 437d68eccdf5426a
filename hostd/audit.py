"""Hash-chained, append-only audit log of every card and key operation.

Each row carries the SHA-256 of its own content and of the previous row, so altering a row
breaks its hash, removing one breaks the id sequence and the next row's link, and reordering
breaks both. Deleting the newest rows is caught against the daily signed head anchors.

One writer thread owns every append, with group commit: the rows that arrive while a commit is
being fsynced wait, then all go into the next transaction and share its one fsync (WAL,
``synchronous=FULL``, see ``hostd.db``). A row's future resolves only after that commit, so an
operation is acknowledged to its caller after its audit row is durable, never before — and the
thread that did the work (a card's worker) never waits on the disk. Under a burst of N
operations the log costs about one fsync per group instead of N.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field
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
_GROUP_SAMPLES = 4096
"""Recent group sizes kept for the status page's percentiles (bounded memory)."""


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
        if self.first_bad_id is None:
            return f"audit log BROKEN: {self.reason}"
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


@dataclass(frozen=True)
class _Pending:
    ts: str
    client: str
    operator: str
    action: str
    target: str
    outcome: str
    detail: dict[str, Any]
    detail_json: str
    future: Future[AuditRecord] = field(default_factory=Future)


@dataclass(frozen=True)
class WriterFigures:
    """Group commit as the status page and /metrics show it: rows per fsynced commit."""

    commits: int
    rows: int
    failed_commits: int
    group_p50: float
    group_max: int
    commit_p50_ms: float

    @property
    def rows_per_commit(self) -> float:
        return self.rows / self.commits if self.commits else 0.0


class AuditLog:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._lock = threading.Lock()  # the connection: one statement sequence at a time
        self._cond = threading.Condition(threading.Lock())  # the writer's queue
        self._pending: list[_Pending] = []
        self._stopping = False
        self._writer: threading.Thread | None = None
        self._commits = 0
        self._rows = 0
        self._failed_commits = 0
        self._groups: deque[int] = deque(maxlen=_GROUP_SAMPLES)
        self._commit_s: deque[float] = deque(maxlen=_GROUP_SAMPLES)
        self._wal_presized = False

    @classmethod
    def open(cls, state_dir: Path) -> AuditLog:
        return cls(db.connect(state_dir / db.DB_NAME))

    def cap_pages(self, settings: Any) -> None:
        """Applies the disk budget (``hostd.disk.apply_budget``) to this connection."""
        from hostd.disk import apply_budget

        with self._lock:
            apply_budget(self._conn, settings)

    def close(self) -> None:
        """Writes what is queued, stops the writer, closes the database."""
        with self._cond:
            self._stopping = True
            writer = self._writer
            self._cond.notify()
        if writer is not None:
            writer.join(30)
        with self._lock:
            self._conn.close()

    def submit(
        self,
        *,
        client: str,
        operator: str,
        action: str,
        target: str,
        outcome: str,
        detail: dict[str, Any] | None = None,
    ) -> Future[AuditRecord]:
        """Queues a row for the writer; the future resolves once the row is committed and
        fsynced (or fails with :class:`AuditUnavailable`). Never blocks on the disk."""
        detail = dict(detail or {})
        bad = _FORBIDDEN_DETAIL_KEYS & {k.lower() for k in detail}
        if bad:
            raise ValueError(f"secrets never go to the audit log: {sorted(bad)}")
        detail_json = json.dumps(detail, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        with self._cond:
            if self._stopping:
                raise AuditUnavailable("the audit log is closed")
            # Stamped under the queue's lock: ids and timestamps rise together.
            ts = datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
            row = _Pending(ts, client, operator, action, target, outcome, detail, detail_json)
            self._pending.append(row)
            if self._writer is None:
                self._writer = threading.Thread(target=self._write_loop, name="audit-writer",
                                                daemon=True)
                self._writer.start()
            self._cond.notify()
        return row.future

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
        """:meth:`submit` and wait for the commit (command-line tools, tests)."""
        return self.submit(client=client, operator=operator, action=action, target=target,
                           outcome=outcome, detail=detail).result()

    def writer_figures(self) -> WriterFigures:
        with self._cond:
            groups = sorted(self._groups)
            commit_s = sorted(self._commit_s)
            return WriterFigures(
                commits=self._commits,
                rows=self._rows,
                failed_commits=self._failed_commits,
                group_p50=float(groups[len(groups) // 2]) if groups else 0.0,
                group_max=groups[-1] if groups else 0,
                commit_p50_ms=commit_s[len(commit_s) // 2] * 1000 if commit_s else 0.0,
            )

    # -- the writer thread ------------------------------------------------------------------

    def _write_loop(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._stopping:
                    self._cond.wait()
                if not self._pending:
                    return  # stopping, nothing left to write
                group, self._pending = self._pending, []
            self._commit(group)

    def _commit(self, group: list[_Pending]) -> None:
        """One transaction, one fsync, for every row that waited; all or none."""
        start = time.monotonic()
        records: list[AuditRecord] = []
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                last = self._conn.execute(
                    "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1"
                ).fetchone()
                id_, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
                for p in group:
                    digest = _row_hash(id_, p.ts, p.client, p.operator, p.action, p.target,
                                       p.outcome, p.detail_json, prev)
                    records.append(AuditRecord(id_, p.ts, p.client, p.operator, p.action,
                                               p.target, p.outcome, p.detail, prev, digest))
                    prev, id_ = digest, id_ + 1
                self._conn.executemany(
                    "INSERT INTO audit VALUES (?,?,?,?,?,?,?,?,?,?)",
                    [(r.id, r.ts, r.client, r.operator, r.action, r.target, r.outcome,
                      p.detail_json, r.prev_hash, r.hash) for r, p in zip(records, group,
                                                                           strict=True)],
                )
                self._conn.execute("COMMIT")
            except Exception as exc:
                # SQLite may already have rolled back (SQLITE_FULL does): a second ROLLBACK
                # would hide "disk full" behind "no transaction is active".
                try:
                    if self._conn.in_transaction:
                        self._conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass  # the transaction is gone either way; the rows were not written
                failure = (AuditUnavailable(f"audit log cannot be written: {exc}")
                           if isinstance(exc, sqlite3.Error) else exc)
                with self._cond:
                    self._failed_commits += 1
                for p in group:
                    p.future.set_exception(failure)
                return
        elapsed = time.monotonic() - start
        with self._cond:
            self._commits += 1
            self._rows += len(group)
            self._groups.append(len(group))
            self._commit_s.append(elapsed)
        for p, record in zip(group, records, strict=True):
            p.future.set_result(record)
        if not self._wal_presized:
            # After the first commit (its rows are already answered): the log has SQLite's
            # header by then, and the later commits overwrite instead of append.
            self._wal_presized = True
            # An optimisation only: if it fails, commits append as before.
            with self._lock, contextlib.suppress(sqlite3.Error):
                db.presize_wal(self._conn)

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

    def check_at_start(self) -> Verification:
        """What ``comptoir serve`` checks before serving (issue 11): SQLite's ``quick_check``,
        then the chain from the last signed anchor to the head (the anchor itself re-checked:
        row present, same hash, good signature). Seconds on a year of rows, not minutes: rows
        before the last anchor were checked when it was signed; ``audit verify`` checks all."""
        try:
            with self._lock:
                problems = [r[0] for r in self._conn.execute("PRAGMA quick_check(5)")]
                if problems != ["ok"]:
                    return Verification(False, 0, None,
                                        f"SQLite quick_check: {'; '.join(problems)}")
                anchor = self._conn.execute(
                    "SELECT day, head_id, head_hash, signature, certificate FROM audit_anchor "
                    "ORDER BY head_id DESC LIMIT 1").fetchone()
                start = int(anchor[1]) if anchor else 0
                rows = self._conn.execute("SELECT * FROM audit WHERE id >= ? ORDER BY id",
                                          (max(start, 1),)).fetchall()
        except sqlite3.DatabaseError as exc:
            return Verification(False, 0, None, f"database unreadable: {exc}")
        prev, expected = GENESIS, 1
        if anchor is not None and start > 0:
            day, head_id, head_hash, signature, certificate = anchor
            if not rows or int(rows[0][0]) != head_id or rows[0][9] != head_hash:
                return Verification(False, len(rows), int(head_id),
                                    f"row missing or changed since the anchor signed on {day}")
            if not _signature_ok(bytes(certificate), bytes(signature), bytes.fromhex(head_hash)):
                return Verification(False, len(rows), int(head_id), f"anchor of {day} badly signed")
            prev, expected = head_hash, int(head_id) + 1
            rows = rows[1:]
        bad = _check_chain(rows, prev, expected)
        return bad or Verification(True, len(rows))

    def verify(self) -> Verification:
        """Every row and every anchor; a damaged file is a failed verification, not a crash."""
        try:
            return self._verify()
        except sqlite3.DatabaseError as exc:
            return Verification(False, 0, None, f"database unreadable: {exc}")

    def _verify(self) -> Verification:
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


def _check_chain(rows: list[Any], prev: str, expected_id: int) -> Verification | None:
    for row in rows:
        id_ = int(row[0])
        if id_ != expected_id:
            return Verification(False, len(rows), expected_id,
                                f"row {expected_id} missing or out of order (found {id_})")
        if row[8] != prev:
            return Verification(False, len(rows), id_, "link to the previous row broken")
        if _row_hash(*row[:9]) != row[9]:
            return Verification(False, len(rows), id_, "content does not match its hash")
        prev = row[9]
        expected_id += 1
    return None


def _signature_ok(certificate_der: bytes, signature: bytes, data: bytes) -> bool:
    try:
        key = x509.load_der_x509_certificate(certificate_der).public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            return False
        key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass(frozen=True)
class SetAside:
    folder: Path
    previous_head_id: int
    previous_head_hash: str
    record: AuditRecord


def last_good_head(path: Path) -> tuple[int, str]:
    """The last row of a damaged database whose chain still verifies from the start (read
    without touching the file: ``immutable``), or the genesis when nothing is readable."""
    head = (0, GENESIS)
    try:
        conn = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    except sqlite3.Error:
        return head
    try:
        prev, expected = GENESIS, 1
        for row in conn.execute("SELECT * FROM audit ORDER BY id"):
            if int(row[0]) != expected or row[8] != prev or _row_hash(*row[:9]) != row[9]:
                break
            prev, expected = row[9], expected + 1
            head = (int(row[0]), str(row[9]))
    except sqlite3.Error:
        pass  # a damaged page: the head is the last row read before it
    finally:
        conn.close()
    return head


def set_aside(state_dir: Path, reason: str, *, now: datetime | None = None) -> SetAside:
    """Moves a damaged audit database (and its WAL and shared-memory files) into a dated
    folder beside it — never deletes it — and starts a new chain whose first row names the old
    one's last good head, so the two chains read as one history. The daemon must be stopped."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    source = state_dir / db.DB_NAME
    head_id, head_hash = last_good_head(source)
    folder = state_dir / f"audit-set-aside-{stamp}"
    folder.mkdir()
    for suffix in ("", "-wal", "-shm"):
        part = state_dir / (db.DB_NAME + suffix)
        if part.exists():
            part.rename(folder / part.name)
    log = AuditLog.open(state_dir)
    try:
        record = log.append(
            client="comptoir", operator="-", action="audit.chain-restart", target="-",
            outcome="ok", detail={"previous_head_id": head_id, "previous_head_hash": head_hash,
                                  "set_aside": folder.name, "reason": reason[:500]},
        )
    finally:
        log.close()
    return SetAside(folder, head_id, head_hash, record)
