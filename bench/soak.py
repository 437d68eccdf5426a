"""Soak: 20 counters signing and reading Vitale while a chaos schedule attacks the box.

Bounded in time (``--minutes``, default 3; an hour for a person, a few minutes for CI). The
daemon is a real ``comptoir serve`` process; cards are simulators behind vpcd/pcscd (fast card
timing); every request is mTLS over 127.0.0.1. The schedule cycles through phases of equal
length: calm, idle connections (TCP and TLS) held on the enrolment port, slowloris clients,
parallel 50 MB bodies, the CPS pulled and reinserted, pcscd restarted, the reader unplugged,
the daemon kill -9'd and restarted, and finally the audit database filled to its disk budget.

Reported: acknowledged signatures lost (must be 0: each is looked up in the exported audit log
by client and digest), ``audit verify``, p50/p99 of legitimate requests per phase against calm,
the daemon's RSS and file descriptors over time, disk used, and what the attackers got.

Run: ``.venv/bin/python -m bench.soak --minutes 3`` (CI-size) or ``--minutes 60``.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
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
from dataclasses import replace
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
from hostd.disk import DiskSettings

ROOT = Path(__file__).resolve().parent.parent
COUNTERS = 20
DISK_BUDGET_MB = 24.0
PHASES = ("calm", "idle-conns", "slowloris", "oversized", "card-pull", "pcscd-restart",
          "reader-unplug", "kill-9", "calm-after", "disk-full")


def start_daemon(base: Path, env: dict[str, str], ports: tuple[int, int] = (0, 0)) -> Daemon:
    state = base / "state"
    if not state.exists():
        from provisioning.ca import initialize

        initialize(state, ["localhost", "127.0.0.1"]).close()
    cfg = base / "comptoir.toml"
    cfg.write_text(
        f'state_dir = "{state}"\n[server]\nlisten = "127.0.0.1"\nport = {ports[0]}\n'
        f"enrol_port = {ports[1]}\n[enrolment]\nattempts_per_minute = 1000\n"
        "attempts_per_source = 1000\n[scheduler]\ndeadline_s = 30\n"
        f"[disk]\nbudget_mb = {DISK_BUDGET_MB}\nwarn_ratio = 0.8\n"
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
    def __init__(self, base: Path, minutes: float) -> None:
        self.base = base
        self.phase_s = max(6.0, minutes * 60 / len(PHASES))
        self.phase = "setup"
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.outcomes: dict[str, Counter[str]] = defaultdict(Counter)
        self.acknowledged: list[tuple[str, str]] = []
        self.samples: list[tuple[float, str, float, int, int]] = []
        self.attack: Counter[str] = Counter()
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
        self.daemon = start_daemon(base / "daemon", self.env)
        self.ports = (int(self.daemon.api.rsplit(":", 1)[1]),
                      int(self.daemon.enrol.rsplit(":", 1)[1]))
        clients = base / "clients"
        clients.mkdir()
        self.contexts = [(f"Comptoir {i:02d}", enrol_client(self.daemon, f"Comptoir {i:02d}",
                                                            clients))
                         for i in range(COUNTERS)]
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
        while not self.stop.wait(2):
            rss, fds = _proc_figures(self.daemon.proc.pid)
            disk = 0
            with contextlib.suppress(Exception), \
                    httpx.Client(verify=admin_ctx, timeout=5) as http:
                status = http.get(f"{self.daemon.api}/v1/status").json()["disk"]
                disk = status["audit_bytes"]
                if status["level"] != "ok" and self.first_warning is None:
                    self.first_warning = time.monotonic() - self.t0
            self.samples.append((time.monotonic() - self.t0, self.phase, rss, fds, disk))

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
            while time.monotonic() < until:
                self.pcscd.slot(0).remove()
                time.sleep(0.5)
                self.pcscd.slot(0).insert(CpsApplication(self.cps_config, Timing.zero()))
                time.sleep(2)
        elif phase == "pcscd-restart":
            self.pcscd.restart()
        elif phase == "reader-unplug":
            self.pcscd.set_plugged(0, False)
            time.sleep(self.phase_s / 3)
            self.pcscd.set_plugged(0, True)
        elif phase == "kill-9":
            self.daemon.proc.kill()
            self.daemon.proc.wait(10)
            started = time.monotonic()
            self.daemon = start_daemon(self.base / "daemon", self.env, self.ports)
            self.attack["daemon restart to listening (ms)"] = int(
                (time.monotonic() - started) * 1000)
        elif phase == "disk-full":
            self.fill_disk(until)
        time.sleep(max(0.0, until - time.monotonic()))

    def fill_disk(self, until: float) -> None:
        """Another writer appends (valid, chained) rows with the daemon's budget applied,
        until SQLite refuses: the daemon must warn first, then answer 507."""
        log = AuditLog.open(self.daemon.state)
        log.cap_pages(DiskSettings(budget_mb=DISK_BUDGET_MB, journal_dir=None))
        pad = "x" * 8000
        try:
            while time.monotonic() < until:
                futures = [log.submit(client="soak-filler", operator="-", action="fill",
                                      target="-", outcome="ok", detail={"pad": pad})
                           for _ in range(200 if len(pad) > 100 else 1)]
                try:
                    for f in futures:
                        f.result()
                except AuditUnavailable:
                    if len(pad) <= 100:
                        break  # full to the last page
                    pad = "x" * 50  # fill the remainder with small rows
                time.sleep(0.05 if len(pad) > 100 else 0.0)
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


def report(soak: Soak) -> int:
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
    calm = soak.latencies["calm"]
    calm_p99 = _pct(calm, 0.99)
    print()
    print(f"Soak: {COUNTERS} counters, phases of {soak.phase_s:.0f} s, fast card timing")
    print("| phase | ok | p50 ms | p99 ms | p99 / calm | other answers |")
    print("|---|---|---|---|---|---|")
    for phase in PHASES:
        lat = soak.latencies[phase]
        others = ", ".join(f"{k} {v}" for k, v in soak.outcomes[phase].most_common()
                           if k != "200")
        print(f"| {phase} | {len(lat)} | {_pct(lat, 0.5):.1f} | {_pct(lat, 0.99):.1f} | "
              f"{_pct(lat, 0.99) / calm_p99:.2f} | {others or '-'} |")
    print()
    print(f"acknowledged signatures: {len(soak.acknowledged)}; lost (no audit row by client "
          f"and digest): {len(lost)}")
    print(f"audit verify: {verify.stdout.strip() or verify.stderr.strip()}")
    rss = [s[2] for s in soak.samples if s[2] == s[2]]
    fds = [s[3] for s in soak.samples if s[3] >= 0]
    if rss:
        first = [s[2] for s in soak.samples[:3] if s[2] == s[2]]
        print(f"RSS MB: start {statistics.mean(first):.1f}, max {max(rss):.1f}, "
              f"end {rss[-1]:.1f}; fds: max {max(fds)}, end {fds[-1]}")
        by_phase: dict[str, list[float]] = defaultdict(list)
        for _t, phase, r, _f, _d in soak.samples:
            by_phase[phase].append(r)
        print("RSS max by phase: " + ", ".join(
            f"{p} {max(v):.0f}" for p, v in by_phase.items() if v))
    disk = [s[4] for s in soak.samples if s[4]]
    if disk:
        print(f"audit bytes: start {disk[0] >> 10} KiB, end {disk[-1] >> 10} KiB "
              f"(budget {DISK_BUDGET_MB:.0f} MiB)")
    print(f"disk warning first seen at {soak.first_warning} s; first 507 at {soak.first_507} s")
    print("attackers: " + ", ".join(f"{k} {v}" for k, v in sorted(soak.attack.items())))
    return 1 if lost or verify.returncode != 0 else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=3.0,
                        help="total length (phases share it equally); 60 for a long soak")
    args = parser.parse_args()
    minutes = min(max(args.minutes, 1.0), 24 * 60)
    base = Path(tempfile.mkdtemp(prefix="comptoir-soak-"))
    soak = Soak(base, minutes)
    try:
        soak.run()
    finally:
        soak.close()
    raise SystemExit(report(soak))


if __name__ == "__main__":
    main()
