"""A training certification authority: issues ORG certificates from the TEST PKI for the CSRs
``comptoir provision prepare`` writes, the way IGC-Santé would (demo, technician training,
tests of the two-visit flow).

The profile comes from what the request asks for (:func:`provisioning.kinds.guess_slot`): a
request for clientAuth gets an ORG AUTH_CLI certificate, encipherment an ORG CONF one,
serverAuth a SERV SSL_SERV one, anything else ORG SIGN. Like IGC-Santé, the subject is
rewritten: the DN base ``C=FR, O=ASIP-SANTE, OU=0002 187512751, OU=IGC-SANTE``, the structure
identifier (the request's OU) and the request's CN. Everything here is TEST: the root's name
starts with "TEST" and ``comptoir doctor`` flags it on a production box.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from drivers.sim import testpki
from provisioning.kinds import KINDS, guess_slot
from provisioning.slots import Slot

ROOT_FILE = "TEST-IGC-SANTE-ROOT.pem"


class AuthorityError(Exception):
    """A request the authority will not certify; the message is one line."""


@dataclass(frozen=True)
class Issued:
    request: Path
    certificate: Path
    slot: Slot
    subject: str


def open_pki(directory: Path) -> testpki.TestPki:
    """The authority's PKI in ``directory``: loaded, or created (and saved) on first use."""
    if (directory / "root.crt.pem").is_file():
        return testpki.TestPki.load(directory)
    pki = testpki.TestPki.create()
    pki.save(directory)
    return pki


def _requested(
    csr: x509.CertificateSigningRequest,
) -> tuple[x509.KeyUsage | None, list[x509.ObjectIdentifier]]:
    try:
        ku: x509.KeyUsage | None = csr.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        ku = None
    try:
        ekus = list(csr.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        ekus = []
    return ku, ekus


def issue_for(
    pki: testpki.TestPki, csr_pem: bytes, days: int = 3 * 365
) -> tuple[Slot, x509.Certificate]:
    try:
        csr = x509.load_pem_x509_csr(csr_pem)
    except ValueError:
        raise AuthorityError("not a PEM certificate signing request") from None
    if not csr.is_signature_valid:
        raise AuthorityError("the request's signature does not verify")
    key = csr.public_key()
    if not isinstance(key, rsa.RSAPublicKey) or key.key_size < 2048:
        raise AuthorityError("IGC-Santé certifies RSA keys of 2048 bits or more")
    cns = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not cns:
        raise AuthorityError("the request has no CN")
    ous = [
        str(a.value) for a in csr.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
    ]
    slot = guess_slot(*_requested(csr))
    kind = KINDS[slot]
    cert = testpki.issue(
        pki.organisations,
        key,
        testpki.igc_sante_name(str(cns[0].value), ous[:1]),
        key_usage=set(kind.key_usage_any_of),
        extended_key_usage=kind.extended_key_usage,
        days=days,
    )
    return slot, cert


def issue_files(pki_dir: Path, requests: list[Path], out_dir: Path) -> list[Issued]:
    """One ``<name>.cert.pem`` per request (certificate + TEST intermediate), and the TEST
    root in ``out_dir``/TEST-IGC-SANTE-ROOT.pem for ``trust add``."""
    pki = open_pki(pki_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    done = []
    for req in requests:
        try:
            slot, cert = issue_for(pki, req.read_bytes())
        except AuthorityError as exc:
            raise AuthorityError(f"{req}: {exc}") from None
        stem = req.name.removesuffix(".pem").removesuffix(".csr")
        target = out_dir / f"{stem}.cert.pem"
        target.write_bytes(testpki.cert_pem(cert) + testpki.cert_pem(pki.organisations.cert))
        done.append(Issued(req, target, slot, cert.subject.rfc4514_string()))
    (out_dir / ROOT_FILE).write_bytes(testpki.cert_pem(pki.root.cert))
    return done
