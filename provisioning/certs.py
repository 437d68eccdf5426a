"""Certificates: reading PEM/DER/PKCS#12, chain validation against the trust store, expiry.

Chain rules checked here (RFC 5280 §6.1, reduced to what an IGC-Santé chain needs): issuer name
matches subject name, each signature verifies with the issuer's key, every certificate is within
its validity at the (injectable) time, every issuer is a CA (basicConstraints cA) allowed to sign
certificates (keyUsage keyCertSign when present), and the path ends at a root of the trust store.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from provisioning.errors import CertificateError, ChainError

WARN_DAYS = 90
CRITICAL_DAYS = 30
MAX_CHAIN_DEPTH = 8


class ChainState(enum.StrEnum):
    VALID = "valid"
    NO_CERTIFICATE = "no-certificate"
    EXPIRED = "expired"
    NOT_YET_VALID = "not-yet-valid"
    UNTRUSTED = "untrusted"  # no path to a trust-store root
    BROKEN = "broken"  # a signature does not verify, or an issuer is not a CA
    LOCAL = "local"  # issued by the box's own CA, checked against it


@dataclass(frozen=True)
class ChainResult:
    state: ChainState
    detail: str
    path: tuple[x509.Certificate, ...] = ()


_KEY_USAGE_BITS = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
    "encipher_only",
    "decipher_only",
)


def key_usage(*names: str) -> x509.KeyUsage:
    """An X.509 KeyUsage with exactly the named bits set (``"key_cert_sign"``, ...)."""
    unknown = set(names) - set(_KEY_USAGE_BITS)
    if unknown:
        raise ValueError(f"unknown key usage: {', '.join(sorted(unknown))}")
    return x509.KeyUsage(**{bit: bit in names for bit in _KEY_USAGE_BITS})


def load_certificates(data: bytes) -> list[x509.Certificate]:
    """All certificates of a PEM bundle, or the one of a DER file.

    What else a technician may pick by mistake (the CSR sent, a key, a text file) is named,
    so the refusal says what the file is instead of a parser's internals.
    """
    if b"-----BEGIN CERTIFICATE REQUEST-----" in data or b"-----BEGIN NEW CERTIFICATE" in data:
        raise CertificateError(
            "this is a certificate signing request (what is sent to IGC-Santé), not the"
            " certificate that comes back"
        )
    if b"PRIVATE KEY-----" in data and b"-----BEGIN CERTIFICATE-----" not in data:
        raise CertificateError("this file holds a private key, not a certificate")
    try:
        if b"-----BEGIN" in data:
            certs = x509.load_pem_x509_certificates(data)
        else:
            certs = [x509.load_der_x509_certificate(data)]
    except ValueError:
        if _is_der_csr(data):
            raise CertificateError(
                "this is a certificate signing request (DER), not the certificate that comes back"
            ) from None
        raise CertificateError(
            "not a certificate: expected PEM, DER or PKCS#12 (.p12/.pfx) as IGC-Santé delivers"
        ) from None
    if not certs:
        raise CertificateError("the file holds no certificate")
    return certs


def _is_der_csr(data: bytes) -> bool:
    try:
        x509.load_der_x509_csr(data)
    except ValueError:
        return False
    return True


def is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return cert.subject == cert.issuer


def split_leaf(found: list[x509.Certificate]) -> tuple[x509.Certificate, list[x509.Certificate]]:
    """(the one end-entity certificate, the CA certificates) of a file, in any order."""
    leaves = [c for c in found if not is_ca(c)]
    cas = [c for c in found if is_ca(c)]
    if not leaves:
        names = "; ".join(c.subject.rfc4514_string() for c in cas)
        raise CertificateError(
            f"this file holds only CA certificates ({names}): if it is IGC-Santé's root or"
            " intermediate, add it with `comptoir provision trust add FILE`"
        )
    if len(leaves) > 1:
        raise CertificateError(
            f"this file holds {len(leaves)} end-entity certificates: import it without a slot"
            " (`comptoir provision import FILE…`), each goes to the slot of its key"
        )
    return leaves[0], cas


@dataclass(frozen=True)
class Pkcs12Content:
    key: rsa.RSAPrivateKey
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]


def load_pkcs12(data: bytes, password: bytes) -> Pkcs12Content:
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, password)
    except ValueError:
        # cryptography reports a wrong password and a damaged file alike.
        raise CertificateError(
            "wrong password for the PKCS#12 file (or the file is damaged)"
        ) from None
    if key is None or cert is None:
        raise CertificateError("the PKCS#12 file lacks a private key or its certificate")
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CertificateError("only RSA keys are supported (IGC-Santé issues RSA-2048)")
    return Pkcs12Content(key, cert, tuple(extra))


def is_pkcs12(data: bytes) -> bool:
    # PFX is a DER SEQUENCE whose first element is INTEGER 3 (RFC 7292 §4).
    head = data[:8]
    return head[:1] == b"\x30" and b"\x02\x01\x03" in head


def public_keys_match(cert: x509.Certificate, key: rsa.RSAPublicKey) -> bool:
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    return cert.public_key().public_bytes(serialization.Encoding.DER, spki) == key.public_bytes(
        serialization.Encoding.DER, spki
    )


def fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


def to_pem(certs: Iterable[x509.Certificate]) -> str:
    return "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in certs)


def load_trust_store(dirs: Sequence[Path]) -> list[x509.Certificate]:
    roots: list[x509.Certificate] = []
    for d in dirs:
        if not d.is_dir():
            continue
        for f in sorted(d.glob("*.pem")):
            roots.extend(load_certificates(f.read_bytes()))
    return roots


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _may_issue(issuer: x509.Certificate) -> str | None:
    try:
        bc = issuer.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return f"{issuer.subject.rfc4514_string()} has no basicConstraints"
    if not bc.ca:
        return f"{issuer.subject.rfc4514_string()} is not a CA"
    try:
        ku = issuer.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return None
    if ku.key_cert_sign:
        return None
    return f"{issuer.subject.rfc4514_string()} may not sign certificates"


def _time_state(cert: x509.Certificate, now: datetime) -> ChainResult | None:
    name = cert.subject.rfc4514_string()
    if now > cert.not_valid_after_utc:
        return ChainResult(
            ChainState.EXPIRED, f"{name} expired on {cert.not_valid_after_utc:%Y-%m-%d}"
        )
    if now < cert.not_valid_before_utc:
        return ChainResult(
            ChainState.NOT_YET_VALID, f"{name} is valid from {cert.not_valid_before_utc:%Y-%m-%d}"
        )
    return None


def validate_chain(
    cert: x509.Certificate,
    intermediates: Sequence[x509.Certificate],
    roots: Sequence[x509.Certificate],
    now: datetime | None = None,
) -> ChainResult:
    """Builds the path leaf → intermediates → root and reports the first fault found."""
    now = now or datetime.now(UTC)
    path = [cert]
    current = cert
    for _ in range(MAX_CHAIN_DEPTH):
        time_fault = _time_state(current, now)
        if time_fault is not None:
            return time_fault
        root = next((r for r in roots if _issued_by(current, r)), None)
        if root is not None:
            fault = _may_issue(root) if root is not current else None
            if fault:
                return ChainResult(ChainState.BROKEN, fault)
            time_fault = _time_state(root, now)
            if time_fault is not None:
                return time_fault
            if root != current:
                path.append(root)
            return ChainResult(
                ChainState.VALID, "up to " + root.subject.rfc4514_string(), tuple(path)
            )
        by_name = [c for c in intermediates if c.subject == current.issuer and c != current]
        if not by_name:
            if any(r.subject == current.issuer for r in roots):
                return ChainResult(
                    ChainState.BROKEN,
                    f"signature of {current.subject.rfc4514_string()} does not "
                    "verify with the trusted root of that name",
                )
            if current is not cert:
                return ChainResult(
                    ChainState.UNTRUSTED,
                    f"the intermediate {current.subject.rfc4514_string()} was found but its"
                    f" issuer {current.issuer.rfc4514_string()} is not in the trust store",
                )
            return ChainResult(
                ChainState.UNTRUSTED,
                f"issuer {current.issuer.rfc4514_string()} is not in the trust store"
                " and no intermediate was supplied",
            )
        issuer = next((c for c in by_name if _issued_by(current, c)), None)
        if issuer is None:
            return ChainResult(
                ChainState.BROKEN,
                f"signature of {current.subject.rfc4514_string()} does not verify "
                f"with {current.issuer.rfc4514_string()}",
            )
        fault = _may_issue(issuer)
        if fault:
            return ChainResult(ChainState.BROKEN, fault)
        path.append(issuer)
        current = issuer
    return ChainResult(ChainState.BROKEN, f"chain longer than {MAX_CHAIN_DEPTH}")


TRUST_ADD_HINT = "add IGC-Santé's root with `comptoir provision trust add ROOT.pem`"


def require_valid_chain(result: ChainResult) -> None:
    if result.state is ChainState.UNTRUSTED:
        raise ChainError(f"chain untrusted: {result.detail}; {TRUST_ADD_HINT}")
    if result.state is not ChainState.VALID:
        raise ChainError(f"chain {result.state.value}: {result.detail}")


def days_left(cert: x509.Certificate, now: datetime) -> int:
    return (cert.not_valid_after_utc - now).days


def expiry_warnings(cert: x509.Certificate, now: datetime) -> list[str]:
    left = days_left(cert, now)
    if now > cert.not_valid_after_utc:
        return [f"expired on {cert.not_valid_after_utc:%Y-%m-%d}: renew now"]
    if left <= CRITICAL_DAYS:
        return [f"expires in {left} days (under {CRITICAL_DAYS}): renew now"]
    if left <= WARN_DAYS:
        return [f"expires in {left} days (under {WARN_DAYS}): order the renewal"]
    return []
