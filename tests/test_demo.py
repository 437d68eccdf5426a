"""The demo is what a technician shows on a new box: it must run end to end on a clean state."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_demo_runs_the_whole_appliance_on_simulated_devices(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PCSCLITE_CSOCK_NAME"}
    env["COLUMNS"] = "120"
    done = subprocess.run(
        [sys.executable, "-m", "hostd.cli", "demo", "--dir", str(tmp_path / "demo"),
         "--api-port", str(_free_port()), "--enrol-port", str(_free_port())],
        capture_output=True, text=True, timeout=240, cwd=REPO, env=env, check=False,
    )  # fmt: skip
    out = done.stdout
    assert done.returncode == 0, done.stderr + out[-2000:]
    # The card layer: the CPS unlocked and used with both keys, the Vitale read.
    assert "PIN verified on the card" in out
    assert out.count("-byte RSA signature, verified against") == 2
    assert "Éloïse" in out and "Noël" in out
    # Provisioning left a valid ORG SIGN chain; both counters enrolled and shared the CPS.
    assert "valid up to CN=TEST AC RACINE" in out
    assert "Comptoir 1 enrolled" in out and "Comptoir 2 enrolled" in out
    rows = [line for line in out.splitlines() if line.startswith("│ Comptoir ")]
    assert sum("Comptoir 1" in r for r in rows) == 6 and sum("Comptoir 2" in r for r in rows) == 6
    # INSi from the demo carte Vitale in both modes (doubles), then the DMP's TD0.2.
    ins_rows = [line for line in out.splitlines() if "284056938104286" in line]
    assert any(r.startswith("│ certificate │ 00 ") for r in ins_rows), out[-3000:]
    assert any(r.startswith("│ cpx ") and "│ 00 " in r for r in ins_rows)
    assert "DMP TD0.2 for 284056938104286: found=True" in out
    assert "audit log OK" in out
    # The technician paired Comptoir 1's terminal; the pharmacist unlocked the CPS on its keypad.
    assert "paired terminal" in out and "(Comptoir 1)" in out
    assert "Comptoir 1 unlocked the CPS from its terminal (tries left 3)" in out
    assert "Code PIN : ****" in out
    # Scanning: the same ordonnance at both counters is flagged to both; the holder closes it;
    # an ApCV QR scanned at a counter is read through the shared CPS, once.
    guards = [line for line in out.splitlines() if "open-at-another-counter" in line]
    assert {c for c in ("Comptoir 1", "Comptoir 2") if any(c in g for g in guards)} == {
        "Comptoir 1", "Comptoir 2"}
    assert "Comptoir 2 tries to close it: 409 not-holder" in out
    assert "open dispensations now: 0" in out
    assert "source apcv-qr" in out and "Bénédicte MARTIN" in out
    assert "the same QR again: 422 ['apcv_qr_02']" in out
    # The PIN is typed once, by the demo "person", and is never printed or logged.
    pin = re.compile(r"(?<!\d)1234(?!\d)")
    assert not pin.search(out)
    assert not pin.search((tmp_path / "demo" / "serve.log").read_text())
