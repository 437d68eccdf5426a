"""``comptoir serve`` as a process: one-line start-up errors, and kill -9 under load loses no
acknowledged operation (the audit row is fsynced before the answer leaves)."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import signal
import ssl
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from drivers.sim import testpki
from provisioning.clients import ClientRegistry
from provisioning.slots import Slot
from tests.api_cards_support import PIN
from tests.hostd_support import OPERATOR, cps_card, cps_config
from tests.provision_fixtures import certify, provision
from tests.rig import PcscRig

ROOT = Path(__file__).resolve().parent.parent
COMPTOIR = [sys.executable, "-c", "from hostd.cli import main; main()"]


def comptoir(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*COMPTOIR, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, check=False)


def write_config(path: Path, state: Path, extra: str = "") -> Path:
    path.write_text(
        f'state_dir = "{state}"\n[server]\nlisten = "127.0.0.1"\nport = 0\nenrol_port = 0\n'
        # The tests send the PIN in the API (a box takes it from the terminal's keypad only).
        "[cps]\napi_pin = true\n" + extra
    )
    return path


def test_bad_config_fails_with_one_line(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[cps]\nend_of_day = "7pm"\n')
    done = comptoir("serve", "--config", str(cfg))
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "cps.end_of_day: must be HH:MM" in done.stderr


def test_unprovisioned_or_missing_state_fails_with_one_line(tmp_path: Path) -> None:
    missing = comptoir("serve", "--config", str(write_config(tmp_path / "a.toml",
                                                               tmp_path / "nope")))
    assert missing.returncode == 2 and "state directory" in missing.stderr
    assert missing.stderr.strip().count("\n") == 0
    (tmp_path / "empty").mkdir()
    empty = comptoir("serve", "--config", str(write_config(tmp_path / "b.toml",
                                                             tmp_path / "empty")))
    assert empty.returncode == 2 and "provision" in empty.stderr
    assert empty.stderr.strip().count("\n") == 0


def _enrol(enrol_url: str, ca: Path, code: str, out: Path) -> ssl.SSLContext:
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "x")]))
           .sign(key, hashes.SHA256()))
    with httpx.Client(verify=ssl.create_default_context(cafile=str(ca)), timeout=10) as http:
        answer = http.post(f"{enrol_url}/v1/enrol", json={
            "code": code, "csr_pem": csr.public_bytes(serialization.Encoding.PEM).decode()})
    assert answer.status_code == 200, answer.text
    (out / "c.pem").write_text(answer.json()["certificate_pem"])
    (out / "c.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    ctx = ssl.create_default_context(cafile=str(ca))
    ctx.load_cert_chain(str(out / "c.pem"), str(out / "c.key"))
    return ctx


@pytest.mark.slow
def test_kill_9_under_load_then_audit_verifies_and_nothing_acknowledged_is_missing(
    tmp_path: Path, pcsc_rig: PcscRig
) -> None:
    state = tmp_path / "state"
    pki = testpki.TestPki.create()
    store = provision(state, pki)
    certify(store, pki, Slot.ORG_SIGN)
    store.close()
    cfg = write_config(tmp_path / "comptoir.toml", state)
    proc = subprocess.Popen([*COMPTOIR, "serve", "--config", str(cfg)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        ports = re.search(r":(\d+) \(mTLS\) and :(\d+) \(enrolment\)", line)
        assert ports, line + (proc.stderr.read() if proc.stderr else "")
        api, enrol = (f"https://127.0.0.1:{p}" for p in ports.groups())
        with ClientRegistry(state) as registry:
            code = registry.create_pairing_code("Comptoir K", "counter", 600)
        ctx = _enrol(enrol, state / "tls" / "ca.pem", code, tmp_path)
        reader = pcsc_rig.insert(0, cps_card(replace(cps_config(pki), pin=PIN)))
        http = httpx.Client(base_url=api, verify=ctx, timeout=10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(
                r["card_kind"] == "cps" for r in http.get("/v1/readers").json()):
            time.sleep(0.05)
        path = httpx.URL(f"/v1/cps/{reader}").raw_path.decode()
        assert http.post(f"{path}/unlock", json={"pin": PIN}, headers=OPERATOR).status_code == 200

        acknowledged: list[str] = []
        lock = threading.Lock()
        stop = threading.Event()

        def load(i: int) -> None:
            with httpx.Client(base_url=api, verify=ctx, timeout=10) as mine:
                for n in range(10_000):
                    if stop.is_set():
                        return
                    digest = hashlib.sha256(f"{i}-{n}".encode()).digest()
                    try:
                        answer = mine.post(f"{path}/sign", headers=OPERATOR, json={
                            "key": "auth", "digest_b64": base64.b64encode(digest).decode()})
                    except httpx.TransportError:
                        return  # the daemon died under us: this one was never acknowledged
                    if answer.status_code == 200:
                        with lock:
                            acknowledged.append(digest.hex())

        threads = [threading.Thread(target=load, args=(i,)) for i in range(5)]
        for t in threads:
            t.start()
        time.sleep(1.5)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        stop.set()
        for t in threads:
            t.join(15)
        http.close()
        assert len(acknowledged) > 20

        verified = comptoir("audit", "verify", "--state-dir", str(state))
        assert verified.returncode == 0, verified.stdout + verified.stderr
        exported = comptoir("audit", "export", "--state-dir", str(state))
        logged = set(re.findall(r'"digest_sha256": "([0-9a-f]{64})"', exported.stdout))
        missing = set(acknowledged) - logged
        assert not missing, f"{len(missing)} acknowledged signatures have no audit row"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
