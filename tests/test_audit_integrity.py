"""A damaged audit database at start (issue 11): `comptoir serve` refuses in one line,
`comptoir audit verify` names the problem without a traceback, and `comptoir audit set-aside`
moves the damage aside (never deleting it) and starts a chain anchored to the old head."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from drivers.sim import testpki
from hostd import config
from hostd.audit import GENESIS, AuditLog
from hostd.cli import app
from hostd.server import StartupError
from hostd.wiring import open_box
from tests.provision_fixtures import provision
from tests.test_audit import fill, tamper


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output.strip()


def corrupt_page(state: Path, page: int = 12) -> None:
    path = state / "audit.db"
    size = sqlite3.connect(path).execute("PRAGMA page_size").fetchone()[0]
    with path.open("r+b") as f:
        f.seek(size * (page - 1))
        f.write(b"\xde\xad\xbe\xef" * (size // 4))  # a whole page of garbage


def assert_one_line_failure(code: int, out: str) -> None:
    assert code != 0
    assert "Traceback" not in out
    assert len(out.splitlines()) == 1, out


@pytest.fixture
def state(tmp_path: Path) -> Path:
    s = tmp_path / "state"
    provision(s, testpki.TestPki.create()).close()
    log = AuditLog.open(s)
    fill(log, 300)  # several pages of rows
    log.close()
    return s


def _start(state: Path) -> str:
    settings = config.from_dict({"state_dir": str(state)})
    with pytest.raises(StartupError) as info:
        box = open_box(settings, watcher=False)
        box.close()
    return str(info.value)


def test_a_corrupted_page_is_refused_at_start_and_verify_says_so(state: Path) -> None:
    corrupt_page(state)
    message = _start(state)
    assert "\n" not in message and "comptoir audit set-aside" in message
    assert "BROKEN" in message or "malformed" in message or "cannot open" in message
    code, out = cli("audit", "verify", "--state-dir", str(state))
    assert_one_line_failure(code, out)


def test_a_tampered_row_is_refused_at_start_and_named_by_verify(state: Path) -> None:
    tamper(state, "UPDATE audit SET target='CPS 2' WHERE id=120")
    message = _start(state)
    assert "row 120" in message and "\n" not in message
    code, out = cli("audit", "verify", "--state-dir", str(state))
    assert code == 1 and out == "audit log BROKEN at row 120: content does not match its hash"


def test_a_garbage_wal_is_refused_not_silently_dropped(state: Path, tmp_path: Path) -> None:
    # Rows committed in the WAL and not yet checkpointed: copy the files of an open log.
    log = AuditLog.open(state)
    fill(log, 5)
    copy = tmp_path / "copy"
    shutil.copytree(state, copy)
    log.close()
    wal = copy / "audit.db-wal"
    assert wal.stat().st_size > 32
    with wal.open("r+b") as f:
        f.write(b"garbage!" * 4)
    message = _start(copy)
    assert "not a SQLite write-ahead log" in message and "\n" not in message
    code, out = cli("audit", "verify", "--state-dir", str(copy))
    assert_one_line_failure(code, out)


def test_set_aside_keeps_the_damage_and_restarts_the_chain_from_the_old_head(
    state: Path,
) -> None:
    log = AuditLog.open(state)
    head_119 = next(r.hash for r in log.records(after_id=118, limit=1))
    log.close()
    tamper(state, "UPDATE audit SET target='CPS 2' WHERE id=120")
    code, out = cli("audit", "set-aside", "--state-dir", str(state))
    assert code == 0, out
    assert "new chain row 1 continues from row 119" in out
    folders = list(state.glob("audit-set-aside-*"))
    assert len(folders) == 1 and (folders[0] / "audit.db").is_file()  # kept, not deleted
    log = AuditLog.open(state)
    try:
        first = next(log.records())
        assert first.action == "audit.chain-restart" and first.prev_hash == GENESIS
        assert first.detail["previous_head_id"] == 119
        assert first.detail["previous_head_hash"] == head_119
        assert log.verify().ok and log.check_at_start().ok
    finally:
        log.close()
    # The daemon starts again on the new chain (the check passes).
    box = open_box(config.from_dict({"state_dir": str(state)}), watcher=False)
    box.close()
    # And there is nothing to set aside any more.
    code, out = cli("audit", "set-aside", "--state-dir", str(state))
    assert code == 2 and "nothing to set aside" in out


def test_set_aside_of_a_corrupted_page_keeps_the_rows_before_it(state: Path) -> None:
    corrupt_page(state)
    code, out = cli("audit", "set-aside", "--state-dir", str(state))
    assert code == 0, out
    assert "Traceback" not in out
    code, out = cli("audit", "verify", "--state-dir", str(state))
    assert code == 0, out
