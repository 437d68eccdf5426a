"""The box's local CA: it certifies the LAN clients (counters, pharmacy server, admin) and the
box's own TLS server identity.

The CA key is generated in the token (slot ``box-lan``) and signs through it. The TLS server
key is a 0600 file: Python's ``ssl`` module loads keys from files only; on a box an OpenSSL 3
pkcs11 provider (pkcs11-provider) would let the TLS stack use a token key instead.
"""

from __future__ import annotations

import ipaddress
import secrets
import threading
from datetime import timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from provisioning import certs
from provisioning.errors import CertificateError, ProvisioningError
from provisioning.paths import StatePaths, write_private_file, write_public_file
from provisioning.slots import Slot
from provisioning.store import Store

ROLES = ("counter", "server", "admin")
CA_YEARS = 10
SERVER_DAYS = 825
MAX_CLIENT_DAYS = 825
_CLOCK_SKEW = timedelta(minutes=5)


def _serial() -> int:
    # RFC 5280 §4.1.2.2: positive, at most 20 octets; 159 random bits.
    return secrets.randbits(159) | 1


def _ca_name() -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Comptoir"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"Comptoir local CA {secrets.token_hex(4)}"),
        ]
    )


def create_local_ca(store: Store) -> x509.Certificate:
    """Key in the token, self-signed certificate stored in the ``box-lan`` slot."""
    # A key left by an init that failed before the certificate (disk full) is reused, so
    # running init again finishes the job instead of refusing a half-provisioned box.
    pub = store.public_key_or_none(Slot.BOX_LAN) or store.keygen(Slot.BOX_LAN)
    now = store.now()
    name = _ca_name()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(pub)
        .serial_number(_serial())
        .not_valid_before(now - _CLOCK_SKEW)
        .not_valid_after(now + timedelta(days=365 * CA_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            certs.key_usage("key_cert_sign", "crl_sign"),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(pub), critical=False)
        .sign(store.private_key(Slot.BOX_LAN), hashes.SHA256())
    )
    store.set_local_certificate(Slot.BOX_LAN, cert)
    paths = store.paths
    write_public_file(paths.tls_dir / "ca.pem", cert.public_bytes(serialization.Encoding.PEM))
    return cert


def _san(names: list[str]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for n in names:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(n)))
        except ValueError:
            entries.append(x509.DNSName(n))
    return x509.SubjectAlternativeName(entries)


def check_client_csr(csr_pem: bytes) -> rsa.RSAPublicKey | ec.EllipticCurvePublicKey:
    """The one check of a client's CSR (format, proof of possession, key type and size): run
    by the enrolment *before* the pairing code is redeemed, so a refused CSR spends nothing."""
    try:
        csr = x509.load_pem_x509_csr(csr_pem)
    except ValueError:
        raise CertificateError("not a PEM certificate signing request") from None
    if not csr.is_signature_valid:
        raise CertificateError("the CSR's signature does not verify (proof of key possession)")
    pub = csr.public_key()
    if isinstance(pub, rsa.RSAPublicKey):
        if pub.key_size < 2048:
            raise CertificateError("RSA client keys must be at least 2048 bits")
    elif isinstance(pub, ec.EllipticCurvePublicKey):
        if pub.curve.key_size < 256:
            raise CertificateError("EC client keys must be P-256 or larger")
    else:
        raise CertificateError("client keys must be RSA or EC")
    return pub


class LocalCA:
    """Issues LAN certificates. Thread-safe; shares the process's token login with the store."""

    def __init__(self, store: Store, owns_store: bool = False) -> None:
        self._store = store
        self._owns_store = owns_store
        self._lock = threading.Lock()
        paths = store.paths
        self.ca_cert_path: Path = paths.tls_dir / "ca.pem"
        self.server_cert_path: Path = paths.tls_dir / "server.pem"
        self.server_key_path: Path = paths.tls_dir / "server.key"
        cert = store.certificate(Slot.BOX_LAN)
        if cert is None:
            raise ProvisioningError("the local CA is missing: run `comptoir provision init`")
        self.ca_certificate = cert
        self.ca_cert_pem: bytes = cert.public_bytes(serialization.Encoding.PEM)

    @classmethod
    def open(cls, state_dir: Path) -> LocalCA:
        store = Store.open(state_dir)
        try:
            return cls(store, owns_store=True)
        except BaseException:
            store.close()
            raise

    def close(self) -> None:
        if self._owns_store:
            self._store.close()

    def __enter__(self) -> LocalCA:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _builder(
        self, subject: x509.Name, public_key: object, days: int
    ) -> x509.CertificateBuilder:
        now = self._store.now()
        not_after = min(now + timedelta(days=days), self.ca_certificate.not_valid_after_utc)
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.ca_certificate.subject)
            .public_key(public_key)  # type: ignore[arg-type]
            .serial_number(_serial())
            .not_valid_before(now - _CLOCK_SKEW)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(
                    self.ca_certificate.public_key()  # type: ignore[arg-type]
                ),
                critical=False,
            )
        )

    def _sign(self, builder: x509.CertificateBuilder) -> x509.Certificate:
        with self._lock:
            return builder.sign(self._store.private_key(Slot.BOX_LAN), hashes.SHA256())

    def issue_server_certificate(
        self, names: list[str], days: int = SERVER_DAYS
    ) -> x509.Certificate:
        """New server key (0600 file) and certificate for the box's LAN names and addresses."""
        if not names:
            raise CertificateError("the server certificate needs at least one name or address")
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Comptoir"),
                x509.NameAttribute(NameOID.COMMON_NAME, names[0]),
            ]
        )
        cert = self._sign(
            self._builder(subject, key.public_key(), days)
            .add_extension(_san(names), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                certs.key_usage("digital_signature", "key_agreement"),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
        )
        write_private_file(
            self.server_key_path,
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )
        write_public_file(self.server_cert_path, cert.public_bytes(serialization.Encoding.PEM))
        self._store.db.event(Slot.BOX_LAN.value, "issue.server", ", ".join(names))
        return cert

    def issue_client_certificate(
        self, csr_pem: bytes, client_name: str, role: str, days: int = MAX_CLIENT_DAYS
    ) -> bytes:
        """Certificate (PEM) for an enrolled LAN client: CN = name, OU = role, clientAuth."""
        if role not in ROLES:
            raise CertificateError(f"unknown role {role!r} (one of: {', '.join(ROLES)})")
        if not client_name.strip() or len(client_name) > 64:
            raise CertificateError("client name must be 1 to 64 characters")
        if not 1 <= days <= MAX_CLIENT_DAYS:
            raise CertificateError(f"validity must be 1 to {MAX_CLIENT_DAYS} days")
        pub = check_client_csr(csr_pem)
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Comptoir"),
                x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, role),
                x509.NameAttribute(NameOID.COMMON_NAME, client_name),
            ]
        )
        cert = self._sign(
            self._builder(subject, pub, days)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .add_extension(
                certs.key_usage("digital_signature"),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(pub), critical=False)
        )
        self._store.db.event(
            Slot.BOX_LAN.value,
            "issue.client",
            f"{client_name} ({role}) serial {cert.serial_number:x}",
        )
        return cert.public_bytes(serialization.Encoding.PEM)


def initialize(state_dir: Path, names: list[str]) -> Store:
    """``comptoir provision init``: token, database, local CA, TLS server identity.

    Also re-provisions a zeroized box (token present, no keys): enrolled clients then need new
    certificates, since the CA that certified them is gone.
    """
    from provisioning.db import ProvisioningDb
    from provisioning.token import create_token, token_exists

    paths = StatePaths(Path(state_dir))
    if not token_exists(paths):
        create_token(paths)
    ProvisioningDb(paths).close()
    store = Store.open(paths.root)
    try:
        ca_cert = store.certificate(Slot.BOX_LAN)
        tls = ("ca.pem", "server.pem", "server.key")
        tls_done = all((paths.tls_dir / name).is_file() for name in tls)
        if ca_cert is not None and tls_done:
            raise ProvisioningError(f"{paths.root} is already provisioned")
        # Otherwise an earlier init stopped part-way (disk full, power cut): finish it.
        if ca_cert is None:
            create_local_ca(store)
        else:
            write_public_file(
                paths.tls_dir / "ca.pem", ca_cert.public_bytes(serialization.Encoding.PEM)
            )
        LocalCA(store).issue_server_certificate(names)
    except BaseException:
        store.close()
        raise
    return store
