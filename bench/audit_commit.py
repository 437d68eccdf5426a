"""What one durable audit row costs, with the write-ahead log grown to its working size against
the log growing commit by commit, interleaved in one run.

    .venv/bin/python -m bench.audit_commit [--rows 400] [--dir /var/lib/comptoir-bench]

Two audit logs in two fresh state directories on the same file system (``--dir``, default the
system's temporary directory: point it at the disk the box's state lives on). Both are real
``hostd.audit.AuditLog`` writers (WAL, ``synchronous=FULL``, one fsync per commit); one grows its
write-ahead log once after its first commit (what the daemon does, ``hostd.db.presize_wal``),
the other is left to append as SQLite does by itself — what every daemon start paid for its first
few hundred operations before. Rows are written one at a time, alternating between the two logs,
so the machine's noise falls on both alike. Prints p50/p90 per row and the ratio.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from hostd.audit import AuditLog


def append_one(log: AuditLog, out: list[float]) -> None:
    start = time.perf_counter()
    log.append(client="Comptoir 01", operator="Dr Martin", action="cps.sign.auth",
               target="Reader 0", outcome="ok", detail={"digest_sha256": "ab" * 32})
    out.append(time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=400)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args()
    rows = min(max(args.rows, 20), 5000)
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="comptoir-audit-bench-") as tmp:
        grown_dir, appending_dir = Path(tmp, "grown"), Path(tmp, "appending")
        grown_dir.mkdir()
        appending_dir.mkdir()
        grown, appending = AuditLog.open(grown_dir), AuditLog.open(appending_dir)
        appending._wal_presized = True  # as before: the log grows by appends only
        try:
            grown_s: list[float] = []
            appending_s: list[float] = []
            for _ in range(rows):
                append_one(grown, grown_s)
                append_one(appending, appending_s)
        finally:
            grown.close()
            appending.close()
    # The first row of each pays the log's creation (and the growth, for one of them).
    grown_s, appending_s = sorted(grown_s[1:]), sorted(appending_s[1:])

    def fig(values: list[float]) -> str:
        p50 = statistics.median(values) * 1000
        p90 = values[int(len(values) * 0.9)] * 1000
        return f"p50 {p50:.3f} ms, p90 {p90:.3f} ms"

    print(f"{rows} durable audit rows each, alternating, in {args.dir}:")
    print(f"  write-ahead log grown once (the daemon): {fig(grown_s)}")
    print(f"  write-ahead log appended (before):       {fig(appending_s)}")
    ratio = statistics.median(grown_s) / statistics.median(appending_s)
    print(f"  ratio grown/appended p50: {ratio:.2f}")


if __name__ == "__main__":
    main()
