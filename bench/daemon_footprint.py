"""What ``comptoir serve`` costs the box before any work: idle RSS and cold start to the first
accepted TLS connection, each beside a baseline measured in the same run.

    .venv/bin/python -m bench.daemon_footprint [--runs 5] [--idle-s 3] [--before CHECKOUT]

The daemon runs as its own process on a provisioned state directory (real SoftHSM2 token, the
box's local CA), with a private pcscd and two empty vpcd readers so its reader watcher is live,
as on a box. The baseline is a bare uvicorn + FastAPI "hello" app on the same TLS settings
(``hostd.tls.server_context``: mTLS, the same certificate, key and client CA) and the same
event loop (uvloop + httptools), so the difference is what the daemon itself adds.

Per run and per program:
- cold start: from ``Popen`` to the first TLS handshake that completes with a client
  certificate (the client retries every 10 ms, bounded), then to the first answered request;
- idle RSS: ``VmRSS`` after ``--idle-s`` seconds with no traffic.
Both programs start from byte-compiled modules, as on a box (the image's venv is compiled when
it is built, and its root is read-only): the bench compiles the project's packages first (the
baseline is one small script). Without this, a shell with ``PYTHONDONTWRITEBYTECODE``
set recompiles every project module at each start (about 0.5 s on this machine), which no box
ever does.
``--before /path/to/another/checkout`` also measures that checkout's ``comptoir serve`` (same
interpreter, same state, its own code), e.g. ``main`` before a change, in the same run.
Targets (issue 13): idle RSS ≤ 80 MB, cold start ≤ 1.5 s. Everything binds 127.0.0.1.
"""

from __future__ import annotations

import argparse
import compileall
import http.client
import os
import re
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = 30.0
PACKAGES = ("hostd", "drivers", "provisioning", "appliance")

BASELINE_APP = '''
import sys, asyncio, socket
from pathlib import Path
import uvicorn, uvloop
from fastapi import FastAPI
from hostd.tls import server_context

cert, key, ca = (Path(p) for p in sys.argv[1:4])
app = FastAPI()

@app.get("/hello")
async def hello() -> dict[str, str]:
    return {"hello": "world"}

ctx = server_context(cert, key, client_ca=ca, require_client=True)
sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind(("127.0.0.1", 0))
sock.listen(128)
config = uvicorn.Config(app, http="httptools", ws="none", lifespan="off", log_level="warning",
                        ssl_context_factory=lambda _c, _d: ctx, access_log=False)
print(f"serving on https://127.0.0.1:{sock.getsockname()[1]}", flush=True)
uvloop.run(uvicorn.Server(config).serve(sockets=[sock]))
'''


@dataclass
class Sample:
    handshake_s: float
    first_answer_s: float
    rss_mb: float


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmRSS:\s+(\d+) kB", status)
    assert match is not None
    return int(match.group(1)) / 1024


def client_context(ca: Path, cert: Path, key: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(ca))
    ctx.load_cert_chain(str(cert), str(key))
    return ctx


def measure(cmd: list[str], env: dict[str, str], ctx: ssl.SSLContext, path: str,
            idle_s: float, cwd: Path = ROOT) -> Sample:
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        found = re.search(r"https://127\.0\.0\.1:(\d+)", line)
        if not found:
            raise SystemExit(f"{cmd[-1]} did not start: {line!r}")
        port = int(found.group(1))
        handshake = None
        while time.perf_counter() - t0 < START_TIMEOUT_S:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \
                        ctx.wrap_socket(raw, server_hostname="localhost") as tls:
                    tls.getpeercert()
                    handshake = time.perf_counter() - t0
                    break
            except (OSError, ssl.SSLError):
                time.sleep(0.01)
        if handshake is None:
            raise SystemExit("no TLS handshake within the bound")
        conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=30)
        conn.request("GET", path)
        answer = conn.getresponse()
        answer.read()
        first_answer = time.perf_counter() - t0
        if answer.status != 200:
            raise SystemExit(f"GET {path}: {answer.status}")
        conn.close()
        time.sleep(idle_s)
        return Sample(handshake, first_answer, rss_mb(proc.pid))
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def provision(base: Path) -> tuple[Path, Path, Path, Path]:
    """A provisioned box state and one enrolled counter: (state, ca.pem, cert, key)."""
    from provisioning.ca import LocalCA, initialize
    from provisioning.clients import ClientRegistry

    state = base / "state"
    store = initialize(state, ["localhost", "127.0.0.1"])
    try:
        key = ec.generate_private_key(ec.SECP256R1())
        csr = (x509.CertificateSigningRequestBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Bench")]))
               .sign(key, hashes.SHA256()))
        cert_pem = LocalCA(store).issue_client_certificate(
            csr.public_bytes(serialization.Encoding.PEM), "Bench", "counter")
        with ClientRegistry(state) as registry:
            registry.enrol("Bench", "counter", cert_pem)
    finally:
        store.close()
    (base / "bench.pem").write_bytes(cert_pem)
    (base / "bench.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return state, state / "tls" / "ca.pem", base / "bench.pem", base / "bench.key"


def compile_like_a_box(checkout: Path) -> None:
    """Writes the ``__pycache__`` files a box's venv has (it never compiles at start)."""
    for package in PACKAGES:
        if (checkout / package).is_dir() and not compileall.compile_dir(
                checkout / package, quiet=1, workers=1):
            raise SystemExit(f"{checkout / package}: does not compile")


def summary(name: str, samples: list[Sample]) -> tuple[float, float, float]:
    hs = statistics.median(s.handshake_s for s in samples)
    fa = statistics.median(s.first_answer_s for s in samples)
    rss = statistics.median(s.rss_mb for s in samples)
    spread = f"{min(s.handshake_s for s in samples):.2f}–{max(s.handshake_s for s in samples):.2f}"
    print(f"{name:<22} cold start to TLS {hs:5.2f} s ({spread}), first answer {fa:5.2f} s, "
          f"idle RSS {rss:5.1f} MB")
    return hs, fa, rss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--idle-s", type=float, default=3.0)
    parser.add_argument("--before", type=Path, help="another checkout to measure as well")
    args = parser.parse_args()
    if not 1 <= args.runs <= 50:
        raise SystemExit("--runs: 1 to 50")

    from drivers.sim.pcscd import PrivatePcscd

    with tempfile.TemporaryDirectory(prefix="comptoir-footprint-") as tmp:
        base = Path(tmp)
        state, ca, cert, key = provision(base)
        cfg = base / "comptoir.toml"
        cfg.write_text(f'state_dir = "{state}"\n[server]\nlisten = "127.0.0.1"\nport = 0\n'
                       "enrol_port = 0\n")
        (base / "baseline.py").write_text(BASELINE_APP)
        for checkout in (ROOT, *([args.before] if args.before is not None else [])):
            compile_like_a_box(checkout)
        ctx = client_context(ca, cert, key)
        with PrivatePcscd(base / "pcscd", readers=2) as pcscd:
            env = {**os.environ, **pcscd.client_env()}
            env.pop("COMPTOIR_STATE_DIR", None)
            daemon_cmd = [sys.executable, "-m", "hostd.cli", "serve", "--config", str(cfg)]
            baseline_cmd = [sys.executable, str(base / "baseline.py"),
                            str(state / "tls" / "server.pem"), str(state / "tls" / "server.key"),
                            str(ca)]
            daemon: list[Sample] = []
            baseline: list[Sample] = []
            before: list[Sample] = []
            for _ in range(args.runs):  # interleaved, so all see the same machine load
                baseline.append(measure(baseline_cmd, env, ctx, "/hello", args.idle_s))
                daemon.append(measure(daemon_cmd, env, ctx, "/v1/readers", args.idle_s))
                if args.before is not None:
                    before.append(measure(daemon_cmd, env, ctx, "/v1/readers", args.idle_s,
                                          cwd=args.before.resolve()))
    print(f"{args.runs} runs each, medians; idle {args.idle_s:.0f} s before reading VmRSS")
    b_hs, b_fa, b_rss = summary("baseline (hello app)", baseline)
    if before:
        summary(f"before ({args.before.name})", before)
    d_hs, d_fa, d_rss = summary("comptoir serve", daemon)
    print(f"ratio daemon/baseline: cold start ×{d_hs / b_hs:.2f}, first answer "
          f"×{d_fa / b_fa:.2f}, idle RSS ×{d_rss / b_rss:.2f} (+{d_rss - b_rss:.1f} MB)")
    print(f"targets: idle RSS ≤ 80 MB: {'met' if d_rss <= 80 else 'NOT met'} ({d_rss:.1f} MB); "
          f"cold start ≤ 1.5 s: {'met' if d_hs <= 1.5 else 'NOT met'} ({d_hs:.2f} s)")


if __name__ == "__main__":
    main()
