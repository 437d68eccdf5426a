"""A technician's two visits on a fresh box, driven through the command line as a person would
type it, counted and timed (issue 10: at most 10 technician commands, 5 minutes of machine
time for the token, the ORG certificates and 5 counters enrolled with fingerprint checks).

Visit 1: configuration, ``init``, ``prepare`` (the order). The training authority plays
IGC-Santé. Visit 2: trust the (TEST) root, ``import`` everything that came back in one command
(files shuffled), start the daemon, ``pair --count 5`` with the handover sheet, ``doctor``.
Then five counters enrol with ``comptoir enrol URL CODE --fingerprint FP`` (counter-side, not
counted as technician commands) and call the API with what it installed.

The figures are printed (``pytest -s``) and copied into the closing note; the count is
asserted, the time is not (no timed assertions in tests).
"""

from __future__ import annotations

import json
import random
import re
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
from comptoir_client.api.readers import readers_list
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from counter import identity
from counter.api_client import from_identity
from tests.rig import PcscRig

ROOT = Path(__file__).resolve().parent.parent
COMPTOIR = [sys.executable, "-c", "from hostd.cli import main; main()"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Console:
    """The technician's terminal: every command is a real process; counted unless it is the
    authority's or a counter's."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.commands: list[str] = []
        self.machine_s = 0.0

    def run(self, *args: str, who: str = "technician", code: int = 0) -> str:
        start = time.monotonic()
        done = subprocess.run([*COMPTOIR, *args], cwd=self.work, capture_output=True,
                              text=True, timeout=120, check=False)  # fmt: skip
        self.machine_s += time.monotonic() - start
        if who == "technician":
            self.commands.append(" ".join(args))
        assert done.returncode == code, (args, done.stdout, done.stderr)
        return done.stdout + done.stderr


def test_two_visits_five_counters(tmp_path: Path, pcsc_rig: PcscRig) -> None:
    t0 = time.monotonic()
    con = Console(tmp_path)
    state = tmp_path / "state"
    api_port, enrol_port = free_port(), free_port()

    # Visit 1.
    con.run(
        "config",
        "init",
        "-o",
        "comptoir.toml",
        "--state-dir",
        str(state),
        "--listen",
        "127.0.0.1",
        "--port",
        str(api_port),
        "--enrol-port",
        str(enrol_port),
    )
    # From here every command reads the one configuration file, as on a box.
    conf = ["--config", "comptoir.toml"]
    con.run("provision", *conf, "init", "--name", "127.0.0.1")
    out = con.run("provision", *conf, "prepare",
                  "--org", "PHARMACIE DU MARCHE", "--structure-id", "3750000001")  # fmt: skip
    assert "ORG AUTH_CLI" in out and "ORG SIGN" in out and "ORG CONF" in out
    csrs = sorted(str(p) for p in (tmp_path / "comptoir-order").glob("*.csr.pem"))
    assert len(csrs) == 3

    # IGC-Santé (the training authority) sends the certificates back, days later.
    con.run("sim", "authority", "issue", *csrs, who="authority")
    back = tmp_path / "from-igc-sante"
    files = [str(p) for p in back.glob("*.cert.pem")]
    random.Random(10).shuffle(files)

    # Visit 2.
    con.run("provision", *conf, "trust", "add",
            str(back / "TEST-IGC-SANTE-ROOT.pem"))  # fmt: skip
    out = con.run("provision", *conf, "import", *files)
    for slot in ("org-auth-cli", "org-sign", "org-conf"):
        assert f"{slot}.cert.pem → {slot}:" in out, out
    daemon = subprocess.Popen(
        [*COMPTOIR, "serve", "--config", "comptoir.toml"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    con.commands.append("serve --config comptoir.toml  (systemctl start comptoir on a box)")
    try:
        start = time.monotonic()
        assert daemon.stdout is not None
        line = daemon.stdout.readline()
        con.machine_s += time.monotonic() - start
        assert "serving" in line, line + (daemon.stderr.read() if daemon.stderr else "")
        url = f"https://127.0.0.1:{enrol_port}"
        sheet = con.run("provision", *conf, "pair", "--count", "5", "--sheet", "handover.html")
        assert f"Box enrolment URL: {url}" in sheet
        fp = re.search(r"Box CA SHA-256:\s+(\S+)", sheet)
        codes = re.findall(r"^(Comptoir \d) \(counter\): (\S+)$", sheet, re.M)
        assert fp and len(codes) == 5
        html = (tmp_path / "handover.html").read_text()
        assert fp.group(1) in html and all(code in html for _, code in codes)
        ca = x509.load_pem_x509_certificate((state / "tls" / "ca.pem").read_bytes())
        assert fp.group(1).replace(":", "").lower() == ca.fingerprint(hashes.SHA256()).hex()

        # A malformed CSR is a CSR problem, and the code survives it.
        box_ca = ssl.create_default_context(cafile=str(state / "tls" / "ca.pem"))
        with httpx.Client(verify=box_ca, timeout=10) as raw:
            bad = raw.post(f"{url}/v1/enrol", json={"code": codes[0][1], "csr_pem": "junk"})
        assert bad.status_code == 400 and bad.json()["type"].endswith(":bad-csr"), bad.text

        # A counter given a wrong fingerprint sends nothing.
        wrong = "00" * 32
        out = con.run("enrol", url, codes[0][1], "--fingerprint", wrong, "--dir",
                      str(tmp_path / "evil"), who="counter", code=6)  # fmt: skip
        assert "nothing sent" in out and not (tmp_path / "evil").exists()

        for name, code in codes:
            target = tmp_path / "counters" / name.replace(" ", "-")
            out = con.run("enrol", url, code, "--fingerprint", fp.group(1), "--dir",
                          str(target), "--api-url", f"https://127.0.0.1:{api_port}",
                          who="counter")  # fmt: skip
            assert f"Enrolled as {name} (counter)" in out
            ident = identity.load(target)
            assert (ident.key.stat().st_mode & 0o777) == 0o600
            # The generated API client, set up from what `comptoir enrol` installed.
            with from_identity("Mme Martin", target, timeout_s=10) as client:
                answer = readers_list.sync_detailed(client=client)
            assert answer.status_code == 200, answer.content
            assert isinstance(answer.parsed, list)

        report = con.run("doctor", "--config", "comptoir.toml", "--training", "--json")
        verdict = json.loads(report)
        assert verdict["ready"] is True, [f for f in verdict["findings"] if not f["ok"]]
        assert "5 client(s) enrolled" in report
    finally:
        daemon.terminate()
        daemon.wait(20)
    wall = time.monotonic() - t0
    print(f"\ntechnician commands: {len(con.commands)}")
    for c in con.commands:
        print(f"  comptoir {c}")
    print(f"machine time in commands: {con.machine_s:.1f} s; whole test {wall:.1f} s")
    assert len(con.commands) <= 10
