"""The audit log: chained rows, tamper detection, signed anchors, durability under kill -9."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from typer.testing import CliRunner

from hostd import db
from hostd.audit import AuditLog
from hostd.cli import app

ROOT = Path(__file__).resolve().parent.parent


def fill(log: AuditLog, n: int) -> None:
    for i in range(n):
        log.append(client=f"counter-{i % 3}", operator="Dr Martin", action="cps.sign",
                   target="CPS 1", outcome="ok", detail={"i": i})


WAL_FULL_SIZE = 32 + 1000 * (4096 + 24)  # SQLite's header + its auto-checkpoint's 1000 frames


def test_the_log_is_grown_once_then_commits_overwrite_and_a_crash_keeps_them(
    tmp_path: Path,
) -> None:
    # The write-ahead log is grown to its working size after the first commit, so later
    # commits reuse its blocks (a cheaper fsync: bench/shared_cps.py) instead of appending.
    state, crashed = tmp_path / "state", tmp_path / "crashed"
    state.mkdir()
    log = AuditLog.open(state)
    fill(log, 3)
    wal = state / "audit.db-wal"
    assert wal.stat().st_size == WAL_FULL_SIZE
    fill(log, 200)
    assert wal.stat().st_size == WAL_FULL_SIZE  # 200 more commits, not one byte appended
    # A power cut now: the files as they are on disk, rows in the WAL, never checkpointed.
    shutil.copytree(state, crashed)
    log.close()
    reopened = AuditLog.open(crashed)
    try:
        rows = list(reopened.records())
        assert [r.detail["i"] for r in rows] == [*range(3), *range(200)]
        fill(reopened, 5)  # and the log goes on from its head
        assert reopened.verify().ok and len(list(reopened.records())) == 208
    finally:
        reopened.close()


def test_a_log_without_its_header_is_not_touched(tmp_path: Path) -> None:
    # Zeros where SQLite's header belongs would make the next start refuse the log.
    conn = db.connect(tmp_path / "audit.db")
    wal = tmp_path / "audit.db-wal"
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # as after a checkpoint that emptied it
    assert wal.stat().st_size == 0
    assert db.presize_wal(conn) == 0
    assert wal.stat().st_size == 0
    conn.close()
    db.connect(tmp_path / "audit.db").close()  # and the next start accepts it


def tamper(state: Path, sql: str, *params: object) -> None:
    """What someone with the sqlite3 shell would do: drop the guard triggers, then edit."""
    conn = sqlite3.connect(state / "audit.db")
    conn.execute("DROP TRIGGER IF EXISTS audit_no_update")
    conn.execute("DROP TRIGGER IF EXISTS audit_no_delete")
    for statement in sql.split(";"):
        conn.execute(statement, params if "?" in statement else ())
    conn.commit()
    conn.close()


def verify_cli(state: Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["audit", "verify", "--state-dir", str(state)])
    return result.exit_code, result.output.strip()


def test_intact_log_verifies(tmp_path: Path) -> None:
    log = AuditLog.open(tmp_path)
    fill(log, 10)
    log.close()
    code, out = verify_cli(tmp_path)
    assert code == 0 and "10 rows" in out


def test_update_and_delete_refused_by_the_database(tmp_path: Path) -> None:
    log = AuditLog.open(tmp_path)
    fill(log, 2)
    log.close()
    conn = sqlite3.connect(tmp_path / "audit.db")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("UPDATE audit SET outcome='error' WHERE id=1")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("DELETE FROM audit WHERE id=1")


@pytest.mark.parametrize(
    ("sql", "params", "bad_row"),
    [
        ("UPDATE audit SET operator=? WHERE id=4", ("Someone else",), 4),
        ("DELETE FROM audit WHERE id=5", (), 5),
        # Swap the content of rows 3 and 6 (a reordering keeps every row, moves two).
        (
            "UPDATE audit SET id=-3 WHERE id=3; UPDATE audit SET id=3 WHERE id=6;"
            "UPDATE audit SET id=6 WHERE id=-3",
            (),
            3,
        ),
    ],
    ids=["altered", "removed", "reordered"],
)
def test_verify_names_the_first_bad_row(
    tmp_path: Path, sql: str, params: tuple[object, ...], bad_row: int
) -> None:
    log = AuditLog.open(tmp_path)
    fill(log, 8)
    log.close()
    tamper(tmp_path, sql, *params)
    code, out = verify_cli(tmp_path)
    assert code == 1
    assert out.startswith(f"audit log BROKEN at row {bad_row}:")


def test_rehashing_an_altered_row_still_breaks_the_next_link(tmp_path: Path) -> None:
    log = AuditLog.open(tmp_path)
    fill(log, 5)
    log.close()
    tamper(tmp_path, "UPDATE audit SET outcome='error', hash=? WHERE id=2", "f" * 64)
    code, out = verify_cli(tmp_path)
    assert code == 1 and "row 2" in out


def _self_signed() -> tuple[rsa.RSAPrivateKey, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "TEST ORG SIGN")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(1)
        .not_valid_before(now).not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return key, cert.public_bytes(serialization.Encoding.DER)


def test_truncating_after_a_signed_anchor_is_caught(tmp_path: Path) -> None:
    key, cert = _self_signed()

    def signer(data: bytes) -> tuple[bytes, bytes]:
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256()), cert

    log = AuditLog.open(tmp_path)
    fill(log, 6)
    assert log.anchor_head(signer, day="2026-11-24")
    assert not log.anchor_head(signer, day="2026-11-24")  # once a day
    fill(log, 2)
    assert log.verify().ok
    log.close()
    # Remove the newest rows, including the anchored head: the chain alone would still link.
    tamper(tmp_path, "DELETE FROM audit WHERE id >= 6")
    code, out = verify_cli(tmp_path)
    assert code == 1 and "row 6" in out and "anchor" in out


def test_export_writes_every_row_as_json_lines(tmp_path: Path) -> None:
    log = AuditLog.open(tmp_path)
    fill(log, 3)
    log.close()
    out = tmp_path / "audit.jsonl"
    result = CliRunner().invoke(
        app, ["audit", "export", "--state-dir", str(tmp_path), "-o", str(out)]
    )
    assert result.exit_code == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == [1, 2, 3]
    assert rows[0]["operator"] == "Dr Martin" and rows[0]["prev_hash"] == "0" * 64


def test_secrets_refused_in_details(tmp_path: Path) -> None:
    log = AuditLog.open(tmp_path)
    with pytest.raises(ValueError, match="secrets"):
        log.append(client="c", operator="o", action="cps.unlock", target="t", outcome="ok",
                   detail={"PIN": "1234"})


WRITER = """
import sys
from pathlib import Path
from hostd.audit import AuditLog
log = AuditLog.open(Path(sys.argv[1]))
for i in range(100000):
    record = log.append(client="c", operator="o", action="burst", target="t", outcome="ok",
                        detail={"i": i})
    sys.stdout.write(f"{record.id}\\n")
    sys.stdout.flush()
"""


def test_kill_9_during_a_burst_loses_no_acknowledged_row(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    acknowledged: list[int] = []
    deadline = time.monotonic() + 20
    while len(acknowledged) < 300 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        acknowledged.append(int(line))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(5)
    acknowledged += [int(line) for line in proc.stdout.read().split()]
    assert len(acknowledged) >= 300
    log = AuditLog.open(tmp_path)
    assert log.verify().ok
    ids = {r.id for r in log.records()}
    assert set(acknowledged) <= ids
    log.close()


GROUP_WRITER = """
import sys, threading
from pathlib import Path
from hostd.audit import AuditLog
log = AuditLog.open(Path(sys.argv[1]))
out = threading.Lock()
def counter(n):
    for i in range(20000):
        record = log.append(client=f"c{n}", operator="o", action="burst", target="t",
                            outcome="ok", detail={"i": i})
        with out:
            sys.stdout.write(f"{record.id}\\n")
            sys.stdout.flush()
for n in range(8):
    threading.Thread(target=counter, args=(n,)).start()
"""


def test_kill_9_during_group_commits_loses_no_acknowledged_row(tmp_path: Path) -> None:
    """Eight writers at once: rows share commits, and every row acknowledged before the kill
    (its commit fsynced) is there afterwards, the chain intact."""
    proc = subprocess.Popen(
        [sys.executable, "-c", GROUP_WRITER, str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    acknowledged: list[int] = []
    deadline = time.monotonic() + 20
    while len(acknowledged) < 400 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        acknowledged.append(int(line))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(5)
    acknowledged += [int(line) for line in proc.stdout.read().split()]
    assert len(acknowledged) >= 400
    log = AuditLog.open(tmp_path)
    assert log.verify().ok
    assert set(acknowledged) <= {r.id for r in log.records()}
    log.close()


def _writer_busy(log: AuditLog) -> None:
    """Waits until the writer took everything queued (it is then blocked on the connection)."""
    deadline = time.monotonic() + 5
    while log._pending and time.monotonic() < deadline:
        time.sleep(0.005)
    assert not log._pending


def test_rows_waiting_during_a_commit_share_the_next_one(tmp_path: Path) -> None:
    log = AuditLog.open(tmp_path)
    log._lock.acquire()  # the disk is slow: the first commit cannot finish yet
    try:
        first = log.submit(client="c0", operator="o", action="a", target="t", outcome="ok")
        _writer_busy(log)
        rest = [log.submit(client=f"c{i}", operator="o", action="a", target="t", outcome="ok")
                for i in range(1, 20)]
        time.sleep(0.05)
        assert not first.done() and not any(f.done() for f in rest)  # nothing durable yet
    finally:
        log._lock.release()
    records = [f.result(5) for f in [first, *rest]]
    assert [r.id for r in records] == list(range(1, 21))  # submission order = chain order
    assert [r.client for r in records] == [f"c{i}" for i in range(20)]
    figures = log.writer_figures()
    assert (figures.commits, figures.rows, figures.group_max) == (2, 20, 19)
    assert figures.rows_per_commit == 10
    assert log.verify().ok
    log.close()


def test_a_failed_group_commit_fails_every_row_in_it_and_the_next_one_works(
    tmp_path: Path,
) -> None:
    from hostd.audit import AuditUnavailable

    log = AuditLog.open(tmp_path)
    fill(log, 3)
    pages = int(log._conn.execute("PRAGMA page_count").fetchone()[0])
    log._lock.acquire()
    try:
        blocker = log.submit(client="x", operator="o", action="a", target="t", outcome="ok")
        _writer_busy(log)
        log._conn.execute(f"PRAGMA max_page_count = {pages}")  # the disk is now full
        group = [log.submit(client="c", operator="o", action="a", target="t", outcome="ok",
                            detail={"pad": "x" * 3000}) for _ in range(10)]
    finally:
        log._lock.release()
    assert blocker.result(5).id == 4  # a small row still fits in the last page
    for future in group:  # all in one transaction: none written, all told
        with pytest.raises(AuditUnavailable):
            future.result(5)
    assert log.head()[0] == 4 and log.writer_figures().failed_commits == 1
    log._conn.execute(f"PRAGMA max_page_count = {pages * 100}")
    assert log.append(client="c", operator="o", action="a", target="t", outcome="ok").id == 5
    assert log.verify().ok
    log.close()
