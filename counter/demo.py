"""``comptoir demo``: the whole appliance on simulated devices, as a technician shows it.

Each part runs as it would on a box, as its own process: the simulated readers and cards
(``comptoir sim run``), the technician's provisioning (``comptoir provision …``), the daemon
(``comptoir serve``), and two counter PCs that enrol with a one-time code and then use the one
CPS at the same time over mTLS. Everything binds to 127.0.0.1.
"""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import httpx
import typer
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID
from rich.console import Console
from rich.table import Table

from counter.demo_cards import DEMO_CPS, DEMO_PIN, DEMO_VITALE, run_card_demo
from drivers.errors import CardError
from drivers.sim import testpki
from drivers.sim.make_sample_cards import PKI_DIR
from hostd.signals import interrupt_on_stop_signals

DEFAULT_API_PORT = 18443
DEFAULT_ENROL_PORT = 18444
OPERATOR = {"X-Comptoir-Operator": "Mme Durand (pr%C3%A9paratrice)"}
START_TIMEOUT_S = 30.0
SIGNATURES_PER_COUNTER = 6


class DemoError(Exception):
    """A step of the demo failed; the message says which."""


def _comptoir(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> str:
    cmd = [sys.executable, "-m", "hostd.cli", *args]
    done = subprocess.run(
        cmd, capture_output=True, text=True, timeout=120, env=env, input=stdin, check=False
    )
    if done.returncode != 0:
        raise DemoError(f"comptoir {' '.join(args)}: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


def _wait_for(what: str, ready: Any, timeout: float = START_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise DemoError(f"{what} did not start within {timeout:.0f} s")
        time.sleep(0.1)


@contextlib.contextmanager
def _process(args: list[str], log: Path, env: dict[str, str] | None = None) -> Iterator[Any]:
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "hostd.cli", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def provision_box(console: Console, state: Path, work: Path) -> None:
    """What the technician does on a new box; the TEST PKI plays the IGC-Santé authority."""
    console.rule("Technician: key store, local CA, the officine's ORG SIGN certificate")
    _comptoir("provision", "--state-dir", str(state), "init", "--name", "127.0.0.1")
    _comptoir("provision", "--state-dir", str(state), "keygen", "org-sign")
    csr_path = work / "org-sign.csr.pem"
    _comptoir(
        "provision", "--state-dir", str(state), "csr", "org-sign",
        "--cn", "PHARMACIE DE LA GARE", "--org", "PHARMACIE DE LA GARE",
        "--structure-id", "3690012345", "-o", str(csr_path),
    )  # fmt: skip
    csr = x509.load_pem_x509_csr(csr_path.read_bytes())
    pki = testpki.TestPki.load(PKI_DIR)
    public = csr.public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    cert = testpki.issue(
        pki.organisations, public, csr.subject,
        key_usage={"digital_signature", "content_commitment"},
    )  # fmt: skip
    issued = work / "org-sign.crt.pem"
    issued.write_bytes(testpki.cert_pem(cert) + testpki.cert_pem(pki.organisations.cert))
    root = work / "test-root.pem"
    root.write_bytes(testpki.cert_pem(pki.root.cert))
    _comptoir("provision", "--state-dir", str(state), "trust", "add", str(root))
    _comptoir("provision", "--state-dir", str(state), "import", "org-sign", str(issued))
    console.print(_comptoir("provision", "--state-dir", str(state), "status").rstrip())


def _enrol(
    state: Path, work: Path, name: str, ca: Path, ports: tuple[int, int]
) -> tuple[httpx.Client, Path]:
    code = _comptoir(
        "provision", "--state-dir", str(state), "pair", "--name", name, "--role", "counter"
    )
    # `comptoir provision pair` prints the code alone on its last line.
    token = code.strip().splitlines()[-1].strip() if code.strip() else ""
    if not token:
        raise DemoError("comptoir provision pair printed no code")
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .sign(key, hashes.SHA256())
    )
    with httpx.Client(verify=_ssl(ca), timeout=10) as http:
        answer = http.post(
            f"https://127.0.0.1:{ports[1]}/v1/enrol",
            json={"code": token, "csr_pem": csr.public_bytes(serialization.Encoding.PEM).decode()},
        )
    if answer.status_code != 200:
        raise DemoError(f"enrolment of {name} refused: {answer.text}")
    slug = name.lower().replace(" ", "-")
    cert_path, key_path = work / f"{slug}.pem", work / f"{slug}.key"
    cert_path.write_text(answer.json()["certificate_pem"])
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    client = httpx.Client(
        base_url=f"https://127.0.0.1:{ports[0]}",
        verify=_ssl(ca, cert_path, key_path),
        timeout=60,
        headers=OPERATOR,
    )
    return client, cert_path


def _ssl(ca: Path, cert: Path | None = None, key: Path | None = None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(ca))
    if cert is not None and key is not None:
        ctx.load_cert_chain(str(cert), str(key))
    return ctx


def _check(response: httpx.Response) -> dict[str, Any]:
    if response.status_code >= 400:
        raise DemoError(f"{response.request.method} {response.request.url.path}: {response.text}")
    body: dict[str, Any] = response.json()
    return body


def counters_share_the_cps(
    console: Console, state: Path, work: Path, readers: tuple[str, str], ports: tuple[int, int]
) -> None:
    cps_reader, vitale_reader = readers
    console.rule("Two counters enrol, then use the one CPS at the same time")
    ca = state / "tls" / "ca.pem"
    counters = [_enrol(state, work, name, ca, ports) for name in ("Comptoir 1", "Comptoir 2")]
    for (_, cert_path), name in zip(counters, ("Comptoir 1", "Comptoir 2"), strict=True):
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        console.print(f"{name} enrolled: {cert.subject.rfc4514_string()}")
    first, second = counters[0][0], counters[1][0]
    reader = quote(cps_reader, safe="")
    pin = DEMO_PIN.decode()
    unlock = _check(first.post(f"/v1/cps/{reader}/unlock", json={"pin": pin}))
    console.print(f"Comptoir 1 unlocked the CPS (tries left {unlock.get('tries_left')})")
    holder = _check(second.get(f"/v1/cps/{reader}"))["holder"]
    console.print(f"Comptoir 2 sees the holder: {holder['prenom']} {holder['nom']}")
    cert_pem = _check(second.get(f"/v1/cps/{reader}/certificates/sign"))["certificate_pem"]
    public = x509.load_pem_x509_certificate(cert_pem.encode()).public_key()
    assert isinstance(public, rsa.RSAPublicKey)

    rows: list[tuple[str, int, float, float]] = []
    lock = threading.Lock()
    t0 = time.monotonic()

    def sign_many(name: str, client: httpx.Client) -> None:
        for i in range(SIGNATURES_PER_COUNTER):
            document = f"{name} — facture {i + 1}".encode()
            start = time.monotonic()
            answer = _check(
                client.post(
                    f"/v1/cps/{reader}/sign",
                    json={"key": "sign", "data_b64": base64.b64encode(document).decode()},
                )
            )
            signature = base64.b64decode(answer["signature_b64"])
            public.verify(signature, document, padding.PKCS1v15(), hashes.SHA256())
            with lock:
                rows.append((name, i + 1, start - t0, time.monotonic() - t0))

    threads = [
        threading.Thread(target=sign_many, args=(n, c), daemon=True)
        for n, c in (("Comptoir 1", first), ("Comptoir 2", second))
    ]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    table = Table(title="Signatures with the one CPS, both counters at once (verified)")
    for col in ("counter", "#", "sent at (s)", "answered at (s)"):
        table.add_column(col)
    for name, i, sent, done in sorted(rows, key=lambda r: r[3]):
        table.add_row(name, str(i), f"{sent:.2f}", f"{done:.2f}")
    console.print(table)
    if len(rows) != 2 * SIGNATURES_PER_COUNTER:
        raise DemoError("not every signature came back")

    read = _check(second.post(f"/v1/vitale/{quote(vitale_reader, safe='')}/read"))
    names = ", ".join(f"{b['prenom']} {b['nom_usuel']}" for b in read["beneficiaries"])
    console.print(f"Comptoir 2 read the carte Vitale: {names}")
    status = _check(first.get("/v1/status"))
    table = Table(title="GET /v1/status: the card queues")
    for col in ("reader", "card", "jobs done", "wait p50 ms", "service p50 ms", "lease"):
        table.add_column(col)
    for r in status["readers"]:
        if not r.get("card_kind"):
            continue
        q = r["queue"]
        lease = r.get("lease") or {}
        table.add_row(
            r["name"], r["card_kind"], str(q["completed"]), f"{q['wait_ms']['p50']:.1f}",
            f"{q['service_ms']['p50']:.1f}", "unlocked" if lease.get("unlocked") else "-",
        )  # fmt: skip
    console.print(table)
    for client, _ in counters:
        client.close()


def run_demo(console: Console, directory: Path, keep_running: bool, ports: tuple[int, int]) -> None:
    api_port, enrol_port = ports
    if directory.exists():
        shutil.rmtree(directory)
    sim_dir, state, work = directory / "sim", directory / "state", directory / "work"
    for d in (sim_dir, state, work):
        d.mkdir(parents=True)
    sim_args = [
        "sim", "run", "--dir", str(sim_dir), "--readers", "2",
        "--insert", f"0={DEMO_CPS}", "--insert", f"2={DEMO_VITALE}",
    ]  # fmt: skip
    with _process(sim_args, directory / "sim.log") as sim:
        _wait_for("the card simulator", lambda: (sim_dir / "sim.sock").exists())
        if sim.poll() is not None:
            raise DemoError(f"the simulator stopped: see {directory / 'sim.log'}")
        socket_path = sim_dir / "pcscd" / "pcscd.comm"
        os.environ["PCSCLITE_CSOCK_NAME"] = str(socket_path)
        env = dict(os.environ)
        from drivers.pcsc import list_readers

        _wait_for("the simulated readers", lambda: len(_safe(list_readers)) >= 4)
        readers = sorted(_safe(list_readers))
        cps_reader, vitale_reader = readers[0], readers[2]
        run_card_demo(console, cps_reader, vitale_reader)
        provision_box(console, state, work)
        config = work / "comptoir.toml"
        config.write_text(
            f'state_dir = "{state}"\n\n[server]\nlisten = "127.0.0.1"\n'
            f"port = {api_port}\nenrol_port = {enrol_port}\n"
        )
        console.rule("The daemon: comptoir serve (mTLS API and enrolment listener)")
        with _process(["serve", "--config", str(config)], directory / "serve.log", env) as srv:
            _wait_for("comptoir serve", lambda: _port_open(api_port) or srv.poll() is not None)
            if srv.poll() is not None:
                raise DemoError(f"comptoir serve stopped: {_tail(directory / 'serve.log')}")
            console.print(f"listening on https://127.0.0.1:{api_port} (mTLS) and :{enrol_port}")
            counters_share_the_cps(console, state, work, (cps_reader, vitale_reader), ports)
            console.rule("Audit log")
            console.print(_comptoir("audit", "verify", "--state-dir", str(state)).rstrip())
            if keep_running:
                console.print(
                    f"\nThe appliance keeps running. In another shell:\n"
                    f"  .venv/bin/comptoir sim remove --dir {sim_dir} --slot 0   # pull the CPS\n"
                    f"  .venv/bin/comptoir audit export --state-dir {state}\n"
                    f"Client certificates for curl are in {work}. Ctrl-C stops everything."
                )
                with contextlib.suppress(KeyboardInterrupt):
                    while srv.poll() is None and sim.poll() is None:
                        time.sleep(0.5)


def _safe(fn: Any) -> list[str]:
    try:
        return list(fn())
    except CardError:  # pcscd still starting: the caller retries until its deadline
        return []


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _tail(path: Path, lines: int = 5) -> str:
    return " | ".join(path.read_text(errors="replace").splitlines()[-lines:])


app = typer.Typer(add_completion=False)
"""``comptoir demo`` (one command; the root CLI loads this module only for it)."""


@app.command("demo")
def demo(
    directory: Annotated[
        Path, typer.Option("--dir", help="Where the demo keeps its state (wiped first).")
    ] = Path("demo-state"),
    keep_running: Annotated[
        bool, typer.Option(help="Keep the appliance running after the tour (Ctrl-C stops).")
    ] = False,
    api_port: Annotated[int, typer.Option(help="mTLS API port.")] = DEFAULT_API_PORT,
    enrol_port: Annotated[int, typer.Option(help="Enrolment port.")] = DEFAULT_ENROL_PORT,
) -> None:
    """The appliance on simulated readers and cards: cards, provisioning, two counters."""
    console = Console()
    try:
        # SIGTERM/SIGHUP (a service manager, a closed terminal) unwind like Ctrl-C: every
        # ``_process`` block stops its child (comptoir serve, sim run and its pcscd).
        with interrupt_on_stop_signals():
            run_demo(console, directory.resolve(), keep_running, (api_port, enrol_port))
    except DemoError as exc:
        typer.echo(f"demo: {exc}", err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        typer.echo("demo: stopped; everything it started was stopped", err=True)
        raise typer.Exit(130) from None
