"""``comptoir demo``: the whole appliance on simulated devices, as a technician shows it.

Each part runs as it would on a box, as its own process: the simulated readers and cards
(``comptoir sim run``), the technician's provisioning (``comptoir provision …``), the daemon
(``comptoir serve``), and two counter PCs that enrol with a one-time code and then use the one
CPS at the same time over mTLS through the generated client (``comptoir_client``), as an LGO
would. Everything binds to 127.0.0.1.
"""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, TypeVar

import httpx
import typer
from comptoir_client import Client
from comptoir_client.api.cards import (
    cps_certificate,
    cps_holder,
    cps_sign,
    cps_unlock,
    vitale_read,
)
from comptoir_client.api.readers import status_get
from comptoir_client.api.teleservices import dmp_existence, ins_search
from comptoir_client.models import (
    CertificateModel,
    CpsHolderResponse,
    DmpExistenceModel,
    DmpExistenceRequest,
    InsSearchModel,
    InsSearchRequest,
    InsSearchRequestModeType0,
    KeyRole,
    LeaseModel,
    OperatorModel,
    ProblemDetails,
    SignatureModel,
    SignRequest,
    StatusModel,
    UnlockedModel,
    UnlockRequest,
    VitaleBeneficiary,
    VitaleReadModel,
)
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from rich.console import Console
from rich.table import Table

from counter.api_client import ApiProblem, connect, expect, tls_context
from counter.demo_cards import DEMO_CPS, DEMO_PIN, DEMO_VITALE, run_card_demo
from counter.demo_scans import ScanDemoError, ScanRig, ordonnance_and_apcv, scan_rig
from drivers.errors import CardError
from drivers.sim import testpki
from drivers.sim.make_sample_cards import PKI_DIR
from drivers.sim.terminal import SimulatedTerminal
from hostd.signals import interrupt_on_stop_signals

DEFAULT_API_PORT = 18443
DEFAULT_ENROL_PORT = 18444
OPERATOR = "Mme Durand (préparatrice)"
START_TIMEOUT_S = 30.0
SIGNATURES_PER_COUNTER = 6

T = TypeVar("T")


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


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM (each of our programs stops what it started), then SIGKILL after 10 s."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


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
        _stop(proc)


@contextlib.contextmanager
def _python(args: list[str], log: Path) -> Iterator[Any]:
    """A Python program of this checkout (the doubles), stopped on exit."""
    with log.open("ab") as out:
        proc = subprocess.Popen([sys.executable, *args], stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    try:
        yield proc
    finally:
        _stop(proc)


TELESERVICES = """[teleservices]
lps_idam = "COMPTOIR-DEMO"
lps_name = "Comptoir"
lps_version = "demo"
lps_instance = "demo-box"
billing_id = "0123456789"
secteur_activite = "SA05"
structure_id = "3690012345"
dmp_secteur_activite = "SA33^1.2.250.1.71.4.2.4"
dmp_homologation_id = "DMP-TEST-0001"

[teleservices.insi]
host = "127.0.0.1"
port = {insi_port}
server_name = "insi.double.test"

[teleservices.dmp]
host = "127.0.0.1"
port = {dmp_port}
server_name = "dmp.double.test"
"""


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
    # ORG AUTH_CLI for INSi and the DMP: CN INSI-AUTO (INSi's rule), key made in the token.
    _comptoir("provision", "--state-dir", str(state), "keygen", "org-auth-cli")
    auth_csr = work / "org-auth-cli.csr.pem"
    _comptoir(
        "provision", "--state-dir", str(state), "csr", "org-auth-cli", "--cn", "INSI-AUTO",
        "--org", "PHARMACIE DE LA GARE", "--structure-id", "3690012345", "-o", str(auth_csr),
    )  # fmt: skip
    auth_req = x509.load_pem_x509_csr(auth_csr.read_bytes())
    auth_public = auth_req.public_key()
    assert isinstance(auth_public, rsa.RSAPublicKey)
    auth_cert = testpki.issue(
        pki.organisations, auth_public, auth_req.subject, key_usage={"digital_signature"},
        extended_key_usage=[ExtendedKeyUsageOID.CLIENT_AUTH],
    )  # fmt: skip
    auth_issued = work / "org-auth-cli.crt.pem"
    auth_issued.write_bytes(testpki.cert_pem(auth_cert) + testpki.cert_pem(pki.organisations.cert))
    _comptoir("provision", "--state-dir", str(state), "import", "org-auth-cli", str(auth_issued))
    console.print(_comptoir("provision", "--state-dir", str(state), "status").rstrip())


def pair_terminal(console: Console, state: Path, terminal: SimulatedTerminal) -> None:
    """The technician pairs Comptoir 1's terminal: both screens show a code, # confirms."""
    console.rule("Technician: pair Comptoir 1's PIN pad terminal (comptoir terminal pair)")

    def technician() -> None:
        with contextlib.suppress(TimeoutError):
            terminal.wait_for(lambda: terminal.screen[0].startswith("Appairage "), 60)
            console.print(f"the terminal shows: {terminal.screen[0]!r} / {terminal.screen[1]!r}"
                          " — the same code: the technician presses #")
            terminal.press("#")

    presser = threading.Thread(target=technician, daemon=True)
    presser.start()
    out = _comptoir("terminal", "pair", "--state-dir", str(state), "--port",
                    str(terminal.link_path), "--name", "Comptoir 1")
    presser.join(timeout=5)
    console.print(out.rstrip())


def _enrol(
    state: Path, work: Path, name: str, ca: Path, ports: tuple[int, int]
) -> tuple[Client, Path]:
    """What ``comptoir enrol`` does on a counter PC, then its client of the mTLS API."""
    code = _comptoir(
        "provision", "--state-dir", str(state), "pair", "--name", name, "--role", "counter"
    )
    # `comptoir provision pair` prints "NAME (role): CODE" on the handover sheet.
    token = next(
        (line.rsplit(" ", 1)[-1] for line in code.splitlines() if line.startswith(f"{name} (")),
        "",
    )
    if not token:
        raise DemoError("comptoir provision pair printed no code")
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .sign(key, hashes.SHA256())
    )
    # The enrolment listener is not part of the mTLS API (nor of its generated client).
    with httpx.Client(verify=tls_context(ca), timeout=10) as http:
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
    client = connect(
        f"https://127.0.0.1:{ports[0]}", ca=ca, cert=cert_path, key=key_path, operator=OPERATOR
    )
    return client, cert_path


def _ok(answer: T | ProblemDetails | None, model: type[T]) -> T:
    try:
        return expect(answer, model)
    except ApiProblem as exc:
        raise DemoError(str(exc)) from exc


def counters_share_the_cps(
    console: Console, state: Path, work: Path, readers: tuple[str, str], ports: tuple[int, int],
    terminal: SimulatedTerminal, stack: contextlib.ExitStack,
) -> dict[str, Client]:
    """Returns the counters' clients, open until ``stack`` closes (the scanning tour goes on
    with them)."""
    cps_reader, vitale_reader = readers
    console.rule("Two counters enrol, then use the one CPS at the same time")
    ca = state / "tls" / "ca.pem"
    counters = [_enrol(state, work, name, ca, ports) for name in ("Comptoir 1", "Comptoir 2")]
    for client, _ in counters:
        stack.enter_context(client)
    _share(console, counters, cps_reader, vitale_reader, terminal)
    return {"Comptoir 1": counters[0][0], "Comptoir 2": counters[1][0]}


def _share(
    console: Console, counters: list[tuple[Client, Path]], cps_reader: str, vitale_reader: str,
    terminal: SimulatedTerminal,
) -> None:
    for (_, cert_path), name in zip(counters, ("Comptoir 1", "Comptoir 2"), strict=True):
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        console.print(f"{name} enrolled: {cert.subject.rfc4514_string()}")
    first, second = counters[0][0], counters[1][0]
    terminal.wait_for(lambda: terminal.screen[0] == "Comptoir 1", START_TIMEOUT_S)
    console.print(f"Comptoir 1's terminal is connected and shows {terminal.screen!r}")

    def pharmacist() -> None:
        # The person at the counter types the PIN on the terminal's keypad; only stars show.
        with contextlib.suppress(TimeoutError):
            terminal.wait_screen("Code PIN", START_TIMEOUT_S)
            console.print(f"the terminal asks: {terminal.screen!r}")
            terminal.press(DEMO_PIN.decode() + "#")

    typing = threading.Thread(target=pharmacist, daemon=True)
    typing.start()
    # The counter PC names its terminal; it never sees the PIN, only the outcome.
    unlock = _ok(
        cps_unlock.sync(cps_reader, client=first, body=UnlockRequest(terminal=terminal.serial)),
        UnlockedModel,
    )
    typing.join(timeout=5)
    typed = [s[0] for s in terminal.screens if s[0].endswith("****")]
    console.print(f"the pharmacist typed on the keypad; the terminal showed {typed[-1:]!r}")
    console.print(f"Comptoir 1 unlocked the CPS from its terminal (tries left "
                  f"{unlock.tries_left}); the terminal shows {terminal.screen!r}")
    holder = _ok(cps_holder.sync(cps_reader, client=second), CpsHolderResponse).holder
    console.print(f"Comptoir 2 sees the holder: {holder.prenom} {holder.nom}")
    cert_pem = _ok(
        cps_certificate.sync(cps_reader, KeyRole.SIGN, client=second), CertificateModel
    ).certificate_pem
    public = x509.load_pem_x509_certificate(cert_pem.encode()).public_key()
    assert isinstance(public, rsa.RSAPublicKey)

    rows: list[tuple[str, int, float, float]] = []
    lock = threading.Lock()
    t0 = time.monotonic()

    def sign_many(name: str, client: Client) -> None:
        for i in range(SIGNATURES_PER_COUNTER):
            document = f"{name} — facture {i + 1}".encode()
            start = time.monotonic()
            body = SignRequest(key=KeyRole.SIGN, data_b64=base64.b64encode(document).decode())
            answer = _ok(cps_sign.sync(cps_reader, client=client, body=body), SignatureModel)
            signature = base64.b64decode(answer.signature_b64)
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

    read = _ok(vitale_read.sync(vitale_reader, client=second), VitaleReadModel)
    names = ", ".join(f"{b.prenom} {b.nom_usuel}" for b in read.beneficiaries)
    console.print(f"Comptoir 2 read the carte Vitale: {names}")
    status = _ok(status_get.sync(client=first), StatusModel)
    table = Table(title="GET /v1/status: the card queues")
    for col in ("reader", "card", "jobs done", "wait p50 ms", "service p50 ms", "lease"):
        table.add_column(col)
    for r in status.readers:
        if not r.card_kind:
            continue
        q = r.queue
        unlocked = isinstance(r.lease, LeaseModel) and r.lease.unlocked
        table.add_row(
            r.name, str(r.card_kind), str(q.completed), f"{q.wait_ms.p50:.1f}",
            f"{q.service_ms.p50:.1f}", "unlocked" if unlocked else "-",
        )  # fmt: skip
    console.print(table)
    ins_in_both_modes(console, second, vitale_reader)


def ins_in_both_modes(console: Console, client: Client, vitale_reader: str) -> None:
    """INSi from the carte Vitale: certificate mode (the box's INSI-AUTO key in its token) and
    CPx mode (the assertion PS signed by the CPS that Comptoir 1 unlocked), against the local
    INSi double; then the DMP's test of existence with the box's VIHF."""
    console.rule("INSi: the patient's INS from the carte Vitale, in both modes")
    table = Table(title="POST /v1/ins/search (beneficiary 1 of the demo carte Vitale)")
    for col in ("mode", "CR", "INS", "kind", "birth name", "first names", "calls"):
        table.add_column(col)
    ins = ""
    for mode in (InsSearchRequestModeType0.CERTIFICATE, InsSearchRequestModeType0.CPX):
        body = InsSearchRequest(
            vitale=VitaleBeneficiary(reader=vitale_reader, beneficiary=0), mode=mode
        )
        answer = _ok(ins_search.sync(client=client, body=body), InsSearchModel)
        found, traits = answer.ins, answer.traits
        ins = found.ins if found is not None else ins
        table.add_row(
            mode.value, answer.code.value, found.ins if found else "-",
            found.kind if found else "-", traits.nom_naissance if traits else "-",
            traits.liste_prenom if traits else "-", str(answer.calls),
        )  # fmt: skip
    console.print(table)
    if not ins:
        raise DemoError("INSi found no INS for the demo carte Vitale")
    operator = OperatorModel(id="810001234567", name="LEFEVRE Hélène", profession="21",
                             cnop_section="G")
    dmp = _ok(
        dmp_existence.sync(client=client, body=DmpExistenceRequest(ins=ins, operator=operator)),
        DmpExistenceModel,
    )
    console.print(f"DMP TD0.2 for {ins}: found={dmp.found} status={dmp.dmp_status} "
                  f"authorisation={dmp.authorization}")


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
    with contextlib.ExitStack() as stack, _process(sim_args, directory / "sim.log") as sim:
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
        terminal = SimulatedTerminal(work / "ttyCOMPTOIR-1")
        terminal.plug()
        stack.callback(terminal.unplug)
        pair_terminal(console, state, terminal)
        insi_port, dmp_port = _free_port(), _free_port()
        config = work / "comptoir.toml"
        console.rule("INSi and DMP test doubles (127.0.0.1, TEST IGC-Santé server certificates)")
        doubles_args = [
            "--pki", str(PKI_DIR), "--work", str(work / "doubles"),
            "--insi-port", str(insi_port), "--dmp-port", str(dmp_port),
        ]  # fmt: skip
        rig = stack.enter_context(scan_rig(work))
        config.write_text(
            f'state_dir = "{state}"\n\n[server]\nlisten = "127.0.0.1"\n'
            f"port = {api_port}\nenrol_port = {enrol_port}\n"
            # The PIN comes only from the terminal's keypad (api_pin is false by default).
            f'\n[terminals]\nports = ["{terminal.link_path}"]\n'
            f'[terminals.bind."{terminal.serial}"]\ncounter = "Comptoir 1"\n'
            'client = "Comptoir 1"\n\n'
            + TELESERVICES.format(insi_port=insi_port, dmp_port=dmp_port)
            + rig.config
        )
        doubles = stack.enter_context(
            _python(["-m", "drivers.sim.services.run", *doubles_args], directory / "doubles.log")
        )
        _wait_for("the téléservice doubles",
                  lambda: _port_open(dmp_port) or doubles.poll() is not None)
        if doubles.poll() is not None:
            raise DemoError(f"the doubles stopped: {_tail(directory / 'doubles.log')}")
        _serve(console, directory, config, env, (sim_dir, state, work), rig,
               (cps_reader, vitale_reader), ports, keep_running, sim, terminal)


def _serve(console: Console, directory: Path, config: Path, env: dict[str, str],
           dirs: tuple[Path, Path, Path], rig: ScanRig, readers: tuple[str, str],
           ports: tuple[int, int], keep_running: bool, sim: Any,
           terminal: SimulatedTerminal) -> None:
    sim_dir, state, work = dirs
    api_port, enrol_port = ports
    console.rule("The daemon: comptoir serve (mTLS API and enrolment listener)")
    with contextlib.ExitStack() as stack, \
            _process(["serve", "--config", str(config)], directory / "serve.log", env) as srv:
        _wait_for("comptoir serve", lambda: _port_open(api_port) or srv.poll() is not None)
        if srv.poll() is not None:
            raise DemoError(f"comptoir serve stopped: {_tail(directory / 'serve.log')}")
        console.print(f"listening on https://127.0.0.1:{api_port} (mTLS) and :{enrol_port}")
        clients = counters_share_the_cps(console, state, work, readers, ports, terminal, stack)
        try:
            ordonnance_and_apcv(
                console, rig, {n: c.get_httpx_client() for n, c in clients.items()}, readers[0]
            )
        except ScanDemoError as exc:
            raise DemoError(str(exc)) from None
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


def _free_port() -> int:
    """A port free on 127.0.0.1 now (for the doubles, started right after)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
