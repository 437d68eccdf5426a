"""What each IGC-Santé certificate kind must carry, checked at ``import`` and requested in CSRs.

A certificate in the wrong slot fails only later, in the field: INSi refuses a TLS client
certificate without the clientAuth extended key usage, or whose CN is not INSI-AUTO/INSI-MANU
(DOMAIN.md, error DESIR_560); a signature key certified for encryption only cannot sign a
VIHF. So the box refuses it at import, and the CSRs it writes ask for the same usages.

The usages per kind are those of the IGC-Santé certificats logiciels (ORG AUTH_CLI: TLS client;
ORG SIGN: signature and non-repudiation; ORG CONF: key and data encipherment; SERV SSL_SERV:
TLS server). They are checked as "at least these": IGC-Santé may add others.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from provisioning.errors import CertificateError
from provisioning.slots import Slot

INSI_COMMON_NAMES = ("INSI-AUTO", "INSI-MANU")


@dataclass(frozen=True)
class Kind:
    # X.509 KeyUsage bit names (cryptography attribute names); ``any_of``: one suffices.
    key_usage_any_of: tuple[str, ...]
    extended_key_usage: tuple[x509.ObjectIdentifier, ...]
    what_for: str


KINDS: dict[Slot, Kind] = {
    Slot.ORG_AUTH_CLI: Kind(
        ("digital_signature",), (ExtendedKeyUsageOID.CLIENT_AUTH,), "TLS client (INSi, DMP)"
    ),
    Slot.ORG_SIGN: Kind(
        ("digital_signature", "content_commitment"), (), "signature (VIHF, documents)"
    ),
    Slot.ORG_CONF: Kind(("key_encipherment", "data_encipherment"), (), "confidentiality"),
    Slot.SERV_SSL: Kind(
        ("digital_signature", "key_encipherment"), (ExtendedKeyUsageOID.SERVER_AUTH,), "TLS server"
    ),
}

EKU_NAMES = {
    ExtendedKeyUsageOID.CLIENT_AUTH: "clientAuth",
    ExtendedKeyUsageOID.SERVER_AUTH: "serverAuth",
}


def requested_key_usage(slot: Slot) -> x509.KeyUsage:
    """The KeyUsage a CSR for ``slot`` asks for (every bit of the kind)."""
    wanted = set(KINDS[slot].key_usage_any_of)
    bits = (
        "digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
        "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only",
    )  # fmt: skip
    return x509.KeyUsage(**{b: b in wanted for b in bits})


def common_name(cert: x509.Certificate | x509.CertificateSigningRequest) -> str:
    found = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(found[0].value) if found else ""


def _key_usage(cert: x509.Certificate) -> x509.KeyUsage | None:
    try:
        return cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return None


def _ekus(cert: x509.Certificate) -> list[x509.ObjectIdentifier] | None:
    try:
        return list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        return None


def kind_fault(slot: Slot, cert: x509.Certificate, not_for_insi: bool = False) -> str | None:
    """Why ``cert`` cannot serve as ``slot``'s certificate (one phrase), or None."""
    kind = KINDS.get(slot)
    if kind is None:
        return None
    ku = _key_usage(cert)
    if ku is not None and not any(getattr(ku, bit) for bit in kind.key_usage_any_of):
        wanted = " or ".join(kind.key_usage_any_of)
        return f"its key usage lacks {wanted}, which a {kind.what_for} certificate needs"
    ekus = _ekus(cert)
    for needed in kind.extended_key_usage:
        if ekus is None or needed not in ekus:
            return (
                f"it lacks the {EKU_NAMES.get(needed, needed.dotted_string)} extended key usage"
                f" ({kind.what_for}); order it again with the CSR `prepare` wrote"
            )
    if slot is Slot.ORG_AUTH_CLI and not not_for_insi:
        cn = common_name(cert)
        if cn not in INSI_COMMON_NAMES:
            return (
                f"its CN is {cn!r}, but INSi accepts only "
                f"{' or '.join(INSI_COMMON_NAMES)} (DESIR_560)"
            )
    return None


def check_kind(slot: Slot, cert: x509.Certificate, not_for_insi: bool = False) -> None:
    fault = kind_fault(slot, cert, not_for_insi)
    if fault:
        raise CertificateError(f"not an {slot.value} certificate: {fault}")


def guess_slot(usage: x509.KeyUsage | None, ekus: list[x509.ObjectIdentifier]) -> Slot:
    """The slot a request (or certificate) is for, from the usages it asks for: how the
    training authority knows which profile to issue."""
    if ExtendedKeyUsageOID.CLIENT_AUTH in ekus:
        return Slot.ORG_AUTH_CLI
    if ExtendedKeyUsageOID.SERVER_AUTH in ekus:
        return Slot.SERV_SSL
    if usage is not None and (usage.key_encipherment or usage.data_encipherment):
        return Slot.ORG_CONF
    return Slot.ORG_SIGN
