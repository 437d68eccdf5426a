"""Soak: 20 counters signing and reading Vitale while a chaos schedule attacks the box.

Bounded in time (``--minutes``, default 3; an hour for a person; CI runs it compressed through
``tests/test_soak_short.py``). The daemon is a real ``comptoir serve`` process; cards are
simulators behind vpcd/pcscd (fast card timing); every request is mTLS over 127.0.0.1. After a
short warm-up (not measured) the schedule runs phases of equal length: calm, idle connections
(TCP and TLS) held on the enrolment port, slowloris clients, parallel 50 MB bodies, calm again
(the same daemon process: has its memory come back?), the CPS pulled and reinserted, pcscd
restarted, the reader unplugged, the daemon kill -9'd and restarted, and finally the audit
database filled to its disk budget (the restarted daemon gets a budget of twice what the audit
then holds, so the fill is the same size whatever the run's length).

Reported (printed, and as JSON with ``--json FILE``: :class:`SoakReport`): acknowledged
signatures lost (must be 0: each is looked up in the exported audit log by client and digest),
``audit verify``, p50/p99 of legitimate requests per phase against calm, the daemon's RSS and
file descriptors over time, disk used, what each fault and attacker did.

Run: ``.venv/bin/python -m bench.soak --minutes 3`` (a quick look) or ``--minutes 60``.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import dataclasses
import hashlib
import json
import os
import re
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx

from bench.shared_cps import HOLDER, OPERATOR, PIN, Daemon, enrol_client
from drivers.sim import testpki
from drivers.sim.cardfile import load_card
from drivers.sim.cps_app import CpsApplication
from drivers.sim.cps_issue import issue_cps
from drivers.sim.make_sample_cards import CARDS_DIR
from drivers.sim.pcscd import PrivatePcscd
from drivers.sim.timing import Timing
from hostd.audit import AuditLog, AuditUnavailable
from hostd.disk import DiskSettings, audit_bytes, disk_health

ROOT = Path(__file__).resolve().parent.parent
COUNTERS = 20
FIRST_BUDGET_MB = 1024.0
"""The disk budget until the kill -9; the restarted daemon gets :func:`fill_budget_mb`."""
MIN_FILL_BUDGET_MB = 16.0
ATTACKS = ("idle-conns", "slowloris", "oversized")
PHASES = ("calm", *ATTACKS, "calm-after", "card-pull", "pcscd-restart", "reader-unplug",
          "kill-9", "disk-full")


def fill_budget_mb(state: Path) -> float:
    """Twice what the audit holds now (at least 16 MiB): the fill is half the budget, and the
    warning (80 %) comes well after the restart, whatever the run's length."""
    return max(MIN_FILL_BUDGET_MB, round(2 * audit_bytes(state) / (1 << 20), 1))


def start_daemon(base: Path, env: dict[str, str], ports: tuple[int, int] = (0, 0),
                 budget_mb: float = FIRST_BUDGET_MB, header_timeout_s: float = 10.0) -> Daemon:
    state = base / "state"
    if not state.exists():
        from provisioning.ca import initialize

        initialize(state, ["localhost", "127.0.0.1"]).close()
    journal = base / "journal"  # the soak's own (empty): not this machine's /var/log/journal
    journal.mkdir(exist_ok=True)
    cfg = base / "comptoir.toml"
    cfg.write_text(
        f'state_dir = "{state}"\n[server]\nlisten = "127.0.0.1"\nport = {ports[0]}\n'
        f"enrol_port = {ports[1]}\n[enrolment]\nattempts_per_minute = 1000\n"
        "attempts_per_source = 1000\n[scheduler]\ndeadline_s = 30\n"
        # The counters unlock with the PIN in the request (a box takes it from the terminal).
        "[cps]\napi_pin = true\n"
        f"[limits]\nheader_timeout_s = {header_timeout_s}\n"
        f'[disk]\nbudget_mb = {budget_mb}\nwarn_ratio = 0.8\njournal_dir = "{journal}"\n'
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", "from hostd.cli import main; main()", "serve", "--config",
         str(cfg)], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    found = re.search(r":(\d+) \(mTLS\) and :(\d+) \(enrolment\)", line)
    if not found:
        proc.kill()
        raise SystemExit(f"daemon did not start: {line!r}")
    api, enrol = (f"https://127.0.0.1:{p}" for p in found.groups())
    return Daemon(proc, api, enrol, state / "tls" / "ca.pem", state)


def _proc_figures(pid: int) -> tuple[float, int]:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        rss = int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024  # type: ignore[union-attr]
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except (OSError, AttributeError):
        return float("nan"), -1
    return rss, fds


class Soak:
    def __init__(self, base: Path, phase_s: float, counters: int = COUNTERS) -> None:
        self.base = base
        self.phase_s = phase_s
        self.warm_up_s = min(5.0, phase_s / 2)
        self.sample_s = min(2.0, phase_s / 6)
        self.budget_mb = FIRST_BUDGET_MB
        self.phase = "setup"
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.outcomes: dict[str, Counter[str]] = defaultdict(Counter)
        self.acknowledged: list[tuple[str, str]] = []
        self.samples: list[tuple[float, str, float, int, int, int]] = []
        """(seconds, phase, RSS MB, fds, audit bytes, daemon pid)"""
        self.attack: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self.ok_by_counter: Counter[str] = Counter()
        self.first_warning: float | None = None
        self.first_507: float | None = None
        self.t0 = time.monotonic()
        self.pcscd = PrivatePcscd(base / "pcscd", readers=2)
        self.pcscd.use_in_this_process()
        self.pcscd.start()
        self.env = {**os.environ, "PCSCLITE_CSOCK_NAME": str(self.pcscd.socket_path)}
        pki = testpki.TestPki.create()
        self.cps_config = replace(issue_cps(pki, HOLDER), pin=PIN)
        names = self.pcscd.reader_names()
        self.cps_reader, self.vitale_reader = names[0], names[2]
        # The default header deadline (10 s) unless phases are too short for a slowloris
        # client to meet it (compressed runs).
        self.header_timeout_s = min(10.0, round(phase_s / 3, 1))
        self.daemon = start_daemon(base / "daemon", self.env,
                                   header_timeout_s=self.header_timeout_s)
        self.ports = (int(self.daemon.api.rsplit(":", 1)[1]),
                      int(self.daemon.enrol.rsplit(":", 1)[1]))
        clients = base / "clients"
        clients.mkdir()
        self.contexts = [(f"Comptoir {i:02d}", enrol_client(self.daemon, f"Comptoir {i:02d}",
                                                            clients))
                         for i in range(counters)]
        self.insert_cards()

    # -- cards ----------------------------------------------------------------------------

    def insert_cards(self) -> None:
        self.pcscd.slot(0).insert(CpsApplication(self.cps_config, Timing.zero()))
        self.pcscd.slot(2).insert(load_card(CARDS_DIR / "vitale-famille-martin.toml",
                                            Timing.zero()))

    # -- legitimate load --------------------------------------------------------------------

    def counter(self, name: str, ctx: ssl.SSLContext) -> None:
        sign = httpx.URL(f"/v1/cps/{self.cps_reader}/sign").raw_path.decode()
        unlock = httpx.URL(f"/v1/cps/{self.cps_reader}/unlock").raw_path.decode()
        vitale = httpx.URL(f"/v1/vitale/{self.vitale_reader}/read").raw_path.decode()
        n = 0
        http: httpx.Client | None = None
        while not self.stop.is_set():
            if http is None or not str(http.base_url).startswith(self.daemon.api):
                if http is not None:
                    http.close()
                http = httpx.Client(base_url=self.daemon.api, verify=ctx, timeout=35)
            n += 1
            phase = self.phase
            start = time.monotonic()
            try:
                if n % 3 == 0:
                    kind = "vitale"
                    r = http.post(vitale, headers=OPERATOR)
                else:
                    kind = "sign"
                    digest = hashlib.sha256(f"{name}/{n}".encode()).digest()
                    r = http.post(sign, headers=OPERATOR, json={
                        "key": "auth", "digest_b64": base64.b64encode(digest).decode()})
                outcome = str(r.status_code) if r.status_code == 200 else \
                    r.json().get("type", str(r.status_code)).rsplit(":", 1)[-1]
            except (httpx.TransportError, ValueError) as exc:
                outcome = type(exc).__name__
                r = None
                time.sleep(0.2)
            elapsed = time.monotonic() - start
            with self.lock:
                self.outcomes[phase][outcome] += 1
                if outcome == "audit-unavailable" and self.first_507 is None:
                    self.first_507 = time.monotonic() - self.t0
                if r is not None and r.status_code == 200:
                    self.latencies[phase].append(elapsed)
                    self.ok_by_counter[name] += 1
                    if kind == "sign":
                        self.acknowledged.append((name, digest.hex()))
            if outcome == "cps-locked":
                with contextlib.suppress(httpx.HTTPError):
                    http.post(unlock, json={"pin": PIN}, headers=OPERATOR)
            elif r is None or r.status_code >= 500 or outcome in ("no-card", "card-removed"):
                time.sleep(0.1)
        if http is not None:
            http.close()

    def sampler(self) -> None:
        admin_ctx = self.contexts[0][1]
        while not self.stop.wait(self.sample_s):
            pid = self.daemon.proc.pid
            rss, fds = _proc_figures(pid)
            disk = 0
            with contextlib.suppress(Exception), \
                    httpx.Client(verify=admin_ctx, timeout=5) as http:
                status = http.get(f"{self.daemon.api}/v1/status").json()["disk"]
                disk = status["audit_bytes"]
                if status["level"] != "ok" and self.first_warning is None:
                    self.first_warning = time.monotonic() - self.t0
            self.samples.append((time.monotonic() - self.t0, self.phase, rss, fds, disk, pid))

    # -- attacks ----------------------------------------------------------------------------

    def _tcp(self, source: str = "127.0.0.1") -> socket.socket:
        sock = socket.socket()
        sock.bind((source, 0))
        sock.settimeout(5)
        sock.connect(("127.0.0.1", self.ports[1]))
        return sock

    def idle_connections(self, until: float) -> None:
        held: list[socket.socket] = []
        tls = ssl.create_default_context(cafile=str(self.daemon.ca))
        while time.monotonic() < until and not self.stop.is_set():
            for i in range(200):
                try:
                    sock = self._tcp(f"127.0.4.{i % 200 + 1}")
                    if i % 4 == 0:
                        sock = tls.wrap_socket(sock, server_hostname="127.0.0.1")
                    held.append(sock)
                    self.attack["idle opened"] += 1
                except OSError:
                    self.attack["idle refused"] += 1
            time.sleep(1)
            alive = []
            for sock in held:
                sock.setblocking(False)
                try:
                    if sock.recv(1) == b"":
                        self.attack["idle dropped by daemon"] += 1
                        sock.close()
                        continue
                except (BlockingIOError, ssl.SSLWantReadError):
                    pass
                except OSError:
                    self.attack["idle dropped by daemon"] += 1
                    sock.close()
                    continue
                alive.append(sock)
            held = alive[-1000:]
        for sock in held:
            sock.close()

    def slowloris(self, until: float) -> None:
        tls = ssl.create_default_context(cafile=str(self.daemon.ca))
        while time.monotonic() < until and not self.stop.is_set():
            socks = []
            for i in range(50):
                with contextlib.suppress(OSError):
                    s = tls.wrap_socket(self._tcp(f"127.0.5.{i + 1}"),
                                        server_hostname="127.0.0.1")
                    s.sendall(b"POST /v1/enrol HTTP/1.1\r\nHost: x\r\n")
                    socks.append(s)
                    self.attack["slowloris opened"] += 1
            while socks and time.monotonic() < until and not self.stop.is_set():
                for s in list(socks):
                    try:
                        s.sendall(b"X")
                    except OSError:
                        self.attack["slowloris dropped by daemon"] += 1
                        socks.remove(s)
                time.sleep(1)
            for s in socks:
                s.close()

    def oversized(self, until: float) -> None:
        tls = ssl.create_default_context(cafile=str(self.daemon.ca))
        block = b"%x\r\n" % (1 << 20) + b"a" * (1 << 20) + b"\r\n"

        def one() -> None:
            try:
                s = tls.wrap_socket(self._tcp(), server_hostname="127.0.0.1")
            except OSError:
                return
            self.attack["oversized started"] += 1
            try:
                s.sendall(b"POST /v1/enrol HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                          b"Content-Type: application/json\r\n\r\n")
                for _ in range(50):
                    s.sendall(block)
                self.attack["oversized fully sent"] += 1
            except OSError:
                self.attack["oversized cut off"] += 1
            finally:
                s.close()

        while time.monotonic() < until and not self.stop.is_set():
            threads = [threading.Thread(target=one) for _ in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)

    # -- chaos ------------------------------------------------------------------------------

    def run_phase(self, phase: str) -> None:
        self.phase = phase
        until = time.monotonic() + self.phase_s
        if phase in ("idle-conns", "slowloris", "oversized"):
            getattr(self, phase.replace("-conns", "_connections"))(until)
        elif phase == "card-pull":
            while True:  # at least once, however short the phase
                self.pcscd.slot(0).remove()
                time.sleep(0.5)
                self.pcscd.slot(0).insert(CpsApplication(self.cps_config, Timing.zero()))
                self.faults["card pulled and reinserted"] += 1
                time.sleep(2)
                if time.monotonic() >= until - 2.5:
                    break
        elif phase == "pcscd-restart":
            self.pcscd.restart()
            self.faults["pcscd restarted"] += 1
        elif phase == "reader-unplug":
            self.pcscd.set_plugged(0, False)
            time.sleep(self.phase_s / 3)
            self.pcscd.set_plugged(0, True)
            self.faults["reader unplugged and plugged back"] += 1
        elif phase == "kill-9":
            self.daemon.proc.kill()
            self.daemon.proc.wait(10)
            self.faults["daemon killed (-9) and restarted"] += 1
            started = time.monotonic()
            self.budget_mb = fill_budget_mb(self.daemon.state)
            self.daemon = start_daemon(self.base / "daemon", self.env, self.ports,
                                       self.budget_mb, self.header_timeout_s)
            self.attack["daemon restart to listening (ms)"] = int(
                (time.monotonic() - started) * 1000)
        elif phase == "disk-full":
            self.fill_disk(until)
        time.sleep(max(0.0, until - time.monotonic()))

    def fill_disk(self, until: float) -> None:
        """Another writer appends (valid, chained) rows with the daemon's budget applied:
        first to the warning level (then it waits for ``/v1/status`` to say so, as a person
        watching it would), then until SQLite refuses, so the counters get 507. Goes on past
        ``until`` (bounded) if the fill is not done: the phase is about the full disk."""
        settings = DiskSettings(budget_mb=self.budget_mb, warn_ratio=0.8, journal_dir=None)
        log = AuditLog.open(self.daemon.state)
        log.cap_pages(settings)
        pad = "x" * 8000
        hard_stop = until + 60
        try:
            while time.monotonic() < hard_stop:
                futures = [log.submit(client="soak-filler", operator="-", action="fill",
                                      target="-", outcome="ok", detail={"pad": pad})
                           for _ in range(50 if len(pad) > 100 else 1)]
                try:
                    for f in futures:
                        f.result()
                except AuditUnavailable:
                    if len(pad) <= 100:
                        self.faults["audit filled to its budget"] += 1
                        break  # full to the last page
                    pad = "x" * 50  # fill the remainder with small rows
                if self.first_warning is None and \
                        disk_health(self.daemon.state, settings).level != "ok":
                    seen_by = time.monotonic() + 4 * self.sample_s + 2
                    while self.first_warning is None and time.monotonic() < seen_by:
                        time.sleep(0.1)
                time.sleep(0.02 if len(pad) > 100 else 0.0)
            # The counters meet the full audit (507) before the phase ends.
            seen_by = time.monotonic() + 10
            while self.first_507 is None and time.monotonic() < seen_by:
                time.sleep(0.1)
        finally:
            log.close()

    def run(self) -> None:
        threads = [threading.Thread(target=self.counter, args=c, daemon=True)
                   for c in self.contexts]
        sampler = threading.Thread(target=self.sampler, daemon=True)
        sampler.start()
        for t in threads:
            t.start()
        try:
            self.phase = "warm-up"
            time.sleep(self.warm_up_s)
            for phase in PHASES:
                print(f"[{time.monotonic() - self.t0:6.1f} s] phase {phase}", flush=True)
                self.run_phase(phase)
        finally:
            self.stop.set()
            for t in threads:
                t.join(40)

    def close(self) -> None:
        self.daemon.proc.terminate()
        try:
            self.daemon.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.daemon.proc.kill()
            self.daemon.proc.wait(5)
        self.pcscd.close()


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


@dataclass(frozen=True)
class PhaseFigures:
    name: str
    ok: int
    """Legitimate requests answered 200 in the phase."""
    p50_ms: float
    p99_ms: float
    p99_over_calm: float
    others: dict[str, int]
    """Every other answer (problem slug, or the client's exception name) and its count."""


@dataclass(frozen=True)
class SoakReport:
    """What one soak measured; ``bench.soak --json`` writes it, tests assert on it."""

    counters: int
    phase_s: float
    header_timeout_s: float
    wall_s: float
    phases: list[PhaseFigures]
    acknowledged_signatures: int
    lost_signatures: int
    """Acknowledged (200) signatures with no audit row of that client and digest."""
    ok_answers: int
    ok_min_per_counter: int
    verify_ok: bool
    verify_text: str
    rss_start_mb: float
    """Mean of the first three samples (first daemon process)."""
    rss_max_mb: float
    rss_after_attacks_mb: float
    """Last sample of ``calm-after``: the first daemon process, after every attack."""
    rss_end_mb: float
    rss_max_by_phase: dict[str, float]
    fds_start: int
    fds_max: int
    fds_end: int
    audit_bytes_start: int
    audit_bytes_end: int
    disk_budget_mb: float
    """The restarted daemon's budget (what the disk phase fills)."""
    first_warning_s: float | None
    first_507_s: float | None
    faults: dict[str, int]
    attackers: dict[str, int]
    rss_over_time: list[tuple[float, str, float, int]] = field(default_factory=list)
    """(seconds, phase, RSS MB, fds) every sample."""

    def phase(self, name: str) -> PhaseFigures:
        return next(p for p in self.phases if p.name == name)


def build_report(soak: Soak) -> SoakReport:
    comptoir = [sys.executable, "-c", "from hostd.cli import main; main()"]
    state = str(soak.daemon.state)
    verify = subprocess.run([*comptoir, "audit", "verify", "--state-dir", state],
                            capture_output=True, text=True, check=False, cwd=ROOT)
    export = subprocess.run([*comptoir, "audit", "export", "--state-dir", state],
                            capture_output=True, text=True, check=False, cwd=ROOT)
    logged = set()
    for line in export.stdout.splitlines():
        row = json.loads(line)
        if row["outcome"] == "ok" and "digest_sha256" in row["detail"]:
            logged.add((row["client"], row["detail"]["digest_sha256"]))
    lost = [a for a in soak.acknowledged if a not in logged]
    calm_p99 = _pct(soak.latencies["calm"], 0.99)
    phases = []
    for phase in PHASES:
        lat = soak.latencies[phase]
        phases.append(PhaseFigures(
            phase, len(lat), round(_pct(lat, 0.5), 1), round(_pct(lat, 0.99), 1),
            round(_pct(lat, 0.99) / calm_p99, 2),
            {k: v for k, v in soak.outcomes[phase].most_common() if k != "200"}))
    samples = [s for s in soak.samples if s[2] == s[2] and s[3] >= 0]
    first_pid = samples[0][5] if samples else -1
    first = [s for s in samples if s[5] == first_pid]
    after = [s[2] for s in first if s[1] == "calm-after"]
    by_phase: dict[str, float] = {}
    for _t, phase, rss, _f, _d, _pid in samples:
        by_phase[phase] = max(by_phase.get(phase, 0.0), round(rss, 1))
    disk = [s[4] for s in soak.samples if s[4]]
    nan = float("nan")
    return SoakReport(
        counters=len(soak.contexts), phase_s=soak.phase_s,
        header_timeout_s=soak.header_timeout_s,
        wall_s=round(time.monotonic() - soak.t0, 1), phases=phases,
        acknowledged_signatures=len(soak.acknowledged), lost_signatures=len(lost),
        ok_answers=sum(soak.ok_by_counter.values()),
        ok_min_per_counter=min((soak.ok_by_counter[n] for n, _ in soak.contexts), default=0),
        verify_ok=verify.returncode == 0,
        verify_text=verify.stdout.strip() or verify.stderr.strip(),
        rss_start_mb=round(statistics.mean(s[2] for s in samples[:3]), 1) if samples else nan,
        rss_max_mb=round(max((s[2] for s in samples), default=nan), 1),
        rss_after_attacks_mb=round(after[-1], 1) if after else nan,
        rss_end_mb=round(samples[-1][2], 1) if samples else nan,
        rss_max_by_phase=by_phase,
        fds_start=samples[0][3] if samples else -1,
        fds_max=max((s[3] for s in samples), default=-1),
        fds_end=samples[-1][3] if samples else -1,
        audit_bytes_start=disk[0] if disk else 0, audit_bytes_end=disk[-1] if disk else 0,
        disk_budget_mb=soak.budget_mb,
        first_warning_s=None if soak.first_warning is None else round(soak.first_warning, 1),
        first_507_s=None if soak.first_507 is None else round(soak.first_507, 1),
        faults=dict(soak.faults), attackers=dict(soak.attack),
        rss_over_time=[(round(t, 1), ph, round(r, 1), f) for t, ph, r, f, _d, _p in samples],
    )


def print_report(report: SoakReport) -> None:
    print()
    print(f"Soak: {report.counters} counters, phases of {report.phase_s:.0f} s, fast card "
          f"timing, header deadline {report.header_timeout_s} s, {report.wall_s:.0f} s in all")
    print("| phase | ok | p50 ms | p99 ms | p99 / calm | other answers |")
    print("|---|---|---|---|---|---|")
    for p in report.phases:
        others = ", ".join(f"{k} {v}" for k, v in p.others.items())
        print(f"| {p.name} | {p.ok} | {p.p50_ms:.1f} | {p.p99_ms:.1f} | "
              f"{p.p99_over_calm:.2f} | {others or '-'} |")
    print()
    print(f"answers 200: {report.ok_answers} (fewest for one counter: "
          f"{report.ok_min_per_counter}); acknowledged signatures: "
          f"{report.acknowledged_signatures}; lost (no audit row by client and digest): "
          f"{report.lost_signatures}")
    print(f"audit verify: {report.verify_text}")
    print(f"RSS MB: start {report.rss_start_mb}, max {report.rss_max_mb}, after the attacks "
          f"(same process) {report.rss_after_attacks_mb}, end (restarted daemon) "
          f"{report.rss_end_mb}; fds: start {report.fds_start}, max {report.fds_max}, "
          f"end {report.fds_end}")
    print("RSS max by phase: " + ", ".join(
        f"{p} {v:.0f}" for p, v in report.rss_max_by_phase.items()))
    print(f"audit bytes: start {report.audit_bytes_start >> 10} KiB, end "
          f"{report.audit_bytes_end >> 10} KiB (budget after the restart "
          f"{report.disk_budget_mb} MiB)")
    print(f"disk warning first seen at {report.first_warning_s} s; first 507 at "
          f"{report.first_507_s} s")
    print("faults: " + ", ".join(f"{k} {v}" for k, v in sorted(report.faults.items())))
    print("attackers: " + ", ".join(f"{k} {v}" for k, v in sorted(report.attackers.items())))


def run_soak(phase_s: float, counters: int = COUNTERS, base: Path | None = None) -> SoakReport:
    """One whole soak: set up, every phase, tear down, then the report."""
    base = base or Path(tempfile.mkdtemp(prefix="comptoir-soak-"))
    soak = Soak(base, phase_s, counters)
    try:
        soak.run()
    finally:
        soak.close()
    return build_report(soak)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=3.0,
                        help="total length of the phases (they share it equally); 60 for a "
                        "long soak")
    parser.add_argument("--phase-seconds", type=float, default=None,
                        help="length of each phase instead of --minutes (at least 6)")
    parser.add_argument("--counters", type=int, default=COUNTERS)
    parser.add_argument("--json", type=Path, default=None, help="also write the report here")
    args = parser.parse_args()
    if args.phase_seconds is not None:
        phase_s = args.phase_seconds
    else:
        phase_s = min(max(args.minutes, 1.0), 24 * 60) * 60 / len(PHASES)
    report = run_soak(max(6.0, phase_s), max(1, min(args.counters, 200)))
    print_report(report)
    if args.json is not None:
        args.json.write_text(json.dumps(dataclasses.asdict(report), indent=1))
    raise SystemExit(1 if report.lost_signatures or not report.verify_ok else 0)


if __name__ == "__main__":
    main()
