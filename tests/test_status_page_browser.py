"""The status page as the back-office screen shows it: real headless Chromium, real mTLS.

The browser presents an enrolled client certificate and trusts only the box's CA; without a
certificate the page is unreachable (the API listener requires one at the handshake).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from hostd.auth import Role
from tests.hostd_support import Daemon, cps_card, cps_config, start_daemon
from tests.rig import PcscRig

BROWSER_DIR = Path(__file__).resolve().parent / "browser"
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture
def daemon(tmp_path: Path, pcsc_rig: PcscRig) -> Iterator[Daemon]:
    d = start_daemon(tmp_path)
    try:
        yield d
    finally:
        d.stop()


def _open(daemon: Daemon, cert: Path, key: Path, shot: Path) -> dict[str, Any]:
    if not (BROWSER_DIR / "node_modules" / "playwright-core").is_dir() or not CHROMIUM.exists():
        pytest.fail(
            "browser test tools missing: run ./test.sh (installs chromium, playwright-core)"
        )
    args = ["node", "status_page.mjs", f"{daemon.api_url}/status", str(cert), str(key)]
    env = dict(os.environ, NODE_EXTRA_CA_CERTS=str(daemon.ca_path))
    done = subprocess.run(
        [*args, str(shot)], cwd=BROWSER_DIR, env=env, capture_output=True, text=True,
        timeout=90, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        return {"error": done.stderr[-2000:]}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_status_page_shows_readers_cards_and_certificates(
    daemon: Daemon, pcsc_rig: PcscRig, tmp_path: Path
) -> None:
    assert shutil.which("node"), "node is needed for the browser test"
    reader = pcsc_rig.insert(0, cps_card(cps_config(daemon.pki)))
    response, cert, key = daemon.enrol(daemon.pairing_code("Back-office"), "Back-office")
    assert response.status_code == 200, response.text
    shot = tmp_path / "status.png"
    page = _open(daemon, cert, key, shot)
    assert "error" not in page, page.get("error")
    assert page["status"] == 200 and page["title"] == "Comptoir"
    assert page["headings"] == ["Comptoir", "À faire", "Lecteurs", "Certificats", "Terminaux"]
    assert page["scripts"] == 0
    _todo, readers, certificates, terminals = page["tables"]
    assert terminals == [["Série", "Comptoir", "Appairé", "Liaison", "Firmware"]]  # none here
    rows = {row[0]: row for row in readers[1:]}
    assert rows[reader][1] == "cps" and rows[reader][2] == "verrouillée"
    slots = {row[0] for row in certificates[1:]}
    assert "org-sign" in slots
    assert shot.stat().st_size > 1000


def test_status_page_shows_what_is_left_to_do_and_follows_the_technician(
    daemon: Daemon, tmp_path: Path
) -> None:
    """The first-boot list: org-sign certified here, org-auth-cli not; no counter until one
    enrols (the page is read by an admin client, which is not a counter); no terminal paired."""
    response, cert, key = daemon.enrol(daemon.pairing_code("Technicienne", Role.ADMIN), "Tech")
    assert response.status_code == 200, response.text
    page = _open(daemon, cert, key, tmp_path / "todo.png")
    assert "error" not in page, page.get("error")
    assert page["headings"][1] == "À faire"
    steps = {row[1]: row for row in page["tables"][0][1:]}
    assert steps["magasin de clés et certificats du réseau local"][0] == "fait"
    assert steps["certificat org-sign"][0] == "fait"
    assert steps["certificat org-auth-cli"][0] == "à faire"
    assert "comptoir provision keygen org-auth-cli" in steps["certificat org-auth-cli"][2]
    assert steps["aucun comptoir enrôlé"][0] == "à faire"
    assert "comptoir provision pair" in steps["aucun comptoir enrôlé"][2]
    assert steps["aucun terminal appairé"][0] == "à faire"
    assert "comptoir terminal pair" in steps["aucun terminal appairé"][2]

    response, _, _ = daemon.enrol(daemon.pairing_code("Comptoir 1"), "Comptoir 1")
    assert response.status_code == 200, response.text
    page = _open(daemon, cert, key, tmp_path / "todo-after.png")
    steps = {row[1]: row for row in page["tables"][0][1:]}
    assert steps["comptoirs enrôlés : 1"][0] == "fait"
    assert "aucun comptoir enrôlé" not in steps


def test_status_page_unreachable_with_a_certificate_the_box_never_issued(
    daemon: Daemon, tmp_path: Path
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Back-office")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1)).not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path, key_path = tmp_path / "stranger.pem", tmp_path / "stranger.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))  # fmt: skip
    page = _open(daemon, cert_path, key_path, tmp_path / "refused.png")
    assert "error" in page and "status" not in page
    assert "ERR_" in page["error"] or "SSL" in page["error"].upper(), page["error"]
