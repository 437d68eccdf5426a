"""The disk budget (issue 11): a warning in /v1/status, /metrics and disk_health (what a
`doctor` command calls) long before the budget is reached and operations get 507."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hostd.auth import Role
from hostd.disk import DiskSettings, disk_health
from tests.hostd_support import Daemon, start_daemon

P = "urn:comptoir:problem:"
DISK = {"budget_mb": 8.0, "warn_ratio": 0.5, "journal_dir": None}


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory, pcsc_session_rig: object) -> Iterator[Daemon]:
    d = start_daemon(tmp_path_factory.mktemp("hostd-disk"), extra={"disk": DISK})
    try:
        yield d
    finally:
        d.stop()


def _fill(daemon: Daemon, rows: int) -> None:
    futures = [daemon.box.audit.submit(client="filler", operator="-", action="fill",
                                       target="-", outcome="ok", detail={"pad": "x" * 2000})
               for _ in range(rows)]
    for f in futures:
        try:
            f.result()
        except Exception:
            return  # the budget is reached


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
