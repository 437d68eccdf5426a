"""Helpers shared by the provisioning and signing tests: a real SoftHSM2 token per state
directory, the TEST IGC-Santé PKI from ``drivers.sim.testpki``, and the independent verifiers."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from drivers.sim import testpki
from provisioning.ca import initialize
from provisioning.slots import Slot
from provisioning.store import Clock, Store

STRUCTURE_ID = "3750000001"
USAGES: dict[Slot, set[str]] = {
    Slot.ORG_SIGN: {"digital_signature", "content_commitment"},
    Slot.ORG_AUTH_CLI: {"digital_signature"},
    Slot.ORG_CONF: {"key_encipherment", "data_encipherment"},
    Slot.SERV_SSL: {"digital_signature", "key_encipherment"},
}


def provision(state_dir: Path, pki: testpki.TestPki, clock: Clock | None = None) -> Store:
    """A fresh state directory with its own token, local CA, and the TEST root trusted."""
    store = initialize(state_dir, ["localhost", "127.0.0.1"])
    store.add_trust_anchor(testpki.cert_pem(pki.root.cert))
    if clock is not None:
        store.close()
        store = Store.open(state_dir, clock=clock)
    return store


def org_certificate(
    pki: testpki.TestPki,
    public_key: rsa.RSAPublicKey,
    slot: Slot,
    cn: str = "PHARMACIE DU MARCHE",
    days: int = 3 * 365,
    not_before: datetime | None = None,
) -> x509.Certificate:
    ekus = [ExtendedKeyUsageOID.CLIENT_AUTH] if slot is Slot.ORG_AUTH_CLI else []
    return testpki.issue(
        pki.organisations,
        public_key,
        testpki.igc_sante_name(cn, [STRUCTURE_ID]),
        key_usage=USAGES[slot],
        extended_key_usage=ekus,
        days=days,
        not_before=not_before,
    )


def bundle(*certs: x509.Certificate) -> bytes:
    return b"".join(testpki.cert_pem(c) for c in certs)


def certify(store: Store, pki: testpki.TestPki, slot: Slot, **kwargs: object) -> x509.Certificate:
    """keygen + certificate from TEST ORGANISATIONS + import (with its intermediate)."""
    pub = store.keygen(slot)
    cert = org_certificate(pki, pub, slot, **kwargs)  # type: ignore[arg-type]
    store.import_certificate(slot, bundle(cert, pki.organisations.cert))
    return cert


def write_chain_files(directory: Path, pki: testpki.TestPki) -> tuple[Path, Path]:
    """(root PEM, intermediate PEM) for xmlsec1/openssl."""
    root = directory / "root.pem"
    inter = directory / "intermediate.pem"
    root.write_bytes(testpki.cert_pem(pki.root.cert))
    inter.write_bytes(testpki.cert_pem(pki.organisations.cert))
    return root, inter


def run(cmd: Iterable[str | Path]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(c) for c in cmd], capture_output=True, text=True, timeout=60, check=False
    )


def xmlsec_verify(
    xml_file: Path, root: Path, intermediate: Path, id_attr: str | None = None
) -> subprocess.CompletedProcess[str]:
    """xmlsec1 --verify, trusting only the TEST root; the certificate comes from KeyInfo."""
    cmd: list[str | Path] = [
        "xmlsec1",
        "--verify",
        "--trusted-pem",
        root,
        "--untrusted-pem",
        intermediate,
    ]
    if id_attr:
        cmd += ["--id-attr:ID", id_attr]
    return run([*cmd, xml_file])


def openssl_verifies(
    public_key: rsa.RSAPublicKey, data: bytes, signature: bytes, tmp: Path, digest: str = "sha256"
) -> bool:
    """Whether ``openssl dgst -<digest> -verify`` accepts an RSA PKCS#1 v1.5 signature of
    ``data`` (the files are written under ``tmp``)."""
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    (tmp / "pub.pem").write_bytes(public_key.public_bytes(serialization.Encoding.PEM, spki))
    (tmp / "data").write_bytes(data)
    (tmp / "sig").write_bytes(signature)
    done = run(["openssl", "dgst", f"-{digest}", "-verify", tmp / "pub.pem",
                "-signature", tmp / "sig", tmp / "data"])  # fmt: skip
    return done.returncode == 0 and "Verified OK" in done.stdout
