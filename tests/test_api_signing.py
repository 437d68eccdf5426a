"""Store signing for LAN clients over HTTPS, checked by xmlsec1 and openssl; audit anchors."""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hostd.auth import Role
from hostd.pseudonyms import ins_ref, load_pseudonym_key
from provisioning.paths import StatePaths
from provisioning.signing import vihf
from tests.hostd_support import OPERATOR, Daemon, start_daemon
from tests.provision_fixtures import write_chain_files, xmlsec_verify

P = "urn:comptoir:problem:"
VIHF = {
    "operator_id": "810100000001",
    "operator_name": "MARTIN CLAIRE",
    "profession": {"code": "21", "system": vihf.PROFESSION_SYSTEM, "display": "Pharmacien"},
    "cnop_section": {"code": "A", "system": vihf.CNOP_SECTION_SYSTEM,
                     "display": "Pharmacien titulaire d'officine"},
    "structure_id": "3750000001",
    "secteur_activite": "SA33^1.2.250.1.71.4.2.4",
    "patient_ins": "279035121518989",
    "lps_name": "Comptoir",
    "lps_version": "0.1.0",
    "lps_homologation_id": "TEST-HOMOLOGATION-0001",
}


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory, pcsc_session_rig: object) -> Iterator[Daemon]:
    d = start_daemon(tmp_path_factory.mktemp("hostd-sign"))
    try:
        yield d
    finally:
        d.stop()


def test_vihf_for_operator_and_patient_verifies_with_xmlsec1(
    daemon: Daemon, tmp_path: Path
) -> None:
    http = daemon.client("Comptoir S", Role.COUNTER)
    response = http.post("/v1/store/sign/vihf", json=VIHF, headers=OPERATOR)
    assert response.status_code == 200, response.text
    (tmp_path / "vihf.xml").write_text(response.json()["xml"])
    root, inter = write_chain_files(tmp_path, daemon.pki)
    done = xmlsec_verify(tmp_path / "vihf.xml", root, inter, id_attr="Assertion")
    assert done.returncode == 0, done.stderr
    assert "279035121518989" in response.json()["xml"]
    row = next(r for r in reversed(list(daemon.box.audit.records()))
               if r.action == "store.sign.vihf")
    # The patient is named by ins_ref only (hostd.pseudonyms), as in the INSi and DMP rows: an
    # auditor holding the INS finds the row, the log alone reveals no INS.
    key = load_pseudonym_key(StatePaths(daemon.state).secrets_dir)
    assert row.detail == {"operator_id": "810100000001",
                          "ins_ref": ins_ref(key, "279035121518989")}
    assert "279035121518989" not in json.dumps(row.detail)


def test_xmldsig_cms_and_raw_verify_with_independent_tools(
    daemon: Daemon, tmp_path: Path
) -> None:
    http = daemon.client("Serveur S", Role.SERVER)
    root, inter = write_chain_files(tmp_path, daemon.pki)
    doc = '<Facture xmlns="urn:test"><Montant>12.50</Montant></Facture>'
    xml = http.post("/v1/store/sign/xmldsig", json={"xml": doc}, headers=OPERATOR)
    assert xml.status_code == 200, xml.text
    (tmp_path / "doc.xml").write_text(xml.json()["xml"])
    done = xmlsec_verify(tmp_path / "doc.xml", root, inter)
    assert done.returncode == 0, done.stderr

    content = b"bordereau de facturation"
    cms = http.post("/v1/store/sign/cms", headers=OPERATOR,
                    json={"data_b64": base64.b64encode(content).decode()})
    assert cms.status_code == 200, cms.text
    (tmp_path / "sig.der").write_bytes(base64.b64decode(cms.json()["cms_b64"]))
    (tmp_path / "content").write_bytes(content)
    (tmp_path / "ca.pem").write_bytes(root.read_bytes() + inter.read_bytes())
    verified = subprocess.run(
        ["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", tmp_path / "sig.der",
         "-content", tmp_path / "content", "-CAfile", tmp_path / "ca.pem", "-purpose", "any",
         "-out", "/dev/null"], capture_output=True, text=True, check=False)
    assert verified.returncode == 0, verified.stderr

    raw = http.post("/v1/store/sign/raw", headers=OPERATOR,
                    json={"data_b64": base64.b64encode(content).decode()})
    assert raw.status_code == 200
    (tmp_path / "raw.sig").write_bytes(base64.b64decode(raw.json()["signature_b64"]))
    (tmp_path / "cert.pem").write_text(raw.json()["certificate_pem"])
    pub = subprocess.run(["openssl", "x509", "-in", tmp_path / "cert.pem", "-pubkey",
                          "-noout"], capture_output=True, check=True).stdout
    (tmp_path / "pub.pem").write_bytes(pub)
    ok = subprocess.run(["openssl", "dgst", "-sha256", "-verify", tmp_path / "pub.pem",
                         "-signature", tmp_path / "raw.sig", tmp_path / "content"],
                        capture_output=True, text=True, check=False)
    assert ok.returncode == 0 and "Verified OK" in ok.stdout
    # Each store signature can be traced to its audit row by what was signed.
    rows = [r for r in daemon.box.audit.records() if r.client == "Serveur S"]
    by_action = {r.action: r.detail for r in rows}
    digest = hashlib.sha256(content).hexdigest()
    assert by_action["store.sign.raw"] == {"digest_sha256": digest}
    assert by_action["store.sign.cms"] == {"bytes": len(content), "data_sha256": digest}


def test_unprovisioned_or_unknown_key_and_bad_input(daemon: Daemon) -> None:
    http = daemon.client("Comptoir K")
    data = base64.b64encode(b"x").decode()
    missing = http.post("/v1/store/sign/raw", json={"key": "org-auth-cli", "data_b64": data},
                        headers=OPERATOR)
    assert missing.status_code == 409 and missing.json()["type"] == P + "key-not-provisioned"
    ca = http.post("/v1/store/sign/raw", json={"key": "box-lan", "data_b64": data},
                   headers=OPERATOR)
    assert ca.status_code == 409  # the local CA key never signs for clients
    bad = http.post("/v1/store/sign/vihf", json={**VIHF, "patient_ins": "12"}, headers=OPERATOR)
    assert bad.status_code == 400 and bad.json()["type"] == P + "bad-signing-request"
    notxml = http.post("/v1/store/sign/xmldsig", json={"xml": "<a>"}, headers=OPERATOR)
    assert notxml.status_code == 400


def test_audit_head_anchored_with_org_sign(daemon: Daemon) -> None:
    deadline = time.monotonic() + 5
    rows: list[tuple[int, str]] = []
    while not rows and time.monotonic() < deadline:
        conn = sqlite3.connect(daemon.state / "audit.db")
        rows = conn.execute("SELECT head_id, algorithm FROM audit_anchor").fetchall()
        conn.close()
        time.sleep(0.2)
    assert rows and rows[0][1] == "rsa-pkcs1v15-sha256"
    assert daemon.box.audit.verify().ok


def test_key_gone_from_the_token_is_the_box_fault_not_the_client(daemon: Daemon) -> None:
    """Last in the module: it destroys the ORG SIGN key under the running daemon (token files
    restored from an old backup, say). The answer must blame the box (503 naming `doctor`),
    not the request (issue 10: it said 400 bad-signing-request)."""
    from provisioning.slots import Slot
    from provisioning.store import Store

    with Store.open(daemon.state) as store:  # the daemon's own login, shared in-process
        key_id = store.db.rows("SELECT active_key_id FROM slots WHERE slot = ?",
                               (Slot.ORG_SIGN.value,))[0]["active_key_id"]  # fmt: skip
        store.token.destroy_key(bytes.fromhex(key_id))
    http = daemon.client("Comptoir G")
    data = base64.b64encode(b"x").decode()
    gone = http.post("/v1/store/sign/raw", json={"key": "org-sign", "data_b64": data},
                     headers=OPERATOR)  # fmt: skip
    assert gone.status_code == 503, gone.text
    assert gone.json()["type"] == P + "token-unavailable"
