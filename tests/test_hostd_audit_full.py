"""A full disk under the audit log: the operation is not acknowledged, nothing is lost.

The database is really full: SQLite's ``max_page_count`` on the daemon's own audit
connection makes every further page allocation fail with SQLITE_FULL, as a full disk does.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest

from hostd.audit import AuditUnavailable
from tests.hostd_support import OPERATOR, Daemon, fill_audit_tails, start_daemon

P = "urn:comptoir:problem:"
FILL_LIMIT = 5000


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    d = start_daemon(tmp_path, watcher=False)
    try:
        yield d
    finally:
        d.stop()


def _fill(daemon: Daemon) -> int:
    """Caps the audit database at its current size, then appends until it is full."""
    log = daemon.box.audit
    conn = log._conn  # the daemon's own connection: the limit must apply to its writes
    pages = int(conn.execute("PRAGMA page_count").fetchone()[0])
    conn.execute(f"PRAGMA max_page_count = {pages}")
    for i in range(FILL_LIMIT):
        try:
            log.append(client="test", operator="filler", action="fill", target=str(i),
                       outcome="ok", detail={"pad": "x" * 200})  # fmt: skip
        except AuditUnavailable:
            break
    else:
        raise AssertionError(f"audit database not full after {FILL_LIMIT} rows")
    fill_audit_tails(log, (100, 50, 20, 0))
    return pages


def test_signing_on_a_full_audit_log_is_refused_and_resumes_once_there_is_room(
    daemon: Daemon,
) -> None:
    http = daemon.client("Comptoir F")
    body = {"key": "org-sign", "data_b64": base64.b64encode(b"ordonnance").decode()}
    assert http.post("/v1/store/sign/raw", json=body, headers=OPERATOR).status_code == 200
    rows_before = daemon.box.audit.head()[0]
    pages = _fill(daemon)
    refused = http.post("/v1/store/sign/raw", json=body, headers=OPERATOR)
    assert refused.status_code == 507, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["type"] == P + "audit-unavailable"
    assert "signature_b64" not in refused.json()
    assert "cannot rollback" not in refused.text
    # Every acknowledged row is still there and the chain is intact.
    assert daemon.box.audit.head()[0] > rows_before
    assert daemon.box.audit.verify().ok
    # Room again (the technician freed space): the same call works and is audited.
    daemon.box.audit._conn.execute(f"PRAGMA max_page_count = {pages * 100}")
    again = http.post("/v1/store/sign/raw", json=body, headers=OPERATOR)
    assert again.status_code == 200, again.text
    assert daemon.box.audit.verify().ok
    last = list(daemon.box.audit.records(after_id=daemon.box.audit.head()[0] - 1))
    assert last[0].action != "fill" and last[0].outcome == "ok"
