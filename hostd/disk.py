"""The disk budget of the audit log and the journal, with a warning long before 507.

The audit database is capped at ``[disk] budget_mb`` (SQLite ``max_page_count``, set at
open), so a flood can never fill the filesystem the rest of the box needs; when the cap is hit
the next operation gets 507 ``audit-unavailable`` (its result withheld, nothing lost). The
journal is capped by journald itself (64 MiB on the image) and counted here, not capped: long
before 507, :func:`disk_health` says ``warning`` (``[disk] warn_ratio`` of the budget used by
the audit's pages and the journal together, or less free space on the filesystem than the
budget still allows) in ``/v1/status``, ``/metrics`` and ``comptoir doctor``: it is a plain
function of the state directory and the settings, no daemon needed.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from hostd.db import DB_NAME


class DiskSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    budget_mb: float = Field(default=1024.0, gt=0, le=1_000_000)
    """Audit database plus the journal directory, in MiB. The audit database alone is capped
    at it (507 beyond); the warning counts both."""
    warn_ratio: float = Field(default=0.8, gt=0, lt=1)
    journal_dir: Path | None = Path("/var/log/journal")
    """systemd's persistent journal on a box (counted when it exists). journald caps it
    itself: ``SystemMaxUse=64M`` in the image's
    ``images/rootfs/etc/systemd/journald.conf.d/comptoir.conf`` (docs/hostd.md "Disk")."""


@dataclass(frozen=True)
class DiskHealth:
    level: str
    """``ok``, ``warning`` (act now: export and archive the audit log, or free space) or
    ``full`` (the budget is reached: audited operations answer 507)."""
    audit_bytes: int
    journal_bytes: int
    budget_bytes: int
    free_bytes: int
    message: str

    @property
    def used_ratio(self) -> float:
        return (self.audit_bytes + self.journal_bytes) / self.budget_bytes


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _tree_size(root: Path | None) -> int:
    if root is None or not root.is_dir():
        return 0
    total = 0
    for folder, _dirs, files in os.walk(root):
        total += sum(_size(Path(folder) / f) for f in files)
    return total


def audit_bytes(state_dir: Path) -> int:
    """The audit database's pages in use, the measure its cap (``max_page_count``) applies
    to. Its WAL (at most ~4 MiB: SQLite checkpoints every 1000 pages) is not counted: it holds
    copies of those pages on their way into the database."""
    path = state_dir / DB_NAME
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)
        try:
            pages = int(conn.execute("PRAGMA page_count").fetchone()[0])
            size = int(conn.execute("PRAGMA page_size").fetchone()[0])
        finally:
            conn.close()
        return pages * size
    except sqlite3.Error:
        return _size(path)


def disk_health(state_dir: Path, settings: DiskSettings) -> DiskHealth:
    audit = audit_bytes(state_dir)
    journal = _tree_size(settings.journal_dir)
    budget = int(settings.budget_mb * 1024 * 1024)
    stat = os.statvfs(state_dir)
    free = stat.f_bavail * stat.f_frsize
    used = audit + journal
    share = f"audit {audit >> 20} MiB + journal {journal >> 20} MiB"
    if audit >= budget * 0.99:
        level = "full"  # the audit's own cap (max_page_count): this is when 507 starts
        message = (f"disk budget reached ({share} of {budget >> 20} MiB): operations get 507")
    elif used >= budget * settings.warn_ratio:
        level = "warning"
        message = (f"{used >> 20} of {budget >> 20} MiB of the disk budget used ({share}): "
                   "export and archive the audit log (comptoir audit export) before it fills")
    elif free < budget - used:
        level = "warning"
        message = (f"only {free >> 20} MiB free on the state filesystem, less than the "
                   f"{(budget - used) >> 20} MiB the budget still allows")
    else:
        level = "ok"
        message = f"{used >> 20} of {budget >> 20} MiB of the disk budget used"
    return DiskHealth(level, audit, journal, budget, free, message)


def apply_budget(conn: sqlite3.Connection, settings: DiskSettings) -> None:
    """Caps the audit database at the budget (what the journal uses is the journal's)."""
    page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
    pages = max(16, int(settings.budget_mb * 1024 * 1024) // page_size)
    conn.execute(f"PRAGMA max_page_count={pages}")
