"""`comptoir serve` stops the same clean way on SIGINT (Ctrl-C), SIGTERM (the service manager)
and SIGHUP (a closed terminal): both listeners drain, the box is closed, exit status 0, no
traceback. The evidence that the box was closed is SQLite's: the last connection to a WAL
database checkpoints it and removes its ``-wal`` file, so a daemon that died before closing its
audit log and registry leaves ``audit.db-wal`` behind (as uvicorn's re-raised SIGTERM did). The
audit writer is flushed too: refused enrolment attempts, counted in memory and written when
their minute ends, are on disk with their count, and the chain verifies."""

from __future__ import annotations

import json
import os
import re
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from drivers.sim import testpki
from drivers.sim.pcscd import PrivatePcscd
from tests.provision_fixtures import provision
from tests.test_stop_signals import _gone

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP],
                         ids=lambda s: s.name)
def test_serve_closes_the_box_and_exits_0_on_every_stop_signal(
        tmp_path: Path, sig: signal.Signals) -> None:
    state = tmp_path / "state"
    provision(state, testpki.TestPki.create()).close()
    cfg = tmp_path / "comptoir.toml"
    cfg.write_text(f'state_dir = "{state}"\n[server]\nlisten = "127.0.0.1"\nport = 0\n'
                   f'enrol_port = 0\n[terminals]\nports = []\n[disk]\njournal_dir = "{tmp_path}"\n')
    with PrivatePcscd(tmp_path / "pcscd", readers=1) as pcscd:
        env = {**os.environ, **pcscd.client_env()}
        env.pop("COMPTOIR_STATE_DIR", None)
        proc = subprocess.Popen(
            [sys.executable, "-m", "hostd.cli", "serve", "--config", str(cfg)], cwd=REPO,
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            enrol = re.search(r"and :(\d+) \(enrolment\)", line)
            assert enrol, line
            # Serving for real: the enrolment listener answers (and the box's databases are
            # open, each with its WAL file).
            ctx = ssl.create_default_context(cafile=str(state / "tls" / "ca.pem"))
            with httpx.Client(verify=ctx, timeout=10) as http:
                for _ in range(3):
                    answer = http.post(f"https://127.0.0.1:{enrol.group(1)}/v1/enrol",
                                       json={"code": "000000", "csr_pem": "x"})
                    assert answer.status_code in (400, 403, 422), answer.text
            assert (state / "audit.db-wal").exists()
            proc.send_signal(sig)
            _, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "CancelledError" not in err, err
    deadline = time.monotonic() + 5
    while (left := sorted(p.name for p in state.rglob("*.db-wal"))) and \
            time.monotonic() < deadline:
        time.sleep(0.1)
    assert left == [], f"the box was not closed: {left}"
    assert not _gone(str(cfg), 10)  # nothing it started is left running
    comptoir = [sys.executable, "-m", "hostd.cli"]
    export = subprocess.run([*comptoir, "audit", "export", "--state-dir", str(state)],
                            capture_output=True, text=True, cwd=REPO, check=True)
    refused = [json.loads(line) for line in export.stdout.splitlines()
               if '"client.enrol.refused"' in line]
    assert sum(row["detail"]["count"] for row in refused) == 3, export.stdout[-2000:]
    verify = subprocess.run([*comptoir, "audit", "verify", "--state-dir", str(state)],
                            capture_output=True, text=True, cwd=REPO, check=False)
    assert verify.returncode == 0, verify.stdout + verify.stderr
