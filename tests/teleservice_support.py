"""Shared by the téléservice tests: the box's store with its ORG keys in SoftHSM2, the TEST
server certificates of the doubles, a PKCS#11 spy to count the token's signatures, and
xmlsec1 as the independent verifier."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from cryptography.x509.oid import ExtendedKeyUsageOID

from drivers.sim import testpki
from hostd.teleservices import mtls
from provisioning.slots import Slot
from provisioning.store import Store
from tests.provision_fixtures import certify, provision

PKCS11_SPY = Path("/usr/lib/x86_64-linux-gnu/pkcs11-spy.so")
SOFTHSM = "/usr/lib/softhsm/libsofthsm2.so"
SAML_ASSERTION = "urn:oasis:names:tc:SAML:2.0:assertion:Assertion"


@dataclass
class ServerFiles:
    chain: Path
    key: Path
    client_roots: Path


def server_files(directory: Path, pki: testpki.TestPki, name: str) -> ServerFiles:
    """A TEST IGC-Santé SERV SSL certificate for ``name`` (key in a file: a test double)."""
    directory.mkdir(parents=True, exist_ok=True)
    key = testpki.new_rsa_key()
    cert = testpki.issue(
        pki.organisations, key.public_key(), testpki.igc_sante_name(name),
        key_usage={"digital_signature", "key_encipherment"},
        extended_key_usage=[ExtendedKeyUsageOID.SERVER_AUTH], dns_names=[name],
    )
    files = ServerFiles(directory / f"{name}.chain.pem", directory / f"{name}.key.pem",
                        directory / "client-roots.pem")
    files.chain.write_bytes(testpki.cert_pem(cert) + testpki.cert_pem(pki.organisations.cert))
    files.key.write_bytes(testpki.key_pem(key))
    files.client_roots.write_bytes(testpki.cert_pem(pki.root.cert))
    return files


def box_store(state: Path, pki: testpki.TestPki, auth_cn: str = "INSI-AUTO") -> Store:
    store = provision(state, pki)
    certify(store, pki, Slot.ORG_AUTH_CLI, cn=auth_cn)
    certify(store, pki, Slot.ORG_SIGN)
    return store


def spy_env(log: Path) -> dict[str, str]:
    """Environment that makes the tunnel load OpenSC's PKCS#11 spy in front of SoftHSM2."""
    return {"PKCS11SPY": SOFTHSM, "PKCS11SPY_OUTPUT": str(log)}


def spied_key(key: mtls.TokenKey) -> mtls.TokenKey:
    return mtls.TokenKey(str(PKCS11_SPY), key.token_label,
                         key.key_id, key.pin, key.chain_pem, key.env)


def spy_calls(log: Path, name: str) -> int:
    """How many times the module was called with ``name`` (e.g. C_Sign)."""
    if not log.exists():
        return 0
    return sum(1 for line in log.read_text(errors="replace").splitlines()
               if line.split(": ", 1)[-1].strip() == name)


def xmlsec_verify(xml: Path, roots: list[Path], id_attr: str | None = None
                  ) -> subprocess.CompletedProcess[str]:
    cmd = ["xmlsec1", "--verify"]
    for i, root in enumerate(roots):
        cmd += ["--trusted-pem" if i == 0 else "--untrusted-pem", str(root)]
    if id_attr:
        cmd += ["--id-attr:ID", id_attr]
    return subprocess.run([*cmd, str(xml)], capture_output=True, text=True, timeout=60,
                          check=False)
