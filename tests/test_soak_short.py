"""The soak (bench/soak.py) compressed for CI: the same code as the hour-long run, phases of
8 s (about two minutes in all), every fault and every attacker at least once, and its report
asserted as values.

What is asserted, and why these bounds:
- nothing acknowledged is lost (each 200 signature has its audit row, by client and digest),
  and ``comptoir audit verify`` passes after a kill -9 and a full disk;
- every fault happened: card pulled and reinserted, pcscd restarted, reader unplugged, daemon
  killed and restarted, audit filled to its budget (warning seen before the first 507); and
  every attacker acted: idle connections held and dropped, slowloris clients dropped at the
  header deadline, 50 MB bodies cut off (none fully sent);
- memory is bounded (at most 24 MB above the start at any time, from a ~100 MB start, the
  unit's ``MemoryMax`` being 256M: measured +11 MB; +28–30 MB before lost TLS connections let
  go of their buffers, ``hostd/tls.py`` ``detach``) and comes back after the attacks in the
  same process (within 24 MB of the start: measured +6–12; 36 MB stayed before the daemon
  handed freed memory back, ``hostd/memory.py``);
  descriptors bounded (≤ 200: the enrolment port's cap of 64 plus the counters' connections)
  and back to their start at the end;
- p99 of legitimate requests under each attack within 5× of calm. The issue's criterion is 2×
  and the full run reports it (the closing note's table); here a phase is 8 s and a few
  hundred requests, so p99 is the 3rd–5th worst request, and on a 2-core CI machine running
  other tests one scheduling stall of a second moves it by 2×. 5× still fails for what the
  issue found (an attack starving the API: requests waiting for the 30 s deadline, 25×+).
No absolute latency is asserted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("soak") / "report.json"
    # The soak starts its own pcscd; this session's (PCSCLITE_CSOCK_NAME) is not for it.
    env = {k: v for k, v in os.environ.items() if k != "PCSCLITE_CSOCK_NAME"}
    run = subprocess.run(
        [sys.executable, "-m", "bench.soak", "--phase-seconds", "8", "--counters", "20",
         "--json", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=400, check=False)
    assert out.exists(), run.stdout[-3000:] + run.stderr[-3000:]
    loaded: dict[str, Any] = json.loads(out.read_text())
    print(run.stdout[-4000:])  # the table, for whoever reads the CI log
    return loaded


def _phase(report: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(p for p in report["phases"] if p["name"] == name)
    return found


@pytest.mark.timeout(420)
def test_nothing_acknowledged_is_lost_and_the_audit_verifies(report: dict[str, Any]) -> None:
    assert report["acknowledged_signatures"] >= 200, report["acknowledged_signatures"]
    assert report["lost_signatures"] == 0
    assert report["verify_ok"], report["verify_text"]
    assert report["ok_min_per_counter"] >= 10  # every counter got through, not just a few


def test_every_fault_and_every_attacker_happened(report: dict[str, Any]) -> None:
    faults = report["faults"]
    for fault in ("card pulled and reinserted", "pcscd restarted",
                  "reader unplugged and plugged back", "daemon killed (-9) and restarted",
                  "audit filled to its budget"):
        assert faults.get(fault, 0) >= 1, (fault, faults)
    attackers = report["attackers"]
    assert attackers["idle opened"] >= 100 and attackers["idle dropped by daemon"] >= 1
    assert attackers["slowloris opened"] >= 1
    assert attackers.get("slowloris dropped by daemon", 0) >= 1, attackers
    assert attackers["oversized started"] >= 4
    assert attackers.get("oversized fully sent", 0) == 0, attackers
    # The faults were felt: no-card / unknown-reader while the card or reader was away,
    # refused connections while the daemon was down, 507 once the audit was full.
    assert _phase(report, "card-pull")["others"].get("no-card", 0) >= 1
    assert _phase(report, "reader-unplug")["others"].get("unknown-reader", 0) >= 1
    assert _phase(report, "kill-9")["others"].get("ConnectError", 0) >= 1
    assert _phase(report, "disk-full")["others"].get("audit-unavailable", 0) >= 1


def test_the_disk_warning_comes_before_507(report: dict[str, Any]) -> None:
    assert report["first_warning_s"] is not None and report["first_507_s"] is not None
    assert report["first_warning_s"] <= report["first_507_s"]
    budget = report["disk_budget_mb"] * (1 << 20)
    assert report["audit_bytes_end"] <= budget + (1 << 20), report["audit_bytes_end"]


def test_memory_and_descriptors_are_bounded_and_come_back(report: dict[str, Any]) -> None:
    start = report["rss_start_mb"]
    assert report["rss_max_mb"] - start <= 24, report["rss_max_by_phase"]
    assert report["rss_after_attacks_mb"] - start <= 24, report["rss_max_by_phase"]
    assert report["fds_max"] <= 200, report["fds_max"]
    assert report["fds_end"] <= report["fds_start"] + 8


def test_p99_under_each_attack_stays_within_5x_of_calm(report: dict[str, Any]) -> None:
    for attack in ("idle-conns", "slowloris", "oversized"):
        phase = _phase(report, attack)
        assert phase["ok"] >= 50, phase
        assert phase["p99_over_calm"] <= 5.0, phase
