"""A TEST certificate hierarchy shaped like IGC-Santé, for simulated cards and provisioning tests.

Shape (DOMAIN.md): root "TEST AC RACINE IGC-SANTE ELEMENTAIRE" → intermediates "TEST AC
IGC-SANTE ELEMENTAIRE PERSONNES" (CPS certificates) and "... ORGANISATIONS" (ORG certificats
logiciels), DN base ``C=FR, O=ASIP-SANTE, OU=0002 187512751, OU=IGC-SANTE``. The real root is
RSA-4096; tests use RSA-2048 because key generation dominates their run time. Every name starts
with "TEST" so nothing made here can be mistaken for a production certificate.

Time comes from an injectable ``clock`` so expiry can be tested without waiting.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

Clock = Callable[[], dt.datetime]

ROOT_CN = "TEST AC RACINE IGC-SANTE ELEMENTAIRE"
PERSONNES_CN = "TEST AC IGC-SANTE ELEMENTAIRE PERSONNES"
ORGANISATIONS_CN = "TEST AC IGC-SANTE ELEMENTAIRE ORGANISATIONS"

KEY_USAGES = frozenset(
    {
        "digital_signature",
        "content_commitment",
        "key_encipherment",
        "data_encipherment",
        "key_agreement",
    }
)
"""Names accepted in ``key_usage`` (the end-entity subset of X.509 KeyUsage)."""


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_rsa_key(key_size: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=key_size)


def igc_sante_name(common_name: str, extra_ou: Iterable[str] = ()) -> x509.Name:
    """``C=FR, O=ASIP-SANTE, OU=0002 187512751, OU=IGC-SANTE, [OU=…], CN=…``."""
    attrs = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ASIP-SANTE"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "0002 187512751"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "IGC-SANTE"),
    ]
    attrs += [x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou) for ou in extra_ou]
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attrs)


def cps_subject(*, nom: str, prenom: str, rpps: str, profession: str, signature: bool) -> x509.Name:
    """Subject of a CPS certificate. The national identifier of an RPPS-registered
    professional is "8" + RPPS; the real CPS suffixes the CN to tell the two keys apart."""
    suffix = "SIGN" if signature else "AUTH"
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
            x509.NameAttribute(NameOID.TITLE, profession),
            x509.NameAttribute(NameOID.SURNAME, nom),
            x509.NameAttribute(NameOID.GIVEN_NAME, prenom),
            x509.NameAttribute(NameOID.COMMON_NAME, f"8{rpps}/CPS-{suffix}"),
        ]
    )


@dataclass(frozen=True)
class Issuer:
    """A certification authority: its certificate and private key."""

    cert: x509.Certificate
    key: rsa.RSAPrivateKey

    @property
    def name(self) -> str:
        return str(self.cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


def _ski(public_key: rsa.RSAPublicKey) -> x509.SubjectKeyIdentifier:
    return x509.SubjectKeyIdentifier.from_public_key(public_key)


def _ca_cert(
    subject: x509.Name,
    key: rsa.RSAPrivateKey,
    issuer: Issuer | None,
    not_before: dt.datetime,
    years: int,
    path_length: int | None,
) -> x509.Certificate:
    signer_key = issuer.key if issuer else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + dt.timedelta(days=365 * years))
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(_ski(key.public_key()), critical=False)
    )
    if issuer:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
    return builder.sign(signer_key, hashes.SHA256())


def make_root(
    common_name: str = ROOT_CN,
    *,
    key_size: int = 2048,
    years: int = 20,
    clock: Clock = utc_now,
) -> Issuer:
    key = new_rsa_key(key_size)
    start = clock() - dt.timedelta(days=1)
    return Issuer(_ca_cert(igc_sante_name(common_name), key, None, start, years, 1), key)


def make_intermediate(
    root: Issuer,
    common_name: str,
    *,
    key_size: int = 2048,
    years: int = 10,
    clock: Clock = utc_now,
) -> Issuer:
    key = new_rsa_key(key_size)
    start = clock() - dt.timedelta(days=1)
    cert = _ca_cert(igc_sante_name(common_name), key, root, start, years, 0)
    return Issuer(cert, key)


def issue(
    issuer: Issuer,
    public_key: rsa.RSAPublicKey,
    subject: x509.Name,
    *,
    key_usage: Iterable[str],
    extended_key_usage: Iterable[x509.ObjectIdentifier] = (),
    days: int = 3 * 365,
    clock: Clock = utc_now,
    not_before: dt.datetime | None = None,
    dns_names: Iterable[str] = (),
) -> x509.Certificate:
    """An end-entity certificate for ``public_key``; ``key_usage`` names come from
    :data:`KEY_USAGES`. Validity starts at ``not_before`` (default: the clock, minus a minute of
    slack for clocks that disagree) and lasts ``days``."""
    usages = frozenset(key_usage)
    unknown = usages - KEY_USAGES
    if unknown:
        raise ValueError(f"unknown key usage(s): {', '.join(sorted(unknown))}")
    if not usages:
        raise ValueError("an end-entity certificate needs at least one key usage")
    start = not_before if not_before is not None else clock() - dt.timedelta(minutes=1)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                **{name: name in usages for name in KEY_USAGES},
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(_ski(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
    )
    names = [x509.DNSName(n) for n in dns_names]
    if names:  # TLS servers (the téléservice doubles): host names checked by clients
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    ekus = list(extended_key_usage)
    if ekus:
        builder = builder.add_extension(x509.ExtendedKeyUsage(ekus), critical=False)
    return builder.sign(issuer.key, hashes.SHA256())


@dataclass(frozen=True)
class TestPki:
    """Root plus the two IGC-Santé intermediates."""

    __test__ = False  # not a pytest test class despite the name

    root: Issuer
    personnes: Issuer
    organisations: Issuer

    @classmethod
    def create(cls, *, key_size: int = 2048, clock: Clock = utc_now) -> TestPki:
        root = make_root(key_size=key_size, clock=clock)
        return cls(
            root,
            make_intermediate(root, PERSONNES_CN, key_size=key_size, clock=clock),
            make_intermediate(root, ORGANISATIONS_CN, key_size=key_size, clock=clock),
        )

    _FILES = ("root", "personnes", "organisations")

    def save(self, directory: Path) -> None:
        """``<name>.crt.pem`` and ``<name>.key.pem`` (unencrypted: TEST keys only)."""
        directory.mkdir(parents=True, exist_ok=True)
        for name in self._FILES:
            issuer: Issuer = getattr(self, name)
            (directory / f"{name}.crt.pem").write_bytes(cert_pem(issuer.cert))
            (directory / f"{name}.key.pem").write_bytes(key_pem(issuer.key))

    @classmethod
    def load(cls, directory: Path) -> TestPki:
        issuers = []
        for name in cls._FILES:
            cert = x509.load_pem_x509_certificate((directory / f"{name}.crt.pem").read_bytes())
            key = load_rsa_key((directory / f"{name}.key.pem").read_bytes())
            issuers.append(Issuer(cert, key))
        return cls(*issuers)


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def load_rsa_key(pem: bytes) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("expected an RSA private key")
    return key
