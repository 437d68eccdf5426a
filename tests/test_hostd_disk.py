"""The disk budget (issue 11): a warning in /v1/status, /metrics and disk_health (what a
`doctor` command calls) long before the budget is reached and operations get 507."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hostd.audit import AuditUnavailable
from hostd.auth import Role
from hostd.disk import DiskSettings, disk_health
from tests.hostd_support import Daemon, fill_audit_tails, start_daemon

P = "urn:comptoir:problem:"
DISK = {"budget_mb": 8.0, "warn_ratio": 0.5, "journal_dir": None}


@pytest.fixture
def daemon(tmp_path_factory: pytest.TempPathFactory, pcsc_session_rig: object) -> Iterator[Daemon]:
    d = start_daemon(tmp_path_factory.mktemp("hostd-disk"), extra={"disk": DISK})
    try:
        yield d
    finally:
        d.stop()


def _fill(daemon: Daemon, rows: int) -> None:
    """``rows`` big rows; once the budget refuses them, the tails are filled too."""
    futures = [daemon.box.audit.submit(client="filler", operator="-", action="fill",
                                       target="-", outcome="ok", detail={"pad": "x" * 2000})
               for _ in range(rows)]
    refused = False
    for f in futures:
        try:
            f.result()
        except AuditUnavailable:
            refused = True  # the budget is reached
    if refused:
        fill_audit_tails(daemon.box.audit)


def test_the_warning_comes_long_before_507(daemon: Daemon) -> None:
    admin = daemon.client("Admin", Role.ADMIN)
    ops = {"X-Comptoir-Operator": "technicien"}
    status = admin.get("/v1/status").json()["disk"]
    assert status["level"] == "ok" and status["budget_bytes"] == 8 * 1024 * 1024
    settings = DiskSettings.model_validate(DISK)
    while disk_health(daemon.state, settings).level == "ok":
        _fill(daemon, 100)
    # Warning: said everywhere, and audited operations still succeed.
    health = disk_health(daemon.state, settings)
    assert health.level == "warning" and "export and archive" in health.message
    assert admin.get("/v1/status").json()["disk"]["level"] == "warning"
    assert "comptoir_disk_warning 1" in admin.get("/metrics").text
    r = admin.post("/v1/admin/pairing-codes", json={"name": "Comptoir D"}, headers=ops)
    assert r.status_code == 200, r.text
    # Keep filling: the cap (max_page_count = budget) ends in 507, never a full filesystem.
    for _ in range(200):
        r = admin.post("/v1/admin/pairing-codes", json={"name": "Comptoir E"}, headers=ops)
        if r.status_code == 507:
            break
        _fill(daemon, 100)
    assert r.status_code == 507 and r.json()["type"] == P + "audit-unavailable"
    assert disk_health(daemon.state, settings).audit_bytes <= 8 * 1024 * 1024 + 4 * 1024 * 1024


def test_the_journal_counts_in_the_warning_but_only_the_audit_makes_507(
    tmp_path_factory: pytest.TempPathFactory, pcsc_session_rig: object
) -> None:
    """The budget is for the audit and the journal: a journal grown to most of it (journald's
    own cap is 64 MiB on the image) raises the warning in /v1/status, /metrics and doctor's
    function, with both shares named — but is not the audit's fault: operations still
    succeed (only the audit's own cap answers 507) and the level is not "full"."""
    base = tmp_path_factory.mktemp("hostd-journal")
    journal = base / "journal" / "machine-id"
    journal.mkdir(parents=True)
    (journal / "system.journal").write_bytes(b"\0" * (5 << 20))  # 5 of 8 MiB: over 0.5
    disk = {"budget_mb": 8.0, "warn_ratio": 0.5, "journal_dir": str(base / "journal")}
    d = start_daemon(base, extra={"disk": disk})
    try:
        health = disk_health(d.state, DiskSettings.model_validate(disk))
        assert health.level == "warning", health
        assert health.journal_bytes == 5 << 20 and health.audit_bytes < 1 << 20
        assert "journal 5 MiB" in health.message
        admin = d.client("Admin", Role.ADMIN)
        status = admin.get("/v1/status").json()["disk"]
        assert status["level"] == "warning" and status["journal_bytes"] == 5 << 20
        assert "comptoir_disk_journal_bytes 5242880" in admin.get("/metrics").text
        r = admin.post("/v1/admin/pairing-codes", json={"name": "Comptoir J"},
                       headers={"X-Comptoir-Operator": "technicien"})
        assert r.status_code == 200, r.text
        # A journal over the whole budget is still a warning, not the audit's "full".
        (journal / "system@1.journal").write_bytes(b"\0" * (4 << 20))
        assert disk_health(d.state, DiskSettings.model_validate(disk)).level == "warning"
    finally:
        d.stop()
